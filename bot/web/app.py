"""The aiohttp application: Slack's endpoint, health, readiness and metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.web.metrics import Metrics

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]


def create_web_app(
    *,
    metrics: Metrics,
    readiness: ReadinessCheck,
    integrations: Callable[[], Awaitable[dict[str, dict]]] | None = None,
    slack_events: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    webhook_callbacks: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    github_webhooks: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        checks = await readiness()
        ok = all(value == "ok" for value in checks.values())
        metrics.ready.set(1 if ok else 0)
        # Backends are reported, not gated on: a monitor being down must not take the bot
        # (and its rollback button) out of service.
        backends = await integrations() if integrations else {}
        return web.json_response(
            {"status": "ok" if ok else "unavailable", "checks": checks, "integrations": backends},
            status=200 if ok else 503,
        )

    async def metrics_page(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    if slack_events is not None:
        app.router.add_post("/slack/events", slack_events)
    if webhook_callbacks is not None:
        app.router.add_post("/integrations/webhook/{backend}/callback", webhook_callbacks)
    if github_webhooks is not None:
        app.router.add_post("/integrations/github/events", github_webhooks)
    return app
