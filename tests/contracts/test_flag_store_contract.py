"""What every FlagStore promises, checked against the simulated one and Unleash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.core.ports import IntegrationError
from tests.contracts.worlds.simulated import simulated_world
from tests.contracts.worlds.unleash import unleash_world


@pytest.fixture(params=["simulated", "unleash"])
async def world(request) -> AsyncIterator:
    if request.param == "simulated":
        async with simulated_world() as made:
            yield made
        return
    async with unleash_world(request.getfixturevalue("unleash_env")) as made:
        yield made


async def test_a_flag_nobody_rolled_out_is_off(world):
    assert await world.adapter.rollout(world.target, world.flag) is None


async def test_rollouts_widen_step_by_step(world):
    for percent in (10, 50, 100):
        await world.adapter.set_rollout(world.target, world.flag, percent)
        assert await world.adapter.rollout(world.target, world.flag) == percent


async def test_disable_turns_it_off_and_a_new_rollout_turns_it_on_again(world):
    await world.adapter.set_rollout(world.target, world.flag, 25)
    await world.adapter.disable(world.target, world.flag)
    assert await world.adapter.rollout(world.target, world.flag) is None
    await world.adapter.set_rollout(world.target, world.flag, 10)
    assert await world.adapter.rollout(world.target, world.flag) == 10


async def test_environments_are_independent(world):
    await world.adapter.set_rollout(world.target, world.flag, 25)
    other = replace(world.target, environment="staging")
    assert await world.adapter.rollout(other, world.flag) is None


async def test_setting_the_same_percentage_twice_is_harmless(world):
    await world.adapter.set_rollout(world.target, world.flag, 25)
    await world.adapter.set_rollout(world.target, world.flag, 25)
    assert await world.adapter.rollout(world.target, world.flag) == 25


async def test_health_is_none_when_reachable(world):
    assert await world.adapter.health() is None


async def test_an_unreachable_flag_service_is_a_retryable_error(unleash_env):
    async with unleash_world(unleash_env) as world:
        await world.make_unreachable()
        with pytest.raises(IntegrationError) as raised:
            await world.adapter.set_rollout(world.target, world.flag, 10)
        assert raised.value.retryable
        assert await world.adapter.health()
