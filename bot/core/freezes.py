"""Freeze windows: is (service, environment) frozen at a moment, by which window, until when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.policy_config import FreezeWindow, parse_weekday_time
from bot.core.wording import slack_time


@dataclass(frozen=True)
class Freeze:
    """A freeze in force: from the catalog (`window`) or declared in chat (`by`)."""

    name: str
    until: datetime | None
    reason: str = ""
    by: str | None = None

    def describe(self) -> str:
        until = f" until {slack_time(self.until)}" if self.until else ""
        who = f" (declared by <@{self.by}>)" if self.by else ""
        why = f": {self.reason}" if self.reason else ""
        return f"the {self.name} freeze{until}{who}{why}"


def window_freeze(window: FreezeWindow, now: datetime) -> Freeze | None:
    """The window's freeze if `now` falls in it."""
    if window.weekly is None:
        assert window.start is not None and window.end is not None
        start, end = window.local(window.start), window.local(window.end)
        if start <= now < end:
            return Freeze(window.name, end.astimezone(UTC), window.reason)
        return None
    local_now = window.local(now)
    start_day, start_time = parse_weekday_time(window.weekly.start)
    end_day, end_time = parse_weekday_time(window.weekly.end)
    week = local_now.date() - timedelta(days=local_now.weekday())
    for weeks_back in (1, 0):
        first = week - timedelta(weeks=weeks_back)
        start = _at(window, first + timedelta(days=start_day), start_time)
        span_days = (end_day - start_day) % 7
        end = _at(window, start.date() + timedelta(days=span_days), end_time)
        if end <= start:
            end += timedelta(weeks=1)
        # Compare instants, not wall clocks: aware datetimes in one zone compare by wall time,
        # which is wrong in the hour a DST change repeats.
        if start.astimezone(UTC) <= now.astimezone(UTC) < end.astimezone(UTC):
            return Freeze(window.name, end.astimezone(UTC), window.reason)
    return None


def active_freeze(
    windows: Iterable[FreezeWindow], service: str, environment: str, now: datetime
) -> Freeze | None:
    """The first catalog window covering (service, environment) at `now`."""
    for window in windows:
        if window.covers(service, environment) and (found := window_freeze(window, now)):
            return found
    return None


def _at(window: FreezeWindow, day, at) -> datetime:
    return window.local(datetime.combine(day, at))
