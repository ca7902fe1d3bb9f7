"""`releasebot slack-standin serve`: the local Slack stand-in as a process of its own.

It serves what `releasebot serve` mounts at /emulator in local mode, at the root of its own
port, on real wall-clock time: the Web API (/api/{method}), response_url (/response/...),
the console (/), fault injection (/_faults, see bot/emulator/faults.py and FAULTS.md) and
the control API for tests in other processes (/_control, see bot/emulator/control.py).
Point a bot at it with SLACK_API_URL=http://127.0.0.1:PORT/api/ and the same secrets.

Once it listens it prints exactly one line (after any generated secrets) and flushes:

    slack stand-in listening on http://127.0.0.1:PORT (Web API: http://127.0.0.1:PORT/api/)

SIGTERM or SIGINT stop it cleanly (held requests are answered first), with exit code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from typing import Annotated

import typer

from bot.cli.common import fail

standin_app = typer.Typer(
    help="The local Slack stand-in as its own process: Web API, console, faults, control API.",
    no_args_is_help=True,
)


@standin_app.command("serve")
def serve(
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one (printed)."),
    ] = 3001,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    signing_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SLACK_SIGNING_SECRET",
            show_envvar=True,
            show_default=False,
            help="Signs what is sent to the bot; generated and printed when not given.",
        ),
    ] = None,
    bot_token: Annotated[
        str | None,
        typer.Option(
            envvar="SLACK_BOT_TOKEN",
            show_envvar=True,
            show_default=False,
            help="The token the Web API accepts; generated and printed when not given.",
        ),
    ] = None,
    bot_events_url: Annotated[
        str | None,
        typer.Option(
            help="The bot's /slack/events, where commands and clicks go "
            "(or later: POST /_control/bot)."
        ),
    ] = None,
) -> None:
    """Serve the Slack stand-in until SIGTERM or SIGINT."""
    from bot.emulator import create_emulator
    from bot.emulator.control import events_url

    if bot_events_url is not None:
        try:
            bot_events_url = events_url(bot_events_url)
        except ValueError as exc:
            raise fail(f"--bot-events-url {exc}") from None
    if not signing_secret:
        signing_secret = secrets.token_hex(16)
        typer.echo(f"generated signing secret (choose with SLACK_SIGNING_SECRET): {signing_secret}")
    if not bot_token:
        bot_token = f"xoxb-standin-{secrets.token_hex(12)}"
        typer.echo(f"generated bot token (choose with SLACK_BOT_TOKEN): {bot_token}")
    emulator = create_emulator(signing_secret, bot_token, bot_events_url)
    try:
        asyncio.run(_serve(emulator, host, port))
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", code=1) from None


async def _serve(emulator, host: str, port: int) -> None:
    from aiohttp import web

    runner = web.AppRunner(emulator.web_app(), access_log=None, shutdown_timeout=2)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        base = f"http://{_url_host(host)}:{runner.addresses[0][1]}"
        emulator.public_base_url = base
        print(f"slack stand-in listening on {base} (Web API: {base}/api/)", flush=True)
        await _until_signalled()
    finally:
        await runner.cleanup()


async def _until_signalled() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
