"""The deploy script the chaos runs deploy with: the webhook deployer's peer, in a process of its
own, so it outlives the bot processes that are killed around it.

It checks each request's signature, answers at once (the webhook deployer's `sync` mode) and
writes every delivery to a JSON Lines log, flushed line by line, with whether it was the first
time its idempotency key was seen. A real script runs a key once and answers a resend with the
first result; so does this one. The chaos checks read the log: a stage the bot made run twice
shows as two keys for one (release, stage).

    python -m bot.chaos.deployer --port 0 --log deliveries.jsonl   (secret: $CHAOS_DEPLOY_SECRET)
    -> prints "chaos deployer listening on http://127.0.0.1:PORT" once it listens
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from bot.core.webhook_signature import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_problem,
)

SECRET_ENV = "CHAOS_DEPLOY_SECRET"


class DeployScript:
    def __init__(self, secret: bytes, log: IO[str]) -> None:
        self._secret = secret
        self._log = log
        self._done: dict[str, dict[str, Any]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        problem = signature_problem(
            self._secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            datetime.now(UTC),
        )
        if problem is not None:
            return web.json_response({"error": problem}, status=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return web.json_response({"error": "not JSON"}, status=400)
        key = request.headers.get(DELIVERY_HEADER) or str(payload.get("idempotency_key", ""))
        first = key not in self._done
        if first:
            self._done[key] = {
                "state": "succeeded",
                "detail": f"done by the chaos deployer ({key})",
            }
        self._record(key, first, payload)
        return web.json_response(self._done[key])

    def _record(self, key: str, first: bool, payload: dict[str, Any]) -> None:
        stage = payload.get("stage") or {}
        entry = {
            "at": datetime.now(UTC).isoformat(),
            "key": key,
            "first": first,
            "event": payload.get("event"),
            "release_id": payload.get("release_id"),
            "stage": stage.get("index") if isinstance(stage, dict) else None,
        }
        self._log.write(json.dumps(entry) + "\n")
        self._log.flush()


def read_log(path: Path) -> list[dict[str, Any]]:
    """The deliveries recorded so far (a line cut short by a crash is skipped)."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


async def _serve(port: int, log_path: Path, secret: bytes) -> None:
    with log_path.open("a", encoding="utf-8") as log:
        app = web.Application()
        app.router.add_post("/", DeployScript(secret, log).handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = runner.addresses[0][1]
        print(f"chaos deployer listening on http://127.0.0.1:{bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, required=True)
    options = parser.parse_args()
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        parser.error(f"set {SECRET_ENV}: the HMAC key the bot signs with")
    asyncio.run(_serve(options.port, options.log, secret.encode()))


if __name__ == "__main__":
    main()
