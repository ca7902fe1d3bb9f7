"""The four DORA metrics from the bot's own release history.

- Deployment frequency: production releases that moved traffic and succeeded, per day.
- Lead time for changes: from the oldest commit shipped (as CI reported it) to production
  success; the median, dropping non-positive durations (clock skew, not speed).
- Change failure rate: distinct production releases that failed or were rolled back, over
  distinct production releases that moved traffic. Counted by release, never by the rows of a
  join, so a release with several failed stages or audit rows counts once.
- Time to restore: from a failed or rolled-back production release to the next successful
  production release of the same service; the median.

Bands are the DORA report's by default and can be set in the catalog (they change by year).

`compute` is the specification, over release facts in memory. The database computes the same
`DoraTotals` with aggregates (bot/storage/dora_queries.py) and `report` turns either into the
metrics; tests/storage/test_dora_queries.py holds the two equal over random histories.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
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


@dataclass(frozen=True)
class Middle:
    """All a median needs of a list of hours: how many, and the middle one (odd count) or two
    (even count) of them in sorted order."""

    count: int
    middle: tuple[float, ...] = ()

    @classmethod
    def of(cls, hours: Iterable[float]) -> Middle:
        ordered = sorted(hours)
        n = len(ordered)
        return cls(n, tuple(ordered[(n - 1) // 2 : n // 2 + 1]))

    def median(self) -> float:
        """As statistics.median: the middle value, or the mean of the two middle ones."""
        if self.count % 2:
            return self.middle[0]
        return (self.middle[0] + self.middle[1]) / 2


@dataclass(frozen=True)
class DoraTotals:
    """What the four metrics are made of, over production releases finished in a window."""

    succeeded: int  # moved traffic and succeeded
    deployed: int  # moved traffic
    failed: int  # moved traffic and failed or rolled back
    lead_hours: Middle  # commit to success, positive durations only
    restore_hours: Middle  # failure to the service's next success, for those restored


def compute(
    releases: Iterable[ReleaseFacts],
    *,
    since: datetime,
    until: datetime,
    service: str | None = None,
    bands: Bands | None = None,
) -> DoraReport:
    """`releases`: production releases, any order; those finished in [since, until] count."""
    return report(
        totals(releases, since=since, until=until, service=service),
        since=since,
        until=until,
        service=service,
        bands=bands,
    )


def totals(
    releases: Iterable[ReleaseFacts],
    *,
    since: datetime,
    until: datetime,
    service: str | None = None,
) -> DoraTotals:
    unique = {r.id: r for r in releases if service is None or r.service == service}
    finished = sorted(
        (r for r in unique.values() if r.finished_at is not None),
        key=lambda r: (r.finished_at, r.id),
    )
    window = [r for r in finished if since <= r.finished_at <= until]  # type: ignore[operator]
    deployed = [r for r in window if r.moved_traffic]
    succeeded = [r for r in deployed if r.state is State.SUCCEEDED]
    failed = [r for r in deployed if r.state in FAILED_STATES]
    return DoraTotals(
        succeeded=len(succeeded),
        deployed=len(deployed),
        failed=len(failed),
        lead_hours=Middle.of(_lead_hours(succeeded)),
        restore_hours=Middle.of(_restore_hours(failed, finished)),
    )


def report(
    totals: DoraTotals,
    *,
    since: datetime,
    until: datetime,
    service: str | None = None,
    bands: Bands | None = None,
) -> DoraReport:
    bands = bands or Bands()
    days = max((until - since).total_seconds() / 86400, 1e-9)
    lead_none = "no successful releases" if not totals.succeeded else "no commit times reported"
    restore_none = "no failures" if not totals.failed else "not restored yet"
    return DoraReport(
        since,
        until,
        service,
        (
            _frequency(totals.succeeded, days, bands),
            _median_hours("lead_time", totals.lead_hours, bands.lead_time_hours, lead_none),
            _failure_rate(totals.failed, totals.deployed, bands),
            _median_hours(
                "time_to_restore", totals.restore_hours, bands.restore_hours, restore_none
            ),
        ),
    )


def weeks(facts: Iterable[ReleaseFacts], since: datetime, until: datetime) -> list[dict]:
    """Per week from `since` (the last one ends at `until`, inclusive): successful releases,
    and failed ones that moved traffic."""
    starts = week_starts(since, until)
    counts = [[0, 0] for _ in starts]
    for f in facts:
        if f.finished_at is None or not since <= f.finished_at <= until:
            continue
        index = min(int((f.finished_at - since) // WEEK), len(starts) - 1)
        counts[index][0] += f.state is State.SUCCEEDED
        counts[index][1] += f.moved_traffic and f.state in FAILED_STATES
    return weekly(starts, counts)


WEEK = timedelta(days=7)


def week_starts(since: datetime, until: datetime) -> list[datetime]:
    starts = []
    start = since
    while start < until:
        starts.append(start)
        start = min(start + WEEK, until)
    return starts


def weekly(starts: Sequence[datetime], counts: Sequence[Sequence[int]]) -> list[dict]:
    return [
        {"start": start.date().isoformat(), "succeeded": succeeded, "failed": failed}
        for start, (succeeded, failed) in zip(starts, counts, strict=True)
    ]


def _frequency(count: int, days: float, bands: Bands) -> Metric:
    per_day = count / days
    band = _band_at_least(per_day, bands.deploys_per_day)
    return Metric("deployment_frequency", per_day, "per day", band, f"{count} successful")


def _lead_hours(succeeded: Sequence[ReleaseFacts]) -> list[float]:
    hours = [
        (r.finished_at - r.committed_at).total_seconds() / 3600  # type: ignore[operator]
        for r in succeeded
        if r.committed_at is not None
    ]
    return [h for h in hours if h > 0]


def _failure_rate(failed: int, deployed: int, bands: Bands) -> Metric:
    if not deployed:
        return Metric("change_failure_rate", None, "ratio", None, "no production releases")
    rate = failed / deployed
    band = _band_at_most(rate, bands.change_failure_rate)
    return Metric("change_failure_rate", rate, "ratio", band, f"{failed} of {deployed}")


def _restore_hours(failed: Sequence[ReleaseFacts], finished: Sequence[ReleaseFacts]) -> list[float]:
    """From each failure to the first later success of its service (a binary search in the
    service's successes, in finishing order)."""
    successes: dict[str, list[datetime]] = defaultdict(list)
    for r in finished:  # in finishing order, so each list is sorted
        if r.state is State.SUCCEEDED:
            successes[r.service].append(r.finished_at)  # type: ignore[arg-type]
    hours = []
    for failure in failed:
        times = successes.get(failure.service, [])
        found = bisect_right(times, failure.finished_at)
        if found < len(times):
            gap: timedelta = times[found] - failure.finished_at  # type: ignore[operator]
            hours.append(gap.total_seconds() / 3600)
    return hours


def _median_hours(
    name: str, hours: Middle, limits: tuple[float, float, float], why_none: str
) -> Metric:
    if not hours.count:
        return Metric(name, None, "hours", None, why_none)
    median = hours.median()
    return Metric(name, median, "hours", _band_at_most(median, limits), f"median of {hours.count}")


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
