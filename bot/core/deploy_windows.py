"""Deploy windows: when an environment may be deployed to ("only then", where a freeze says
"never then"). A window opens on each of its days at `start`, local time in its zone, and closes
at `end`, the next day when `end` is not after `start` (22:00-06:00). A day is the day it opens.

Local times are wall clocks, so DST is the zone's business: a window opening at 02:30 on the
night the clocks skip that hour opens at 03:30 (the same instant as 02:30 before the change);
in the hour the clocks repeat, it opens at the first 02:30.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator

from bot.core.policy_config import WEEKDAYS, clock_time, time_zone_name

DAY_WORDS = {"daily": tuple(range(7)), "weekdays": tuple(range(5)), "weekends": (5, 6)}
SEARCH_DAYS = 8  # every weekly window opens within a week and a day of any moment


class DeployWindow(BaseModel):
    """`days`: "mon-thu", "mon,wed,fri", "weekdays", "weekends" or "daily"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[int, ...]
    start: time
    end: time
    timezone: str = "UTC"

    _zone = field_validator("timezone")(lambda zone: time_zone_name(zone))

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> tuple[int, ...]:
        if isinstance(value, str):
            return parse_days(value)
        return tuple(value)  # type: ignore[arg-type]

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        return clock_time(value) if isinstance(value, str) else value

    def describe(self) -> str:
        return f"{describe_days(self.days)} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"

    def openings(self, around: datetime) -> list[Opening]:
        """This window's openings from the day before `around` (local) for SEARCH_DAYS days."""
        zone = ZoneInfo(self.timezone)
        first = around.astimezone(zone).date() - timedelta(days=1)
        found = []
        for offset in range(SEARCH_DAYS + 1):
            day = first + timedelta(days=offset)
            if day.weekday() in self.days:
                opens = _instant(day, self.start, zone)
                end_day = day if self.end > self.start else day + timedelta(days=1)
                found.append(Opening(self, opens, _instant(end_day, self.end, zone)))
        return found


@dataclass(frozen=True)
class Opening:
    """One opening of a window, as instants (UTC)."""

    window: DeployWindow
    opens: datetime
    closes: datetime

    def holds(self, moment: datetime) -> bool:
        return self.opens <= moment < self.closes


class DeployWindows(BaseModel):
    """An environment's (or a service's) windows, and what a rollout under way does when the
    window it started in closes: `finish` it, or `pause` it until the next one opens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: tuple[DeployWindow, ...] = ()
    when_closed: Literal["finish", "pause"] = "finish"

    @property
    def always_open(self) -> bool:
        return not self.windows

    def open_at(self, moment: datetime) -> Opening | None:
        """The opening that holds `moment` (the one closing last), None when all are shut."""
        holding = [o for o in self._openings(moment) if o.holds(moment)]
        return max(holding, key=lambda o: o.closes, default=None)

    def next_opening(self, after: datetime) -> Opening | None:
        """The first opening that starts after `after`."""
        later = [o for o in self._openings(after) if o.opens > after]
        return min(later, key=lambda o: o.opens, default=None)

    def _openings(self, around: datetime) -> list[Opening]:
        return [o for window in self.windows for o in window.openings(around)]


@dataclass(frozen=True)
class ClosedWindow:
    """The windows were shut at a moment: which they are, and when the next one opens."""

    windows: DeployWindows
    next_opens: datetime | None

    def describe(self) -> str:
        listed = "; ".join(w.describe() for w in self.windows.windows)
        return f"only in its deploy windows ({listed})"


def closed_at(windows: DeployWindows, moment: datetime) -> ClosedWindow | None:
    """None when `windows` let a deploy start at `moment`."""
    if windows.always_open or windows.open_at(moment) is not None:
        return None
    opening = windows.next_opening(moment)
    return ClosedWindow(windows, opening.opens if opening else None)


def parse_days(text: str) -> tuple[int, ...]:
    """ "mon-thu" -> (0, 1, 2, 3); "fri-mon" wraps; "mon,wed"; "weekdays"; "daily"."""
    lowered = text.strip().lower()
    if lowered in DAY_WORDS:
        return DAY_WORDS[lowered]
    days: list[int] = []
    for part in lowered.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        start, end = _weekday(first, text), _weekday(last or first, text)
        days += [(start + i) % 7 for i in range((end - start) % 7 + 1)]
    return tuple(sorted(set(days)))


def describe_days(days: Sequence[int]) -> str:
    for word, listed in DAY_WORDS.items():
        if tuple(days) == listed:
            return word
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs
    )


def _weekday(word: str, said: str) -> int:
    if word[:3] not in WEEKDAYS or not word.isalpha():
        raise ValueError(f"{said!r}: write days like mon-thu, mon,wed,fri, weekdays or daily")
    return WEEKDAYS.index(word[:3])


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: in a repeated hour the first; in a skipped hour the offset from before the
    # change, which lands as far past the gap as the time was into it.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
