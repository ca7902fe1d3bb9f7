"""Shared fixtures: a database per test on each backend, and the whole bot on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.catalog_file import load_catalog
from bot.core.catalog import Catalog
from tests.support.databases import postgres_database, sqlite_database
from tests.support.peers import missing, postgres_available

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOG = REPO / "manifests" / "releasebot.example.yaml"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as url:
            yield url
        return
    if (why := postgres_available()) is not None:
        missing(why)
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """PostgreSQL only: for what SQLite does not do (several replicas, its own triggers)."""
    if (why := postgres_available()) is not None:
        missing(why)
    with postgres_database() as url:
        yield url


@pytest.fixture
def example_catalog() -> Catalog:
    return load_catalog(EXAMPLE_CATALOG)


@pytest.fixture
async def bot(database_url: str, example_catalog: Catalog) -> AsyncIterator:
    from tests.support.harness import BotHarness

    harness = await BotHarness.start(database_url, example_catalog)
    try:
        yield harness
    finally:
        await harness.stop()
