"""The baseline of `releasebot bench load`: a bare slack-bolt AsyncApp whose listeners only ack,
served by aiohttp as releasebot's own endpoint is, in a process of its own.

    python -m bot.benchmarks.bare_bolt --port 0      (SLACK_SIGNING_SECRET from the environment)

prints `bare bolt listening on http://127.0.0.1:PORT` once it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

READY = "bare bolt listening on"


def bare_app(signing_secret: str) -> web.Application:
    async def authorize(enterprise_id, team_id, user_id) -> AuthorizeResult:
        # As releasebot does: asking Slack's auth.test is not part of an ack.
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token="xoxb-bare"
        )

    bolt = AsyncApp(signing_secret=signing_secret, authorize=authorize)

    @bolt.command("/deploy")
    @bolt.command("/release")
    async def ack_only(ack) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    app = web.Application()
    app.router.add_post("/slack/events", events)
    return app


async def serve(port: int) -> None:
    runner = web.AppRunner(bare_app(os.environ["SLACK_SIGNING_SECRET"]), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"{READY} http://127.0.0.1:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
