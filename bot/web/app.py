"""The aiohttp application: Slack's endpoint, health, readiness and metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.web.metrics import Metrics
from bot.web.origin import same_origin_only

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]


def create_web_app(
    *,
    metrics: Metrics,
    readiness: ReadinessCheck,
    integrations: Callable[[], Awaitable[dict[str, dict]]] | None = None,
    slack_events: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    webhook_callbacks: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    github_webhooks: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    public_url: str = "",
    signed_in: Callable[[web.Request], str | None] | None = None,
) -> web.Application:
    """`signed_in`: who is signed in to the web pages (None: nobody); only they are shown what
    /readyz checked. `public_url`: the bot's own origin, for the cross-site check."""
    app = web.Application(client_max_size=1024 * 1024, middlewares=[same_origin_only(public_url)])
    readiness_log = _ReadinessLog()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await readiness()
        ok = all(value == "ok" for value in checks.values())
        metrics.ready.set(1 if ok else 0)
        # Backends are reported, not gated on: a monitor being down must not take the bot
        # (and its rollback button) out of service.
        backends = await integrations() if integrations else {}
        readiness_log.note(ok, checks, backends)
        body: dict[str, Any] = {"status": "ok" if ok else "not ready"}
        # What was checked names backends and internal addresses: only for people signed in
        # to the web pages (and in the log; in Slack: `/release integrations`).
        if signed_in is not None and signed_in(request):
            body.update(checks=checks, integrations=backends)
        return web.json_response(body, status=200 if ok else 503)

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


class _ReadinessLog:
    """Logs what /readyz found when it changes, not on every probe (Kubernetes asks every few
    seconds)."""

    def __init__(self) -> None:
        self._last: str | None = None

    def note(self, ok: bool, checks: dict[str, str], backends: dict[str, dict]) -> None:
        seen = {
            "checks": checks,
            "integrations": {
                name: {"type": b.get("type"), "ok": b.get("ok"), "problem": b.get("problem")}
                for name, b in backends.items()
            },
        }
        key = json.dumps(seen, sort_keys=True, default=str)
        if key == self._last:
            return
        self._last = key
        failing = [
            name
            for name, b in seen["integrations"].items()
            if not b["ok"] and b["problem"] != "not checked yet"
        ]
        level = logging.INFO if ok and not failing else logging.WARNING
        log.log(level, "readiness %s: %s", "ok" if ok else "NOT READY", key)
