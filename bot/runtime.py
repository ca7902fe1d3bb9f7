"""The composition root: builds the bot from settings, and runs it.

Local mode (no Slack tokens) mounts the Slack stand-in at /emulator on the same server and
points the bot's Web API client at it; the stand-in sends real signed requests to
/slack/events, so local mode runs exactly the production path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit_files import DatabaseAuditExporter
from bot.catalog_file import load_catalog
from bot.clock import SystemClock
from bot.core.access import groups_used
from bot.core.catalog import Catalog
from bot.core.ports import Clock
from bot.emulator import Emulator, create_emulator
from bot.engine.dispatcher import OutboxDispatcher
from bot.engine.engine import Engine
from bot.engine.stage_runner import StageRunner
from bot.services.api_tokens import ApiTokens
from bot.services.audit_exports import AuditExports
from bot.services.audit_manifests import make_checkpoint
from bot.services.audit_signing import signer_from_environment
from bot.services.ci_events import CiEvents
from bot.services.commands import CommandRouter
from bot.services.facts import FactsFinder
from bot.services.groups import GroupCache
from bot.services.history import History
from bot.services.policy_actions import PolicyActions
from bot.services.progress import Progress
from bot.services.queries import Queries
from bot.services.releases import Releases
from bot.settings import Settings
from bot.slack.chat import SlackChat, SlackGroups
from bot.slack.inflight import InFlight
from bot.slack.listeners import SlackServices, register
from bot.slack.render import SlackRenderer
from bot.storage import audit_checkpoints, migrate
from bot.storage.audit_reader import SqlAuditEvents
from bot.storage.claims import OutboxClaims, ReleaseClaims
from bot.storage.database import create_engine, session_factory
from bot.storage.operations import SqlOperations
from bot.storage.unit_of_work import SqlUnitOfWork
from bot.web.app import create_web_app
from bot.web.audit_api import register_audit_api
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
    inflight: InFlight
    metrics: Metrics
    registry: Registry
    router: CommandRouter
    groups: GroupCache
    emulator: Emulator | None = None

    async def settle(self) -> None:
        """Wait for listener work after acks, then run the engine until nothing is due."""
        await self.inflight.idle()
        await self.engine.settle()

    async def close(self) -> None:
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
    sessions = session_factory(db)
    metrics = Metrics()
    owner = settings.replica_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"

    engine_ref: list[Engine] = []

    def unit_of_work() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, clock, on_outbox_commit=lambda: engine_ref[0].kick())

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

    client = AsyncWebClient(token=bot_token, base_url=api_url, timeout=10, retry_handlers=[])
    renderer = SlackRenderer(clock)
    chat = SlackChat(client)
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
    releases = Releases(catalog, unit_of_work, clock, facts)
    queries = Queries(catalog, unit_of_work, clock, registry)
    policies = PolicyActions(catalog, unit_of_work, clock, facts)
    exporter = DatabaseAuditExporter(db, clock)
    exports = AuditExports(catalog, unit_of_work, clock, facts, exporter)
    router = CommandRouter(catalog, unit_of_work, clock, releases, queries, policies, exports)
    runner = StageRunner(
        catalog, registry.adapters_for, progress, ReleaseClaims(sessions, clock, owner), clock
    )
    dispatcher = OutboxDispatcher(
        OutboxClaims(sessions, clock, owner),
        progress,
        chat,
        renderer,
        clock,
        update_interval_s=settings.update_interval_s,
        catalog=catalog,
        adapters_for=registry.adapters_for,
        exporter=exporter,
    )
    engine = Engine(runner, dispatcher, groups)
    engine_ref.append(engine)

    inflight = InFlight()
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret or None,
        request_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    register(bolt, SlackServices(router, releases, renderer, inflight))
    _register_error_handler(bolt)

    async def readiness() -> dict[str, str]:
        return await _readiness(db)

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

    web_app = create_web_app(
        metrics=metrics,
        readiness=readiness,
        integrations=integrations,
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
    web_sessions = Sessions(_session_secret(settings))
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
        inflight,
        metrics,
        registry,
        router,
        groups,
        emulator,
    )


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


def _register_error_handler(bolt: AsyncApp) -> None:
    @bolt.error
    async def on_error(error: Exception, body: dict, logger, respond=None) -> None:
        logger.exception("listener failed: %s", type(error).__name__, exc_info=error)
        if respond is not None:
            try:
                await respond(
                    text=":warning: Something went wrong on releasebot's side and nothing was "
                    "changed. Try again in a moment; if it keeps failing, tell the platform team.",
                    response_type="ephemeral",
                    replace_original=False,
                )
            except Exception:
                logger.exception("could not tell the user about the failure")


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


async def serve(runtime: Runtime, *, ready: asyncio.Event | None = None) -> None:
    """Run the web server and the engine until cancelled."""
    settings = runtime.settings
    runner = web.AppRunner(runtime.web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    await runtime.groups.refresh(force=True)  # decisions need group members from the start
    scheduler = runtime.engine.start(settings.tick_seconds)
    _schedule_audit_checkpoints(runtime, scheduler)
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
        await asyncio.Event().wait()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()
        await runtime.engine.stop(scheduler)
        await runner.cleanup()
        await runtime.close()


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
