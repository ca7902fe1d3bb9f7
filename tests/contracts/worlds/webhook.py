"""The webhook deployer's world for the Deployer contract suite: the adapter in callback mode,
a fake deploy script on a loopback port, and the bot's real callback endpoint and
OperationStore (SqlOperations on a fresh SQLite file), all on one ManualClock."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.core.clock import ManualClock
from bot.core.ports import Target
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.operations import SqlOperations
from bot.web.webhook_callbacks import webhook_callback_handler
from integrations.base import BackendContext
from integrations.webhook import WebhookDeployer, build
from tests.support.webhook_script import FakeDeployScript, LoopbackServer

BACKEND = "deploy-hook"
SECRET = b"contract-world-webhook-secret"
CALLBACK_ROUTE = "/integrations/webhook/{backend}/callback"


@dataclass
class WebhookWorld:
    adapter: WebhookDeployer
    target: Target
    script: FakeDeployScript
    clock: ManualClock

    async def set_running(self, version: str) -> None:
        self.script.running[(self.target.service, self.target.environment)] = version

    async def fail_next_step(self) -> None:
        self.script.fail_next_step = True

    async def finish_operations(self) -> None:
        await self.script.finish_operations()

    async def make_unreachable(self) -> None:
        await self.script.stop()


@asynccontextmanager
async def webhook_world() -> AsyncIterator[WebhookWorld]:
    clock = ManualClock()
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite:///{Path(directory) / 'webhook-world.db'}")
        await migrate.upgrade(engine)
        operations = SqlOperations(session_factory(engine), clock)
        app = web.Application()
        app.router.add_post(
            CALLBACK_ROUTE, webhook_callback_handler({BACKEND: SECRET}, operations, clock)
        )
        bot = await LoopbackServer.start(app)
        script = await FakeDeployScript.start(SECRET, clock, mode="callback")
        try:
            adapter = build(
                {
                    "url": f"{script.url}/deploy",
                    "secret_env": "DEPLOY_HOOK_SECRET",
                    "mode": "callback",
                    "version_url": f"{script.url}/version",
                    "health_url": f"{script.url}/health",
                    "timeout_s": 5,
                },
                BackendContext(
                    clock=clock,
                    env={"DEPLOY_HOOK_SECRET": SECRET.decode()},
                    operations=operations,
                    public_url=bot.url,
                ),
                backend_name=BACKEND,
            )
            yield WebhookWorld(
                adapter, Target("checkout", "production", "acme/checkout"), script, clock
            )
        finally:
            await script.stop()
            await bot.stop()
            await engine.dispose()
