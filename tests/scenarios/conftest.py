from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app.catalog_file import load_catalog
from tests.support.browser import browser  # noqa: F401 (a fixture for the browser tests)
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import BotHarness


@pytest.fixture
async def scenario_bot(database_url: str) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(database_url, load_catalog(SCENARIO_CATALOG)) as harness:
        yield harness
