"""Strategies turn a deploy request into a plan: the ordered stages a release walks through."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.catalog import Service, StrategyName
from bot.core.stages import Stage, StageKind


@dataclass(frozen=True)
class StrategyChoice:
    """What the person asked for; anything left None comes from the catalog."""

    name: StrategyName
    start_percent: int | None = None
    flag: str | None = None
    batches: int | None = None


class PlanError(ValueError):
    pass


def plan_stages(service: Service, choice: StrategyChoice, *, analysis: bool) -> tuple[Stage, ...]:
    """The stages for `choice` on `service`. `analysis` says whether bake stages ask the Monitor."""
    match choice.name:
        case StrategyName.CANARY:
            steps = _steps_from(service.canary.steps, choice.start_percent)
            return _with_bakes(
                [Stage.step("weight", f"{pct}%", pct) for pct in steps],
                service.canary.bake,
                analysis,
            )
        case StrategyName.FEATURE_FLAG:
            if not choice.flag:
                raise PlanError("the feature-flag strategy needs a flag name")
            steps = _steps_from(service.feature_flag.steps, choice.start_percent)
            return _with_bakes(
                [Stage.step("flag", f"flag {pct}%", pct) for pct in steps],
                service.feature_flag.bake,
                analysis,
            )
        case StrategyName.ROLLING:
            batches = choice.batches or service.rolling.batches
            steps = [
                Stage.step("batch", f"batch {n}/{batches}", round(100 * n / batches))
                for n in range(1, batches + 1)
            ]
            return _with_bakes(steps, service.rolling.bake, analysis)
        case StrategyName.BLUE_GREEN:
            plan = service.blue_green
            stages = [
                Stage.step("deploy_green", "green", 0),
                Stage.bake("verify", plan.verify, analysis),
                Stage.step("switch", "switch", 100),
                Stage.bake("keep blue", plan.keep_blue, analysis=False),
            ]
            return tuple(stage.numbered(i) for i, stage in enumerate(stages))
    raise PlanError(f"unknown strategy {choice.name!r}")


def _steps_from(catalog_steps: tuple[int, ...], start: int | None) -> list[int]:
    if start is None:
        return list(catalog_steps)
    if not 0 < start <= 100:
        raise PlanError(f"{start}% is not a percentage between 1 and 100")
    return [start] + [pct for pct in catalog_steps if pct > start]


def _with_bakes(steps: list[Stage], bake_seconds: int, analysis: bool) -> tuple[Stage, ...]:
    """A bake (and analysis) after every step but the last, which completes the rollout."""
    stages: list[Stage] = []
    for position, step in enumerate(steps):
        stages.append(step)
        if position < len(steps) - 1 and bake_seconds > 0:
            stages.append(Stage.bake("analysis" if analysis else "bake", bake_seconds, analysis))
    return tuple(stage.numbered(i) for i, stage in enumerate(stages))


def progress_line(stages: tuple[Stage, ...]) -> list[Stage]:
    """The stages worth showing on one line: steps, with bakes folded into the following arrow."""
    return [stage for stage in stages if stage.kind is StageKind.STEP]
