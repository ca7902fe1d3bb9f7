"""The composition root: builds the bot from settings, and runs it.

Local mode (no Slack tokens) mounts the Slack stand-in at /emulator on the same server and
points the bot's Web API client at it; the stand-in sends real signed requests to
/slack/events, so local mode runs exactly the production path.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import signal
import socket
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.catalog_file import load_catalog
from bot.app.settings import Settings
from bot.core.access import groups_used
from bot.core.catalog import Catalog
from bot.core.clock import SystemClock
from bot.core.ports import Clock, StorageUnavailable
from bot.emulator import Emulator, create_emulator
from bot.engine.dispatcher import OutboxDispatcher
from bot.engine.engine import Engine
from bot.engine.inbox_runner import InboxRunner
from bot.engine.stage_runner import StageRunner
from bot.services.api_tokens import ApiTokens
from bot.services.audit_exports import AuditExports
from bot.services.audit_manifests import make_checkpoint
from bot.services.audit_signing import Signer, SigningKeyProblem, signer_from_environment
from bot.services.audit_watch import AuditUnprotected, AuditWatch
from bot.services.ci_events import CiEvents
from bot.services.commands import CommandRouter
from bot.services.facts import FactsFinder
from bot.services.groups import GroupCache
from bot.services.history import History
from bot.services.inbox import Inbox, InboxProcessor
from bot.services.policy_actions import PolicyActions
from bot.services.progress import Progress
from bot.services.queries import Queries
from bot.services.releases import Releases
from bot.slack.chat import SlackChat, SlackGroups
from bot.slack.listeners import register
from bot.slack.render import SlackRenderer
from bot.storage import audit_checkpoints, migrate
from bot.storage.audit_files import DatabaseAuditExporter
from bot.storage.audit_integrity import SqlAuditIntegrity
from bot.storage.audit_reader import SqlAuditEvents
from bot.storage.claims import InboxClaims, OutboxClaims, ReleaseClaims
from bot.storage.database import create_engine, is_postgres, session_factory
from bot.storage.inbox_door import InboxDoor
from bot.storage.operations import SqlOperations
from bot.storage.unit_of_work import SqlUnitOfWork
from bot.storage.wakeups import INBOX, Listener
from bot.web.app import create_web_app
from bot.web.audit_api import register_audit_api
from bot.web.edge import Edge, EdgeLimits
from bot.web.github_webhooks import github_webhook_handler
from bot.web.metrics import Metrics
from bot.web.openid import OpenIDSignIn
from bot.web.pages import register_pages
from bot.web.sessions import Sessions
from bot.web.signin import register_signin
from bot.web.slack_events import slack_events_handler
from bot.web.webhook_callbacks import webhook_callback_handler
from integrations.base import BackendContext
from integrations.registry import Registry

log = logging.getLogger(__name__)

LOCAL_BOT_TOKEN = "xoxb-local-releasebot"
EMULATOR_PATH = "/emulator"


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    clock: Clock
    db: AsyncEngine
    engine: Engine
    web_app: web.Application
    bolt: AsyncApp
    inbox: Inbox
    chat: SlackChat
    metrics: Metrics
    registry: Registry
    router: CommandRouter
    groups: GroupCache
    emulator: Emulator | None = None
    audit_watch: AuditWatch | None = None

    async def settle(self) -> None:
        """Run the engine until nothing is due: accepted requests, stages, messages."""
        await self.engine.settle()

    async def close(self) -> None:
        await self.inbox.close()
        await self.chat.close()
        await self.registry.close()
        await self.db.dispose()


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    auto_migrate: bool = True,
) -> Runtime:
    clock = clock or SystemClock()
    catalog = catalog or load_catalog(settings.catalog_path)
    db = create_engine(settings.database_url)
    if auto_migrate:
        await migrate.upgrade(db)
    metrics = Metrics()
    audit_watch = AuditWatch(
        SqlAuditIntegrity(db), _audit_signer(), on_verdict=metrics.audit_verdict
    )
    try:
        await audit_watch.refuse_if_unprotected()
    except AuditUnprotected:
        await db.dispose()
        raise
    sessions = session_factory(db)
    owner = settings.replica_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"

    # Rung when a commit leaves work for a worker, so it starts at once, not at the next tick.
    inbox_bell, outbox_bell = asyncio.Event(), asyncio.Event()

    def unit_of_work() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, clock, on_outbox_commit=outbox_bell.set)

    emulator: Emulator | None = None
    if settings.mode == "local":
        signing_secret = secrets.token_hex(16)
        bot_token = LOCAL_BOT_TOKEN
        emulator = create_emulator(
            signing_secret=signing_secret,
            bot_token=bot_token,
            clock=lambda: clock.now().timestamp(),
        )
        api_url = f"http://{_client_host(settings.host)}:{settings.port}{EMULATOR_PATH}/api/"
    else:
        signing_secret = settings.signing_secret or ""
        bot_token = settings.bot_token or ""
        api_url = settings.slack_api_url or AsyncWebClient.BASE_URL

    # One pool of connections for every call to Slack (a session per call costs a connection
    # and about 1 ms each); its timeout is each call's.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.slack_timeout_s))
    client = AsyncWebClient(
        token=bot_token,
        base_url=api_url,
        timeout=settings.slack_timeout_s,
        retry_handlers=[],
        session=http,
    )
    renderer = SlackRenderer(clock)
    chat = SlackChat(client, response_timeout_s=settings.slack_timeout_s, http=http)
    operations = SqlOperations(sessions, clock)
    registry = Registry(
        catalog,
        BackendContext(
            clock=clock,
            env=os.environ,
            operations=operations,
            public_url=settings.public_url,
        ),
    )
    groups = GroupCache(SlackGroups(client), groups_used(catalog), clock)
    facts = FactsFinder(catalog, groups.snapshot)
    progress = Progress(unit_of_work, clock, settings.status_refresh_s, facts)
    releases = Releases(catalog, clock, facts)
    queries = Queries(catalog, clock)
    policies = PolicyActions(catalog, clock, facts)
    exporter = DatabaseAuditExporter(db, clock)
    exports = AuditExports(catalog, unit_of_work, clock, facts, exporter)
    router = CommandRouter(catalog, clock, releases, queries, policies, exports, registry)
    inbox_claims = InboxClaims(sessions, clock, owner)
    release_claims = ReleaseClaims(sessions, clock, owner)
    outbox_claims = OutboxClaims(sessions, clock, owner)
    processor = InboxProcessor(
        unit_of_work, clock, router, releases, deadline_s=settings.inbox_deadline_s
    )
    runner = StageRunner(catalog, registry.adapters_for, progress, release_claims, clock)
    dispatcher = OutboxDispatcher(
        outbox_claims,
        progress,
        chat,
        renderer,
        clock,
        update_interval_s=settings.update_interval_s,
        budgets={"chat.update": settings.chat_updates_per_minute},
        catalog=catalog,
        adapters_for=registry.adapters_for,
        exporter=exporter,
    )
    engine = Engine(
        InboxRunner(inbox_claims, processor, clock),
        runner,
        dispatcher,
        groups,
        claims={"inbox": inbox_claims, "stages": release_claims, "outbox": outbox_claims},
        bells={"inbox": inbox_bell, "stages": asyncio.Event(), "outbox": outbox_bell},
    )
    inbox = Inbox(InboxDoor(db, clock), on_accept=inbox_bell.set)

    bolt = AsyncApp(
        # The listeners call no Slack method: bolt gets a client without the token, and an
        # `authorize` that asks Slack nothing (see `_authorize_offline`).
        client=AsyncWebClient(
            base_url=api_url, timeout=settings.slack_timeout_s, retry_handlers=[]
        ),
        authorize=_authorize_offline(bot_token),
        signing_secret=signing_secret or None,
        request_verification_enabled=False,
        # Listeners only make the request durable, then ack: Slack's OK follows the write.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    register(bolt, inbox)
    _register_error_handler(bolt)

    async def readiness() -> dict[str, str]:
        checks = await _readiness(db)
        if checks.get("database") == "ok":
            checks["audit"] = (await audit_watch.current()).text
        return checks

    async def integrations() -> dict[str, dict]:
        return {
            health.name: {
                "type": health.type,
                "ok": health.ok,
                "problem": health.problem,
                "last_error": health.last_error,
                "last_error_at": health.last_error_at.isoformat() if health.last_error_at else None,
            }
            for health in await registry.cached_health()
        }

    web_sessions = Sessions(_session_secret(settings))
    web_app = create_web_app(
        metrics=metrics,
        readiness=readiness,
        integrations=integrations,
        public_url=settings.public_url,
        signed_in=web_sessions.user,
        slack_events=slack_events_handler(bolt, signing_secret, clock, metrics)
        if settings.mode != "socket"
        else None,
        webhook_callbacks=webhook_callback_handler(registry.callback_secrets(), operations, clock),
        github_webhooks=github_webhook_handler(
            registry.webhook_secrets(), CiEvents(catalog, unit_of_work, clock).repository_changed
        )
        if registry.webhook_secrets()
        else None,
    )
    register_signin(
        web_app,
        web_sessions,
        _people_who_sign_in(emulator),
        openid=OpenIDSignIn(
            settings.oidc_issuer, settings.slack_client_id, settings.slack_client_secret
        )
        if settings.slack_client_id and settings.slack_client_secret
        else None,
        team=_workspace_of(settings, emulator, client),
        public_url=settings.public_url,
    )
    register_pages(
        web_app, History(catalog, unit_of_work, SqlAuditEvents(db), clock), exports, web_sessions
    )
    register_audit_api(web_app, ApiTokens(unit_of_work, clock), exports, clock)
    if emulator is not None:
        _mount_emulator(web_app, emulator)
    return Runtime(
        settings,
        catalog,
        clock,
        db,
        engine,
        web_app,
        bolt,
        inbox,
        chat,
        metrics,
        registry,
        router,
        groups,
        emulator,
        audit_watch,
    )


def _audit_signer() -> Signer | None:
    """The audit key, to check signed checkpoints with; a key that cannot be read is reported
    (`serve` refuses it where it signs checkpoints) and checkpoints are then checked unsigned."""
    try:
        return signer_from_environment(os.environ)
    except (SigningKeyProblem, ValueError) as exc:
        log.error("audit key: %s", exc)
        return None


def _session_secret(settings: Settings) -> bytes:
    """Several replicas share RELEASEBOT_SESSION_SECRET; one alone may make its own."""
    return (settings.session_secret or "").encode() or secrets.token_bytes(32)


def _people_who_sign_in(emulator: Emulator | None):
    """Local mode: the stand-in's people pick themselves. Otherwise Sign in with Slack only."""
    if emulator is None:
        return lambda: []
    return lambda: [(u.id, u.real_name or u.name) for u in emulator.workspace.users]


