"""bot/core/dora.py as it was before the SQL aggregates, verbatim: the oracle (with its
quadratic `_restore`) that the rewritten core is held to in tests/core/test_dora.py."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.catalog import Bands
from bot.core.release import Release, State

FAILED_STATES = {State.FAILED, State.ROLLED_BACK}


BAND_NAMES = ("elite", "high", "medium", "low")


@dataclass(frozen=True)
class ReleaseFacts:
    """What the metrics need of one release."""

    id: int
    service: str
    state: State
    moved_traffic: bool
    finished_at: datetime | None
    committed_at: datetime | None = None

    @classmethod
    def of(cls, release: Release) -> ReleaseFacts:
        assert release.id is not None
        return cls(
            id=release.id,
            service=release.service,
            state=release.state,
            moved_traffic=release.touched_traffic,
            finished_at=release.finished_at,
            committed_at=release.committed_at,
        )


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None  # None: nothing to measure in the window
    unit: str
    band: str | None
    basis: str  # what it was computed from, in words


@dataclass(frozen=True)
class DoraReport:
    since: datetime
    until: datetime
    service: str | None
    metrics: tuple[Metric, ...] = field(default_factory=tuple)

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)


def compute(
    releases: Iterable[ReleaseFacts],
    *,
    since: datetime,
    until: datetime,
    service: str | None = None,
    bands: Bands | None = None,
) -> DoraReport:
    """`releases`: production releases, any order; those finished in [since, until] count."""
    bands = bands or Bands()
    unique = {r.id: r for r in releases if service is None or r.service == service}
    finished = sorted(
        (r for r in unique.values() if r.finished_at is not None),
        key=lambda r: (r.finished_at, r.id),
    )
    window = [r for r in finished if since <= r.finished_at <= until]  # type: ignore[operator]
    deployed = [r for r in window if r.moved_traffic]
    succeeded = [r for r in deployed if r.state is State.SUCCEEDED]
    failed = [r for r in deployed if r.state in FAILED_STATES]
    days = max((until - since).total_seconds() / 86400, 1e-9)
    return DoraReport(
        since,
        until,
        service,
        (
            _frequency(len(succeeded), days, bands),
            _lead_time(succeeded, bands),
            _failure_rate(len(failed), len(deployed), bands),
            _restore(failed, finished, bands),
        ),
    )


def _frequency(count: int, days: float, bands: Bands) -> Metric:
    per_day = count / days
    band = _band_at_least(per_day, bands.deploys_per_day)
    return Metric("deployment_frequency", per_day, "per day", band, f"{count} successful")


def _lead_time(succeeded: Sequence[ReleaseFacts], bands: Bands) -> Metric:
    hours = [
        (r.finished_at - r.committed_at).total_seconds() / 3600  # type: ignore[operator]
        for r in succeeded
        if r.committed_at is not None
    ]
    why_none = "no successful releases" if not succeeded else "no commit times reported"
    positive = [h for h in hours if h > 0]
    return _median_hours("lead_time", positive, bands.lead_time_hours, why_none)


def _failure_rate(failed: int, deployed: int, bands: Bands) -> Metric:
    if not deployed:
        return Metric("change_failure_rate", None, "ratio", None, "no production releases")
    rate = failed / deployed
    band = _band_at_most(rate, bands.change_failure_rate)
    return Metric("change_failure_rate", rate, "ratio", band, f"{failed} of {deployed}")


def _restore(
    failed: Sequence[ReleaseFacts], finished: Sequence[ReleaseFacts], bands: Bands
) -> Metric:
    hours = []
    for failure in failed:
        recovery = next(
            (
                r
                for r in finished
                if r.service == failure.service
                and r.state is State.SUCCEEDED
                and r.finished_at > failure.finished_at  # type: ignore[operator]
            ),
            None,
        )
        if recovery is not None:
            gap: timedelta = recovery.finished_at - failure.finished_at  # type: ignore[operator]
            hours.append(gap.total_seconds() / 3600)
    why_none = "no failures" if not failed else "not restored yet"
    return _median_hours("time_to_restore", hours, bands.restore_hours, why_none)


def _median_hours(
    name: str, hours: list[float], limits: tuple[float, float, float], why_none: str
) -> Metric:
    if not hours:
        return Metric(name, None, "hours", None, why_none)
    median = statistics.median(hours)
    return Metric(name, median, "hours", _band_at_most(median, limits), f"median of {len(hours)}")


def _band_at_least(value: float, limits: tuple[float, float, float]) -> str:
    for name, limit in zip(BAND_NAMES, limits, strict=False):
        if value >= limit:
            return name
    return "low"


def _band_at_most(value: float, limits: tuple[float, float, float]) -> str:
    for name, limit in zip(BAND_NAMES, limits, strict=False):
        if value <= limit:
            return name
    return "low"
