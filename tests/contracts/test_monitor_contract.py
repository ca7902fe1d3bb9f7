"""What every Monitor promises, checked against the simulated one and Prometheus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.catalog import Metric
from bot.core.ports import AnalysisRequest
from tests.contracts.worlds.prometheus import WINDOW_S, prometheus_world
from tests.contracts.worlds.simulated import simulated_world

ERROR_RATE = Metric(name="error_rate", max=0.05)
UNMEASURED = Metric(name="queue_depth", max=10)  # nothing reports it


@pytest.fixture(params=["simulated", "prometheus"])
async def world(request) -> AsyncIterator:
    if request.param == "simulated":
        async with simulated_world() as made:
            yield made
        return
    env = request.getfixturevalue("prometheus_env")
    async with prometheus_world(env) as made:
        yield made


def analysis(world, *metrics: Metric) -> AnalysisRequest:
    return AnalysisRequest(world.target, 7, "10%", "v1.5.0", metrics, WINDOW_S)


async def test_a_value_within_the_threshold_passes_with_the_measured_value(world):
    await world.error_rate_is(0.01)
    result = await world.adapter.analyze(analysis(world, ERROR_RATE))
    assert result.passed
    assert result.summary == "error_rate 0.01 (max 0.05)"


async def test_a_value_over_the_threshold_fails_with_the_measured_value(world):
    await world.error_rate_is(0.2)
    result = await world.adapter.analyze(analysis(world, ERROR_RATE))
    assert not result.passed
    assert result.measurements[0].value == pytest.approx(0.2)


async def test_no_data_is_a_failure_never_a_pass(world):
    await world.error_rate_is(0.0)
    result = await world.adapter.analyze(analysis(world, ERROR_RATE, UNMEASURED))
    assert not result.passed
    unmeasured = result.measurements[1]
    assert unmeasured.value is None and not unmeasured.passed
    assert unmeasured.describe().startswith("queue_depth ")


async def test_health_is_none_when_reachable(world):
    assert await world.adapter.health() is None
