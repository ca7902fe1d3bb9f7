"""When a deploy should start, as people say it: `at 22:00`, `tonight`, `tomorrow 06:30`,
`in 2h`, `at 2026-12-01 22:00 Europe/Berlin`. A time with no zone is in the requester's own
(Slack's `tz`); `start_at` turns what was said into an instant."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.commands.words import UsageError
from bot.core.durations import format_duration, parse_duration
from bot.core.policy_config import clock_time, time_zone_name

SCHEDULE_EXAMPLE = "/deploy checkout v1.4.3 to production at 22:00"
TONIGHT = time(22, 0)
MAX_AHEAD = timedelta(days=60)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
CLOCK = re.compile(r"^\d{1,2}:\d{2}$", re.ASCII)
DURATION = re.compile(r"^(\d+[smhd])+$", re.ASCII)
TIME_WORDS = ("at", "tonight", "tomorrow", "in")


@dataclass(frozen=True)
class When:
    """A start as said: `after` a while, or a wall-clock `clock` on a day (`day`, or today /
    tomorrow by `days_ahead`), in `zone` (None: the requester's)."""

    said: str
    after: timedelta | None = None
    clock: time | None = None
    day: date | None = None
    days_ahead: int = 0
    zone: str | None = None
    rolls_over: bool = False  # `at 22:00` said at 23:00 means tomorrow's


def starts_a_time(words: list[str], i: int) -> bool:
    """Whether the words from `i` say when (`in production` names an environment instead)."""
    word = words[i].lower()
    if word == "in":
        return i + 1 < len(words) and DURATION.match(words[i + 1].lower()) is not None
    return word in TIME_WORDS


def take_when(words: list[str], i: int) -> tuple[When, int]:
    """The time said from `words[i]`, and the index after it."""
    word = words[i].lower()
    if word == "in":
        seconds = parse_duration(words[i + 1])
        return When(f"in {words[i + 1]}", after=timedelta(seconds=seconds)), i + 2
    if word == "tonight":
        zone, end = _zone(words, i + 1)
        return When(_said(words, i, end), clock=TONIGHT, zone=zone), end
    if word == "tomorrow":
        j = i + 1
        if j < len(words) and words[j].lower() == "at":
            j += 1
        if j >= len(words) or not CLOCK.match(words[j]):
            raise UsageError(
                "`tomorrow` needs a time after it, like `tomorrow 06:30`.", SCHEDULE_EXAMPLE
            )
        zone, end = _zone(words, j + 1)
        return When(_said(words, i, end), clock=_clock(words[j]), days_ahead=1, zone=zone), end
    j = i + 1  # `at`
    day = None
    if j < len(words) and DATE.match(words[j]):
        day = _date(words[j])
        j += 1
    if j >= len(words) or not CLOCK.match(words[j]):
        raise UsageError(
            "`at` needs a time after it, like `at 22:00` or `at 2026-12-01 22:00 Europe/Berlin`.",
            SCHEDULE_EXAMPLE,
        )
    at = _clock(words[j])
    zone, end = _zone(words, j + 1)
    return When(_said(words, i, end), clock=at, day=day, zone=zone, rolls_over=day is None), end


def start_at(when: When, now: datetime, requester_zone: str | None) -> datetime:
    """The instant (UTC) `when` means, said at `now`; a time in the past, or more than
    MAX_AHEAD away, is a usage error."""
    if when.after is not None:
        moment = now + when.after
    else:
        assert when.clock is not None
        zone = ZoneInfo(when.zone or requester_zone or "UTC")
        local_now = now.astimezone(zone)
        day = when.day or local_now.date() + timedelta(days=when.days_ahead)
        moment = datetime.combine(day, when.clock, tzinfo=zone).astimezone(UTC)
        if when.rolls_over and moment <= now:
            moment = datetime.combine(day + timedelta(days=1), when.clock, tzinfo=zone).astimezone(
                UTC
            )
    if moment <= now:
        raise UsageError(
            f"`{when.said}` has passed already; give a time still to come.", SCHEDULE_EXAMPLE
        )
    if moment - now > MAX_AHEAD:
        raise UsageError(
            f"`{when.said}` is {format_duration((moment - now).total_seconds())} away; schedule "
            f"at most {MAX_AHEAD.days} days ahead.",
            SCHEDULE_EXAMPLE,
        )
    return moment


def _zone(words: list[str], i: int) -> tuple[str | None, int]:
    if i < len(words) and ("/" in words[i] or words[i].upper() == "UTC"):
        name = "UTC" if words[i].upper() == "UTC" else words[i]
        try:
            return time_zone_name(name), i + 1
        except ValueError:
            raise UsageError(
                f"`{words[i]}` is not a time zone; name one like Europe/Berlin or UTC.",
                SCHEDULE_EXAMPLE,
            ) from None
    return None, i


def _clock(word: str) -> time:
    try:
        return clock_time(word)
    except ValueError:
        raise UsageError(
            f"`{word}` is not a time of day; write it like 22:00.", SCHEDULE_EXAMPLE
        ) from None


def _date(word: str) -> date:
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise UsageError(
            f"`{word}` is not a date; write it like 2026-12-01.", SCHEDULE_EXAMPLE
        ) from None


def _said(words: list[str], start: int, end: int) -> str:
    return " ".join(words[start:end])
