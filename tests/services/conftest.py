from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app.catalog_file import load_catalog
from tests.support.catalogs import POLICY_CATALOG, SCENARIO_CATALOG
from tests.support.service_world import ServiceWorld


@pytest.fixture
async def policy_world() -> AsyncIterator[ServiceWorld]:
    world = ServiceWorld.of(load_catalog(POLICY_CATALOG))
    yield world
    await world.close()


@pytest.fixture
async def scenario_world() -> AsyncIterator[ServiceWorld]:
    world = ServiceWorld.of(load_catalog(SCENARIO_CATALOG))
    yield world
    await world.close()