def _workspace_of(settings: Settings, emulator: Emulator | None, client: AsyncWebClient):
    """The Slack workspace whose members may sign in: SLACK_TEAM_ID, the stand-in's, or the
    bot token's own (auth.test, asked once)."""
    known: list[str] = []
    if settings.slack_team_id:
        known.append(settings.slack_team_id)
    elif emulator is not None:
        known.append(emulator.workspace.team_id)

    async def team() -> str | None:
        if not known:
            answer = await client.auth_test()
            known.append(str(answer["team_id"]))
        return known[0]

    return team


def _mount_emulator(web_app: web.Application, emulator: Emulator) -> None:
    async def to_console(_request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{EMULATOR_PATH}/")

    web_app.router.add_get("/", to_console)
    web_app.router.add_get(EMULATOR_PATH, to_console)
    web_app.add_subapp(EMULATOR_PATH, emulator.web_app())


def _authorize_offline(bot_token: str):
    """Authorize a request without calling Slack. bolt's default for a single workspace asks
    auth.test on the first request it gets; while Slack's Web API is down or slow, that request
    is answered HTTP 200 "reinstall this app" (or after the 3 s Slack waits) and never written
    down: an OK followed by nothing. That a request is Slack's is proven by its signature
    (checked in /slack/events) or the Socket Mode connection, and the listeners only write it
    to the inbox."""

    async def authorize(enterprise_id, team_id, user_id) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=bot_token
        )

    return authorize


def _register_error_handler(bolt: AsyncApp) -> None:
    @bolt.error
    async def on_error(error: Exception, body: dict, logger, response=None) -> None:
        """A listener failed before its ack: Slack gets no OK and shows the person its own
        error, which is true (nothing was recorded). 503 when the database is the cause."""
        if isinstance(error, StorageUnavailable):
            logger.error("a Slack request was refused, not acknowledged: %s", error)
            if response is not None:
                response.status = 503
                response.body = "releasebot cannot record requests right now"
            return
        logger.exception("listener failed: %s", type(error).__name__, exc_info=error)


async def _readiness(db: AsyncEngine) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        async with db.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return checks
    try:
        waiting = await migrate.pending(db)
        checks["migrations"] = "ok" if not waiting else f"pending: {', '.join(waiting)}"
    except Exception as exc:
        checks["migrations"] = f"unknown: {type(exc).__name__}"
    return checks


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


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
    base = f"http://{_client_host(settings.host)}:{settings.port}"
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
