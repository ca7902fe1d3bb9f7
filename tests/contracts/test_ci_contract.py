"""What every CI adapter promises, checked against the simulated one and GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.ports import IntegrationError
from tests.contracts.worlds.github import github_world
from tests.contracts.worlds.simulated import simulated_world

WORLDS = {"simulated": simulated_world, "github": github_world}


@pytest.fixture(params=list(WORLDS))
async def world(request) -> AsyncIterator:
    async with WORLDS[request.param]() as made:
        yield made


async def test_latest_resolves_to_some_version(world):
    assert (await world.adapter.resolve_version(world.target, None)).strip()


async def test_a_named_version_ships_under_its_name(world):
    await world.ci_reports("v1.5.0", {"build": "success"})
    assert await world.adapter.resolve_version(world.target, "v1.5.0") == "v1.5.0"


async def test_all_green_passes_and_names_the_authors(world):
    await world.ci_reports("v1.5.0", {"build": "success", "unit-tests": "success"})
    status = await world.adapter.status(world.target, "v1.5.0", since="v1.4.2")
    assert status.state == "passed"
    assert status.summary == "2 checks passed"
    assert status.authors and all(isinstance(a, str) and a for a in status.authors)


async def test_a_failing_check_fails_the_gate_and_is_named(world):
    await world.ci_reports("v1.5.0", {"build": "success", "unit-tests": "failure"})
    status = await world.adapter.status(world.target, "v1.5.0")
    assert status.state == "failed"
    assert status.summary == "failing: unit-tests"


async def test_a_running_check_keeps_the_gate_pending_and_asks_again_later(world):
    await world.ci_reports("v1.5.0", {"build": None})
    status = await world.adapter.status(world.target, "v1.5.0")
    assert status.state == "pending"
    assert status.summary == "pending: build"
    assert status.retry_in_s > 0


async def test_health_is_none_when_reachable(world):
    assert await world.adapter.health() is None


@pytest.mark.slow
async def test_an_unreachable_github_is_a_retryable_error():
    async with github_world() as world:
        await world.make_unreachable()
        with pytest.raises(IntegrationError) as raised:
            await world.adapter.status(world.target, "v1.5.0")
        assert raised.value.retryable
        assert await world.adapter.health()
