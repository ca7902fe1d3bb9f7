"""Strategies -> plans of stages (bot/core/strategies.py), and the Stage record itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.catalog import (
    BlueGreenPlan,
    CanaryPlan,
    FeatureFlagPlan,
    RollingPlan,
    Service,
    StrategyName,
)
from bot.core.stages import Stage, StageKind, StageStatus
from bot.core.strategies import PlanError, StrategyChoice, plan_stages, progress_line


def service(**plans: object) -> Service:
    return Service(
        name="checkout",
        repository="acme/checkout",
        environments=("staging", "production"),
        **plans,  # type: ignore[arg-type]
    )


DEFAULT = service()


def shape(stages: tuple[Stage, ...]) -> list[tuple[str, str, int | None, int, bool]]:
    return [(s.kind.value, s.label, s.percent, s.duration_s, s.analysis) for s in stages]


def plan(name: StrategyName, svc: Service = DEFAULT, *, analysis: bool = True, **choice: object):
    return plan_stages(svc, StrategyChoice(name, **choice), analysis=analysis)  # type: ignore[arg-type]


def test_canary_default_plan():
    assert shape(plan(StrategyName.CANARY)) == [
        ("step", "10%", 10, 0, False),
        ("bake", "analysis", None, 300, True),
        ("step", "50%", 50, 0, False),
        ("bake", "analysis", None, 300, True),
        ("step", "100%", 100, 0, False),
    ]


def test_every_plan_is_numbered_in_order_and_pending():
    for name, extra in (
        (StrategyName.CANARY, {}),
        (StrategyName.BLUE_GREEN, {}),
        (StrategyName.ROLLING, {}),
        (StrategyName.FEATURE_FLAG, {"flag": "new-cart"}),
    ):
        stages = plan(name, **extra)
        assert [s.index for s in stages] == list(range(len(stages))), name
        assert all(s.status is StageStatus.PENDING for s in stages), name
        assert all(s.started_at is None and s.operation_id is None for s in stages), name
        assert stages[0].kind is StageKind.STEP, name


def test_canary_steps_and_actions_come_from_the_catalog():
    svc = service(canary=CanaryPlan(steps=(5, 25, 100), bake=60))
    stages = plan(StrategyName.CANARY, svc)
    assert [s.percent for s in stages if s.kind is StageKind.STEP] == [5, 25, 100]
    assert {s.action for s in stages} == {"weight", "bake"}
    assert {s.duration_s for s in stages if s.kind is StageKind.BAKE} == {60}


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (None, [10, 50, 100]),
        (1, [1, 10, 50, 100]),
        (10, [10, 50, 100]),
        (25, [25, 50, 100]),
        (50, [50, 100]),
        (75, [75, 100]),
        (100, [100]),
    ],
)
def test_canary_start_percent(start: int | None, expected: list[int]):
    stages = plan(StrategyName.CANARY, start_percent=start)
    assert [s.percent for s in stages if s.kind is StageKind.STEP] == expected
    assert [s.label for s in stages if s.kind is StageKind.STEP] == [f"{p}%" for p in expected]
    # a bake between steps, none after the last
    assert len(stages) == 2 * len(expected) - 1
    assert stages[-1].kind is StageKind.STEP


@pytest.mark.parametrize("start", [0, -5, 101, 1000])
@pytest.mark.parametrize("name", [StrategyName.CANARY, StrategyName.FEATURE_FLAG])
def test_invalid_start_percent(name: StrategyName, start: int):
    with pytest.raises(PlanError, match=f"{start}% is not a percentage between 1 and 100"):
        plan(name, start_percent=start, flag="new-cart")


def test_feature_flag_plan():
    stages = plan(StrategyName.FEATURE_FLAG, flag="new-cart", start_percent=30)
    assert shape(stages) == [
        ("step", "flag 30%", 30, 0, False),
        ("bake", "analysis", None, 300, True),
        ("step", "flag 50%", 50, 0, False),
        ("bake", "analysis", None, 300, True),
        ("step", "flag 100%", 100, 0, False),
    ]
    assert {s.action for s in stages if s.kind is StageKind.STEP} == {"flag"}


@pytest.mark.parametrize("flag", [None, ""])
def test_feature_flag_needs_a_name(flag: str | None):
    with pytest.raises(PlanError, match="needs a flag name"):
        plan(StrategyName.FEATURE_FLAG, flag=flag)


def test_rolling_plan_from_catalog_and_override():
    assert shape(plan(StrategyName.ROLLING, analysis=False)) == [
        ("step", "batch 1/3", 33, 0, False),
        ("bake", "bake", None, 120, False),
        ("step", "batch 2/3", 67, 0, False),
        ("bake", "bake", None, 120, False),
        ("step", "batch 3/3", 100, 0, False),
    ]
    four = plan(StrategyName.ROLLING, batches=4)
    assert [s.percent for s in four if s.kind is StageKind.STEP] == [25, 50, 75, 100]
    assert {s.action for s in four if s.kind is StageKind.STEP} == {"batch"}
    one = plan(StrategyName.ROLLING, batches=1)
    assert shape(one) == [("step", "batch 1/1", 100, 0, False)]


def test_rolling_percentages_rise_to_100_for_every_batch_count():
    for batches in range(1, 21):
        steps = [s for s in plan(StrategyName.ROLLING, batches=batches) if s.kind is StageKind.STEP]
        percents = [s.percent for s in steps]
        assert len(steps) == batches
        assert percents[-1] == 100
        assert percents == sorted(set(percents)), batches  # strictly rising
        assert all(0 < p <= 100 for p in percents)  # type: ignore[operator]


def test_blue_green_plan():
    svc = service(blue_green=BlueGreenPlan(verify=90, keep_blue=600))
    assert shape(plan(StrategyName.BLUE_GREEN, svc)) == [
        ("step", "green", 0, 0, False),
        ("bake", "verify", None, 90, True),
        ("step", "switch", 100, 0, False),
        ("bake", "keep blue", None, 600, False),  # keeping blue is never an analysis
    ]
    stages = plan(StrategyName.BLUE_GREEN, svc, analysis=False)
    assert [s.analysis for s in stages] == [False] * 4
    assert [s.action for s in stages] == ["deploy_green", "bake", "switch", "bake"]


def test_blue_green_ignores_percent_and_batches():
    assert plan(StrategyName.BLUE_GREEN, start_percent=10, batches=5) == plan(
        StrategyName.BLUE_GREEN
    )


@pytest.mark.parametrize(
    ("name", "plans", "extra", "steps"),
    [
        (StrategyName.CANARY, {"canary": CanaryPlan(bake=0)}, {}, 3),
        (StrategyName.ROLLING, {"rolling": RollingPlan(batches=4, bake=0)}, {}, 4),
        (
            StrategyName.FEATURE_FLAG,
            {"feature_flag": FeatureFlagPlan(bake=0)},
            {"flag": "new-cart"},
            3,
        ),
    ],
)
def test_bake_zero_means_no_bake_stages(name, plans, extra, steps):
    stages = plan(name, service(**plans), **extra)
    assert len(stages) == steps
    assert all(s.kind is StageKind.STEP for s in stages)
    assert [s.index for s in stages] == list(range(steps))


def test_analysis_flag_names_and_marks_the_bakes():
    with_analysis = [
        s for s in plan(StrategyName.CANARY, analysis=True) if s.kind is StageKind.BAKE
    ]
    without = [s for s in plan(StrategyName.CANARY, analysis=False) if s.kind is StageKind.BAKE]
    assert [(s.label, s.analysis) for s in with_analysis] == [("analysis", True)] * 2
    assert [(s.label, s.analysis) for s in without] == [("bake", False)] * 2
    assert {s.action for s in with_analysis + without} == {"bake"}


def test_progress_line_keeps_only_steps():
    stages = plan(StrategyName.CANARY)
    assert [s.label for s in progress_line(stages)] == ["10%", "50%", "100%"]


def test_stage_round_trips_through_a_dict():
    moment = datetime(2026, 11, 23, 9, 0, 30, 123456, tzinfo=UTC)
    original = Stage(
        index=3,
        kind=StageKind.BAKE,
        label="analysis",
        action="bake",
        duration_s=300,
        analysis=True,
        status=StageStatus.RUNNING,
        started_at=moment,
        operation_id="op-3",
        checks_done=2,
        checks_failed=1,
        detail="error_rate 0.001",
    )
    data = original.to_dict()
    assert data["kind"] == "bake" and data["status"] == "running"
    assert data["started_at"] == "2026-11-23T09:00:30.123456+00:00"
    assert Stage.from_dict(data) == original
    minimal = Stage.from_dict({"index": 0, "kind": "step", "label": "10%"})
    assert minimal.status is StageStatus.PENDING and minimal.started_at is None


def test_finished_statuses():
    finished = {s for s in StageStatus if Stage(0, StageKind.STEP, "x", status=s).finished}
    assert finished == {StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED}
