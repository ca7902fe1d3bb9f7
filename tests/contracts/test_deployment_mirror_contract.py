"""What every DeploymentMirror promises, checked against the simulated one and GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.ports import DeploymentRecord
from tests.contracts.worlds import github as github_worlds
from tests.contracts.worlds import simulated as simulated_worlds

WORLDS = {
    "simulated": (simulated_worlds.simulated_world, simulated_worlds.recorded_states),
    "github": (github_worlds.github_world, github_worlds.recorded_states),
}


@pytest.fixture(params=list(WORLDS))
async def world(request) -> AsyncIterator:
    make, states = WORLDS[request.param]
    async with make() as made:
        made.states = lambda release_id: states(made, release_id)
        yield made


def record(world, state: str, release_id: int = 41) -> DeploymentRecord:
    return DeploymentRecord(world.target, release_id, "v1.5.0", state, f"releasebot #41: {state}")


async def test_each_state_is_recorded_once_in_order(world):
    for state in ("queued", "in_progress", "in_progress", "success"):
        await world.adapter.record(record(world, state))
    assert world.states(41) == ["queued", "in_progress", "success"]


async def test_a_repeated_record_after_a_lost_answer_changes_nothing(world):
    await world.adapter.record(record(world, "in_progress"))
    await world.adapter.record(record(world, "in_progress"))
    assert world.states(41) == ["in_progress"]


async def test_releases_are_kept_apart(world):
    await world.adapter.record(record(world, "success", release_id=41))
    await world.adapter.record(record(world, "failure", release_id=42))
    assert world.states(41) == ["success"]
    assert world.states(42) == ["failure"]
