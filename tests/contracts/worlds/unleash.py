"""The FlagStore contract's Unleash world: the real adapter on a real unleash-server, reached
through a loopback proxy that `make_unreachable` closes; a fresh flag per world.

Unleash's open-source edition has only the `development` and `production` environments (adding
more is an Enterprise feature), so the bot's staging maps to development."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.core.clock import ManualClock
from bot.core.ports import Target
from integrations.base import BackendContext
from integrations.unleash import UnleashFlagStore, build
from tests.support.tcp_proxy import TcpProxy
from tests.support.unleash_admin import UnleashAdmin

ENVIRONMENTS = {"staging": "development", "production": "production"}


@dataclass
class UnleashWorld:
    adapter: UnleashFlagStore
    target: Target
    flag: str
    proxy: TcpProxy

    async def make_unreachable(self) -> None:
        await self.proxy.close()


@asynccontextmanager
async def unleash_world(env: Mapping[str, str]) -> AsyncIterator[UnleashWorld]:
    flag = await UnleashAdmin(env).create_flag("contract")
    proxy = await TcpProxy(env["UNLEASH_URL"]).start()
    try:
        adapter = build(
            {
                "url": proxy.url,
                "token_env": "UNLEASH_ADMIN_TOKEN",
                "environments": ENVIRONMENTS,
                "timeout_s": 5,
            },
            BackendContext(clock=ManualClock(), env=dict(env)),
        )
        yield UnleashWorld(adapter, Target("checkout", "production", "acme/checkout"), flag, proxy)
    finally:
        await proxy.close()
