"""State-changing browser requests must come from the bot's own pages (cross-site request
forgery): one middleware in front of every route, so a new form cannot forget it.

A POST, PUT, PATCH or DELETE is refused (403) when the browser says it came from elsewhere:
- `Origin` present: it must be the bot's origin (`RELEASEBOT_PUBLIC_URL`'s when set, else the
  request's own Host, http or https); `Origin: null` (a sandboxed or privacy-stripped page) is
  refused too;
- no `Origin`: `Sec-Fetch-Site` must be `same-origin` or `none` (typed by the person), else
- no `Sec-Fetch-Site`: a `Referer`, when present, must be of the bot's origin.
A request with none of the three is not a browser's (every browser since 2020 sends Origin on
a cross-origin POST): Slack, GitHub and the webhook backends prove themselves with their own
signatures, and pass. Another port on the same host is another origin (though the same
*site* for cookies), so SameSite cookies alone would not stop it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger(__name__)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAME = {"same-origin", "none"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]`, lower-case, without the scheme's default port; None if `url` has
    no http(s) origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    if port is None or port == {"http": 80, "https": 443}[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def same_origin_only(public_url: str = "") -> Callable[..., Awaitable[web.StreamResponse]]:
    own = origin_of(public_url) if public_url else None

    def ours(request: web.Request) -> set[str]:
        if own is not None:
            return {own}
        host = request.headers.get("Host", "")
        return {o for o in (origin_of(f"http://{host}"), origin_of(f"https://{host}")) if o}

    def foreign(request: web.Request) -> str | None:
        """What says the request came from another site, or None."""
        origin = request.headers.get("Origin")
        if origin is not None:
            return None if origin_of(origin) in ours(request) else f"Origin {origin}"
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if fetch_site is not None:
            return None if fetch_site.lower() in SAME else f"Sec-Fetch-Site {fetch_site}"
        referer = request.headers.get("Referer")
        if referer is not None:
            return None if origin_of(referer) in ours(request) else f"Referer {referer}"
        return None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in STATE_CHANGING:
            sender = foreign(request)
            if sender is not None:
                log.warning(
                    "refused %s %s from another site (%s)", request.method, request.path, sender
                )
                why = (
                    "releasebot refused this request: it was sent from another site "
                    f"({sender}), not from releasebot's own pages. Nothing was changed; "
                    "open releasebot and use its buttons."
                )
                if _wants_json(request):
                    return web.json_response({"ok": False, "error": why}, status=403)
                return web.Response(status=403, text=why)
        return await handler(request)

    return middleware


def _wants_json(request: web.Request) -> bool:
    """An API (the local console's, JSON bodies) gets its refusal as JSON; a form, as text."""
    return (
        "/api/" in request.path
        or "json" in request.content_type
        or "json" in request.headers.get("Accept", "")
    )
