"""What every Deployer promises, checked against the simulated one and each real adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.ports import IntegrationError, OperationStatus, RollbackRequest, StepRequest
from tests.contracts.worlds.argo import argo_world
from tests.contracts.worlds.github import github_actions_world
from tests.contracts.worlds.simulated import simulated_world
from tests.contracts.worlds.webhook import webhook_world

WORLDS = {
    "simulated": simulated_world,
    "argo-rollouts": argo_world,
    "webhook": webhook_world,
    "github-actions": github_actions_world,
}
NETWORKED = [name for name in WORLDS if name != "simulated"]


@pytest.fixture(params=list(WORLDS))
async def world(request) -> AsyncIterator:
    async with WORLDS[request.param]() as made:
        await made.set_running("v1.4.2")
        yield made


def step(world, label: str = "10%", percent: int = 10, key: str = "release-7-stage-0"):
    return StepRequest(
        target=world.target,
        release_id=7,
        stage_index=0,
        label=label,
        action="weight",
        percent=percent,
        version="v1.5.0",
        previous_version="v1.4.2",
        idempotency_key=key,
    )


async def finished(world, operation: str) -> OperationStatus:
    await world.finish_operations()
    return await world.adapter.poll(world.target, operation)


async def test_reports_the_running_version(world):
    assert await world.adapter.current_version(world.target) == "v1.4.2"


async def test_the_same_idempotency_key_is_the_same_operation(world):
    first = await world.adapter.start_step(step(world))
    again = await world.adapter.start_step(step(world))
    assert first == again


async def test_a_step_runs_then_succeeds(world):
    operation = await world.adapter.start_step(step(world))
    assert (await world.adapter.poll(world.target, operation)).state in ("running", "succeeded")
    assert (await finished(world, operation)).state == "succeeded"


async def test_a_failing_step_says_why(world):
    await world.fail_next_step()
    operation = await world.adapter.start_step(step(world))
    status = await finished(world, operation)
    assert status.state == "failed"
    assert status.detail.strip()


async def test_a_full_rollout_then_a_rollback_restores_the_previous_version(world):
    for index, percent in enumerate((10, 100)):
        operation = await world.adapter.start_step(
            step(world, f"{percent}%", percent, key=f"release-7-stage-{index}")
        )
        assert (await finished(world, operation)).state == "succeeded"
    assert await world.adapter.current_version(world.target) == "v1.5.0"
    rollback = await world.adapter.start_rollback(
        RollbackRequest(world.target, 7, "v1.4.2", "v1.5.0", "release-7-rollback-1")
    )
    assert (await finished(world, rollback)).state == "succeeded"
    assert await world.adapter.current_version(world.target) == "v1.4.2"


async def test_health_is_none_when_reachable(world):
    assert await world.adapter.health() is None


@pytest.mark.parametrize("name", NETWORKED)
async def test_an_unreachable_backend_is_a_retryable_error(name):
    async with WORLDS[name]() as world:
        await world.make_unreachable()
        with pytest.raises(IntegrationError) as raised:
            await world.adapter.start_step(step(world))
        assert raised.value.retryable
        assert await world.adapter.health()
