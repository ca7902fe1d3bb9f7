"""Runs what a due release is waiting for: asks the core for the next action, calls the port,
and hands the result back to the core through services.Progress."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta

from bot.core.catalog import Catalog, StrategyName
from bot.core.deploy_windows import closed_at
from bot.core.ports import (
    Adapters,
    AnalysisRequest,
    Claim,
    Clock,
    IntegrationError,
    OperationStatus,
    ReleaseTimers,
    RollbackRequest,
    StepRequest,
    StorageUnavailable,
    Target,
)
from bot.core.quality.gates import GATE_KINDS, Reports, Verdict, judge
from bot.core.release import (
    Action,
    AnalysisChecked,
    ApprovalTimer,
    BakeElapsed,
    CiChecked,
    Event,
    Release,
    RollbackFailed,
    RollbackProgress,
    RollbackStarted,
    RollbackSucceeded,
    ScheduleReached,
    StageFailed,
    StageProgress,
    StageStarted,
    StageStarting,
    StageSucceeded,
    State,
    VersionsResolved,
    WindowClosed,
    WindowOpened,
    next_action,
)
from bot.core.stages import Stage, StageKind, StageStatus
from bot.engine.backoff import backoff_s
from bot.services.progress import Progress

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_S, RETRY_CAP_S = 5, 300  # a backend's failure: 5 s, 10 s, 20 s, 40 s
STORAGE_PAUSE_S = 2


class StageRunner:
    def __init__(
        self,
        catalog: Catalog,
        adapters_for: Callable[[str], Adapters],
        progress: Progress,
        claims: ReleaseTimers,
        clock: Clock,
        batch: int = 50,
        concurrency: int = 10,
    ) -> None:
        self.batch = batch
        self.concurrency = concurrency
        self._catalog = catalog
        self._adapters_for = adapters_for
        self._progress = progress
        self._claims = claims
        self._clock = clock

    async def run_due(self) -> int:
        """Advance the releases that are due, `concurrency` at a time: each is its own claim,
        so one waiting on a slow backend does not hold up the others."""
        claims = await self._claims.claim_due(self.batch)
        limit = asyncio.Semaphore(self.concurrency)

        async def advance(claim: Claim) -> None:
            async with limit:
                await self._advance(claim)

        results = await asyncio.gather(*(advance(c) for c in claims), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result  # the database went away: the worker hands the claims back
        return len(claims)

    async def next_due_in(self) -> float | None:
        """Seconds until the next release is due (at least 0), None when none waits."""
        due = await self._claims.next_due()
        if due is None:
            return None
        return max(0.0, (due - self._clock.now()).total_seconds())

    async def _advance(self, claim: Claim) -> None:
        try:
            await self._run(claim)
        except StorageUnavailable as exc:  # not the release's fault: no attempt counted
            log.warning("release #%s: %s; trying again shortly", claim.id, exc)
            await self._claims.retry_at(
                claim, self._clock.now() + timedelta(seconds=STORAGE_PAUSE_S), attempt=False
            )
        except Exception:  # one broken release must not hold up the others
            log.exception("release #%s: the engine failed to advance it", claim.id)
            await self._retry_later(claim)

    async def _run(self, claim: Claim) -> None:
        release = claim.release or await self._progress.load(claim.id)
        action = next_action(release, self._clock.now()) if release else None
        if release is None or action is None:
            await self._claims.done(claim.id)
            return
        try:
            events = await self._perform(release, action)
        except StorageUnavailable:
            raise
        except Exception as exc:
            retryable = not isinstance(exc, IntegrationError) or exc.retryable
            if not isinstance(exc, IntegrationError):
                log.exception("release %s: %s failed unexpectedly", release.ref, action.value)
            if retryable and claim.attempts < MAX_ATTEMPTS:
                delay = await self._retry_later(claim)
                log.warning(
                    "release %s: %s failed (attempt %s), retrying in %ss: %s",
                    release.ref,
                    action.value,
                    claim.attempts,
                    delay,
                    exc,
                )
                return
            events = _give_up(release, action, _describe(exc))
        await self._progress.apply(release.id, *events)
        await self._claims.done(claim.id)

    async def _intend(self, release: Release, stage: Stage) -> bool:
        """Record that the step is starting before the backend is asked to start it, so a
        click in between sees the traffic as touched (and rolls it back)."""
        saved = await self._progress.apply(release.id, StageStarting(stage.index))
        current = saved.current_stage if saved else None
        return (
            saved is not None
            and saved.state in (State.RUNNING, State.PAUSED)
            and current is not None
            and current.index == stage.index
            and current.status is StageStatus.RUNNING
            and current.operation_id is None
        )

    async def _gates(
        self, release: Release, ports: Adapters, target: Target, version: str
    ) -> tuple[Verdict, ...]:
        """The catalog's quality gates judged on the version's reports (none: nothing)."""
        gates = self._catalog.gates(release.service, release.environment)
        if gates.none:
            return ()
        if ports.reports is None:
            reports = Reports(missing=dict.fromkeys(GATE_KINDS, "no reports backend"))
        else:
            reports = await ports.reports.reports(target, version)
        return tuple(judge(gates, reports))

    def _window(self, release: Release) -> WindowClosed | None:
        """A rollout about to take its next step after its deploy window shut (once per
        release; break-glass ignores windows)."""
        if release.window_noted or release.break_glass or not release.touched_traffic:
            return None
        windows = self._catalog.deploy_windows(release.service, release.environment)
        closed = closed_at(windows, self._clock.now())
        if closed is None:
            return None
        return WindowClosed(closed.next_opens, pause=windows.when_closed == "pause")

    async def _retry_later(self, claim: Claim) -> float:
        delay = backoff_s(claim.attempts, base=RETRY_BASE_S, cap=RETRY_CAP_S)
        await self._claims.retry_at(claim, self._clock.now() + timedelta(seconds=delay))
        return delay

    async def _perform(self, release: Release, action: Action) -> list[Event]:
        ports = self._adapters_for(release.service)
        service = self._catalog.services[release.service]
        target = Target(release.service, release.environment, service.repository)
        stage = release.current_stage
        match action:
            case Action.START_SCHEDULED:
                return [ScheduleReached()]
            case Action.WINDOW_OPENED:
                return [WindowOpened()]
            case Action.CHECK_CI:
                events: list[Event] = []
                version = release.version_to
                if not release.resolved or release.version_from is None:
                    version = version or await ports.ci.resolve_version(target, None)
                    running = release.version_from or await ports.deployer.current_version(target)
                    events.append(VersionsResolved(version, running))
                status = await ports.ci.status(
                    target, version, release.version_from or running_version(events)
                )
                gates = ()
                if status.state == "passed":
                    gates = await self._gates(release, ports, target, version)
                events.append(
                    CiChecked(
                        passed=status.state == "passed",
                        pending=status.state == "pending",
                        summary=status.summary,
                        retry_in_s=status.retry_in_s,
                        authors=self._catalog.slack_users(status.authors),
                        committed_at=status.committed_at,
                        gates=gates,
                    )
                )
                return events
            case Action.START_STAGE:
                assert stage is not None
                if stage.kind is StageKind.BAKE:
                    return [StageStarted(stage.index)]
                if stage.status is StageStatus.PENDING and (closing := self._window(release)):
                    return [closing]
                if stage.status is StageStatus.PENDING and not await self._intend(release, stage):
                    return []  # paused, aborted or rolled back meanwhile: start nothing
                if stage.action == "flag":
                    assert release.flag and stage.percent is not None
                    await ports.flags.set_rollout(target, release.flag, stage.percent)
                    return [
                        StageStarted(stage.index, f"flag-{release.flag}-{stage.percent}"),
                        StageSucceeded(stage.index),
                    ]
                operation = await ports.deployer.start_step(
                    StepRequest(
                        target=target,
                        release_id=release.id,
                        stage_index=stage.index,
                        label=stage.label,
                        action=stage.action,
                        percent=stage.percent,
                        version=release.version_to,
                        previous_version=release.version_from,
                        idempotency_key=f"release-{release.id}-stage-{stage.index}",
                    )
                )
                first = await ports.deployer.poll(target, operation)
                started = StageStarted(stage.index, operation, first.detail, first.poll_in_s)
                return [started, *_stage_outcome(stage.index, first, progress=False)]
            case Action.POLL_STAGE:
                assert stage is not None and stage.operation_id
                status = await ports.deployer.poll(target, stage.operation_id)
                return _stage_outcome(stage.index, status, progress=True)
            case Action.ANALYZE:
                assert stage is not None
                result = await ports.monitor.analyze(
                    AnalysisRequest(
                        target=target,
                        release_id=release.id,
                        stage_label=_step_before(release, stage.index),
                        version=release.version_to,
                        metrics=service.analysis.metrics,
                        window_s=release.analysis_interval_s,
                    )
                )
                return [
                    AnalysisChecked(
                        stage.index,
                        result.passed,
                        result.summary,
                        tuple(asdict(m) for m in result.measurements),
                    )
                ]
            case Action.APPROVAL_TIMER:
                return [ApprovalTimer()]
            case Action.FINISH_BAKE:
                assert stage is not None
                return [BakeElapsed(stage.index)]
            case Action.START_ROLLBACK:
                if release.strategy is StrategyName.FEATURE_FLAG and release.flag:
                    await ports.flags.disable(target, release.flag)
                    return [
                        RollbackStarted(f"flag-{release.flag}-off"),
                        RollbackSucceeded(f"flag {release.flag} disabled"),
                    ]
                started = release.rollback_started_at or self._clock.now()
                operation = await ports.deployer.start_rollback(
                    RollbackRequest(
                        target=target,
                        release_id=release.id,
                        to_version=release.version_from,
                        from_version=release.version_to,
                        idempotency_key=f"release-{release.id}-rollback-{int(started.timestamp())}",
                    )
                )
                first = await ports.deployer.poll(target, operation)
                started = RollbackStarted(operation, first.poll_in_s)
                return [started, *_rollback_outcome(first, progress=False)]
            case Action.POLL_ROLLBACK:
                assert release.rollback_operation
                status = await ports.deployer.poll(target, release.rollback_operation)
                return _rollback_outcome(status, progress=True)
        raise AssertionError(f"unhandled action {action}")


def running_version(events: list[Event]) -> str | None:
    resolved = [e for e in events if isinstance(e, VersionsResolved)]
    return resolved[-1].version_from if resolved else None


def _stage_outcome(index: int, status: OperationStatus, *, progress: bool) -> list[Event]:
    if status.state == "succeeded":
        return [StageSucceeded(index, status.detail)]
    if status.state == "failed":
        return [StageFailed(index, status.detail or "the backend reported a failure")]
    return [StageProgress(index, status.detail, status.poll_in_s)] if progress else []


def _rollback_outcome(status: OperationStatus, *, progress: bool) -> list[Event]:
    if status.state == "succeeded":
        return [RollbackSucceeded(status.detail)]
    if status.state == "failed":
        return [RollbackFailed(status.detail or "the backend reported a failure")]
    return [RollbackProgress(status.detail, status.poll_in_s)] if progress else []


def _describe(exc: Exception) -> str:
    if isinstance(exc, IntegrationError):
        return str(exc)
    return f"internal error ({type(exc).__name__}); see the bot's logs"


def _give_up(release: Release, action: Action, error: str) -> list[Event]:
    stage = release.current_stage
    match action:
        case Action.CHECK_CI:
            return [CiChecked(passed=False, summary=f"CI could not be checked: {error}")]
        case Action.ANALYZE:
            assert stage is not None
            return [AnalysisChecked(stage.index, False, f"monitor unreachable: {error}")]
        case Action.START_ROLLBACK | Action.POLL_ROLLBACK:
            return [RollbackFailed(error)]
        case _:
            assert stage is not None
            if stage.status.value == "pending":
                return [StageStarted(stage.index), StageFailed(stage.index, error)]
            return [StageFailed(stage.index, error)]


def _step_before(release: Release, index: int) -> str:
    steps = [s for s in release.stages[:index] if s.kind is StageKind.STEP]
    return steps[-1].label if steps else release.stages[index].label
