"""Running the bot: listen, tick the engine and sign audit checkpoints on a schedule, stop
gracefully on SIGTERM / SIGINT (see `_shut_down`). bot/app/runtime.py builds what runs here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal

from aiohttp import web

from bot.app.runtime import EMULATOR_PATH, Runtime, client_host
from bot.services.audit_manifests import make_checkpoint
from bot.services.audit_signing import signer_from_environment
from bot.storage import audit_checkpoints
from bot.storage.database import is_postgres
from bot.storage.wakeups import INBOX, Listener
from bot.web.edge import Edge, EdgeLimits

log = logging.getLogger(__name__)


async def serve(
    runtime: Runtime,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the web server and the engine until `stop` is set, or SIGTERM / SIGINT arrives;
    then stop gracefully (see `_shut_down`) and return. A second signal exits at once."""
    settings = runtime.settings
    stop = stop or asyncio.Event()
    _on_signals(stop)
    # Everything built so far lives as long as the process: keep it out of the collector's
    # full passes, which would otherwise stall every request for a few hundred milliseconds.
    gc.collect()
    gc.freeze()
    # Slow clients are dropped and open connections capped (bot/web/edge.py).
    edge = Edge(
        EdgeLimits(settings.header_timeout_s, settings.body_timeout_s, settings.max_connections),
        runtime.metrics.registry,
    )
    runner = edge.runner(runtime.web_app, access_log=None, shutdown_timeout=ACK_GRACE_S)
    await runner.setup()
    site = edge.site(runner, settings.host, settings.port)
    await site.start()
    await runtime.groups.refresh(force=True)  # decisions need group members from the start
    if runtime.audit_watch is not None:  # the first check may read the whole chain: begin now
        first_audit_check = asyncio.ensure_future(runtime.audit_watch.current())
        first_audit_check.add_done_callback(_report_failure)
    scheduler, wakeups = None, None
    if settings.role == "engine" and settings.engine_niceness > 0:
        # The engine's work waits; Slack's acknowledgements do not. Where both share a
        # machine, the engine yields the CPU first.
        os.nice(min(settings.engine_niceness, 19))
    if settings.role != "web":
        if settings.replica_id:  # a stable name: what a dead predecessor held is ours to redo
            await runtime.engine.hand_back_claims()
        scheduler = runtime.engine.start(settings.tick_seconds)
        _schedule_audit_checkpoints(runtime, scheduler)
        if is_postgres(runtime.db):  # requests written by other processes wake this engine
            wakeups = Listener(settings.database_url, {INBOX: runtime.engine.inbox.bell})
            wakeups.start()
    socket_handler = None
    if settings.mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_handler = AsyncSocketModeHandler(runtime.bolt, settings.app_token)
        await socket_handler.connect_async()
    base = f"http://{client_host(settings.host)}:{settings.port}"
    if runtime.emulator is not None:
        runtime.emulator.bot_events_url = f"{base}/slack/events"
        runtime.emulator.public_base_url = f"{base}{EMULATOR_PATH}"
    _announce(runtime, base)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
        log.info("stopping: no new requests; finishing the work under way")
    finally:
        if wakeups is not None:
            await wakeups.stop()
        await _shut_down(runtime, runner, scheduler, socket_handler)


def _report_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("checking the audit trail failed: %s", error)


ACK_GRACE_S = 5.0  # requests already received get this long to be written down and acked


async def _shut_down(runtime: Runtime, runner: web.AppRunner, scheduler, socket_handler) -> None:
    """Stop accepting (the listening socket closes; requests under way are still written to
    the inbox and acked), then let the engine's passes finish and hand back this replica's
    claims, then close the database. Within Kubernetes' 30 s: the engine gets
    RELEASEBOT_SHUTDOWN_GRACE_SECONDS (15 by default)."""
    if socket_handler is not None:
        with contextlib.suppress(Exception):
            await socket_handler.close_async()
    await runner.cleanup()
    if scheduler is not None:
        await runtime.engine.stop(scheduler, grace_s=runtime.settings.shutdown_grace_s)
    await runtime.close()
    log.info("stopped")


def _on_signals(stop: asyncio.Event) -> None:
    """SIGTERM (Kubernetes, docker stop) and SIGINT (Ctrl-C) ask for a graceful stop; a second
    one, while stopping, ends the process at once."""
    loop = asyncio.get_running_loop()

    def asked(signum: int) -> None:
        if stop.is_set():
            log.warning("%s again: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("%s received", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, asked, signum)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            return


CHECKPOINT_INTERVAL_S = 3600


def _schedule_audit_checkpoints(runtime: Runtime, scheduler) -> None:
    """With an audit key configured, the chain's head is signed every hour (and on every
    export), so a rewrite by someone with database rights shows at the next verify."""
    signer = signer_from_environment(os.environ)
    if signer is None:
        log.warning("no audit key configured: the audit chain's head is not signed")
        return

    async def checkpoint() -> None:
        try:
            head = await audit_checkpoints.head(runtime.db)
            if head.seq:
                await audit_checkpoints.add(
                    runtime.db, make_checkpoint(head, runtime.clock.now(), signer)
                )
        except Exception:  # the next interval tries again
            log.exception("signing an audit checkpoint failed")

    scheduler.add_job(
        checkpoint,
        "interval",
        seconds=CHECKPOINT_INTERVAL_S,
        id="releasebot-audit-checkpoint",
        max_instances=1,
        coalesce=True,
    )


def _announce(runtime: Runtime, base: str) -> None:
    settings = runtime.settings
    for key, value in settings.describe().items():
        log.info("%s: %s", key, value)
    if runtime.emulator is not None:
        print(f"releasebot is running in local mode (no Slack tokens): {base}", flush=True)
        print(f"Open the Slack console: {base}{EMULATOR_PATH}/", flush=True)
        print(
            "Try: pick alice, type `/deploy checkout canary 10% to production`, "
            "then switch to bob and press Approve.",
            flush=True,
        )
        print(f"Release history, DORA and the audit export: {base}/releases", flush=True)
    else:
        print(f"releasebot is running in {settings.mode} mode on {base}", flush=True)
