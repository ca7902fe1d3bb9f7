from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.catalog_file import load_catalog
from tests.support.browser import browser  # noqa: F401 (a fixture for the browser tests)
from tests.support.harness import BotHarness

SCENARIO_CATALOG = Path(__file__).resolve().parents[1] / "support" / "scenario_catalog.yaml"


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[BotHarness]:
    harness = await BotHarness.start(database_url, load_catalog(SCENARIO_CATALOG))
    try:
        yield harness
    finally:
        await harness.stop()
