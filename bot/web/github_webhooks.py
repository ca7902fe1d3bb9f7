"""GitHub's webhooks (check_suite, check_run, status, deployment_status, ping): verified by
X-Hub-Signature-256, then a hint that releases of that repository should look again."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

log = logging.getLogger(__name__)

EVENTS = {"check_suite", "check_run", "status", "deployment_status", "workflow_run"}


def signature_matches(secrets: Sequence[bytes], body: bytes, header: str) -> bool:
    if not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").encode("utf-8", "replace")
    return any(
        hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).hexdigest().encode(), given)
        for secret in secrets
    )


def github_webhook_handler(
    secrets: Sequence[bytes], repository_changed: Callable[[str], Awaitable[int]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if not secrets or not signature_matches(
            secrets, body, request.headers.get("X-Hub-Signature-256", "")
        ):
            return web.json_response({"error": "bad or missing X-Hub-Signature-256"}, status=401)
        event = request.headers.get("X-GitHub-Event", "")
        try:
            payload = json.loads(body)
            repository = str(payload["repository"]["full_name"]) if event != "ping" else ""
        except (ValueError, KeyError, TypeError):
            return web.json_response(
                {"error": "expected a JSON body naming its repository"}, status=400
            )
        if event == "ping":
            return web.json_response({"ok": True, "pong": True})
        if event not in EVENTS:
            return web.json_response({"ok": True, "ignored": event})
        poked = await repository_changed(repository)
        log.info("github %s on %s: %s release(s) look again", event, repository, poked)
        return web.json_response({"ok": True, "releases": poked}, status=202)

    return handle
