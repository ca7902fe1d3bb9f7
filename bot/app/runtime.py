"""The composition root: builds the bot from settings (bot/app/serving.py runs it).

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

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.bolt_app import bolt_app
from bot.app.catalog_file import load_catalog
from bot.app.settings import Settings
from bot.core.access import groups_used
from bot.core.catalog import Catalog
from bot.core.clock import SystemClock
from bot.core.ports import Clock
from bot.emulator import Emulator, create_emulator
from bot.engine.dispatcher import OutboxDispatcher
from bot.engine.engine import Engine
from bot.engine.inbox_runner import InboxRunner
from bot.engine.stage_runner import StageRunner
from bot.services.api_tokens import ApiTokens
from bot.services.audit_exports import AuditExports
from bot.services.audit_signing import Signer, SigningKeyProblem, signer_from_environment
from bot.services.audit_watch import AuditUnprotected, AuditWatch
from bot.services.ci_events import CiEvents
from bot.services.commands import CommandRouter
from bot.services.deploys import Deploys
from bot.services.facts import FactsFinder
from bot.services.groups import GroupCache
from bot.services.history import History
from bot.services.inbox import Inbox, InboxProcessor
from bot.services.policy_actions import PolicyActions
from bot.services.progress import Progress
from bot.services.queries import Queries
from bot.services.releases import Releases
from bot.slack.chat import SlackChat, SlackGroups, SlackPeople
from bot.slack.render import SlackRenderer
from bot.storage import migrate
from bot.storage.audit_files import DatabaseAuditExporter
from bot.storage.audit_integrity import SqlAuditIntegrity
from bot.storage.audit_reader import SqlAuditEvents
from bot.storage.claims import InboxClaims, OutboxClaims, ReleaseClaims
from bot.storage.database import create_engine, session_factory
from bot.storage.inbox_door import InboxDoor
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
        api_url = f"http://{client_host(settings.host)}:{settings.port}{EMULATOR_PATH}/api/"
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
    router = CommandRouter(
        catalog,
        clock,
        Deploys(catalog, clock, facts),
        releases,
        queries,
        policies,
        exports,
        registry,
        SlackPeople(client),
    )
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

    bolt = bolt_app(inbox, api_url, bot_token, signing_secret, settings.slack_timeout_s)

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


def client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
