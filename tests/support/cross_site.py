"""Another site for cross-site request tests: a page served on a second loopback port (another
origin, though the same *site* for cookies) that sends requests to the bot by itself when it
is opened, as a page the person happens to visit would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def other_site(pages: dict[str, str]) -> AsyncIterator[str]:
    """Serves each `pages[name]` (HTML) at `/name`; yields the site's base URL."""
    app = web.Application()
    for name, html in pages.items():
        app.router.add_get(f"/{name}", _page(html))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _page(html: str):
    async def handle(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    return handle


def auto_submit(action: str, fields: dict[str, str] | None = None, enctype: str = "") -> str:
    """A form that posts itself to `action` as soon as the page loads."""
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{value}">'
        for name, value in (fields or {}).items()
    )
    kind = f' enctype="{enctype}"' if enctype else ""
    return (
        f'<form id="f" method="post" action="{action}"{kind}>{inputs}</form>'
        "<script>document.getElementById('f').submit()</script>"
    )
