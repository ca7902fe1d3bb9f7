"""When a deploy should start, as people say it, and the instant it means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.commands.when import start_at, starts_a_time, take_when
from bot.core.commands.words import UsageError

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 16:00 in Berlin


def when(text: str, zone: str | None = "Europe/Berlin", now: datetime = NOW) -> datetime:
    words = text.split()
    assert starts_a_time(words, 0)
    said, end = take_when(words, 0)
    assert end == len(words), f"left over: {words[end:]}"
    return start_at(said, now, zone)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at 22:00", datetime(2026, 11, 28, 21, 0, tzinfo=UTC)),
        ("at 09:00", datetime(2026, 11, 29, 8, 0, tzinfo=UTC)),  # passed today: tomorrow's
        ("tonight", datetime(2026, 11, 28, 21, 0, tzinfo=UTC)),
        ("tomorrow 06:30", datetime(2026, 11, 29, 5, 30, tzinfo=UTC)),
        ("tomorrow at 06:30", datetime(2026, 11, 29, 5, 30, tzinfo=UTC)),
        ("in 2h", NOW + timedelta(hours=2)),
        ("in 1h30m", NOW + timedelta(minutes=90)),
        ("at 2026-12-01 22:00 Europe/Berlin", datetime(2026, 12, 1, 21, 0, tzinfo=UTC)),
        ("at 2026-12-01 22:00 UTC", datetime(2026, 12, 1, 22, 0, tzinfo=UTC)),
        ("at 22:00 America/New_York", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
    ],
)
def test_times_as_people_say_them(text: str, expected: datetime):
    assert when(text) == expected


def test_a_time_with_no_zone_is_in_the_requesters_zone_or_utc():
    assert when("at 22:00", zone="Asia/Tokyo") == datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
    assert when("at 22:00", zone=None) == datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def test_a_start_in_the_hour_the_clocks_skip_lands_past_the_gap():
    night = datetime(2027, 3, 27, 20, 0, tzinfo=UTC)  # Saturday evening in Berlin
    assert when("tomorrow 02:30", now=night) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_a_start_in_the_hour_the_clocks_repeat_is_the_first():
    night = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert when("tomorrow 02:30", now=night) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_in_followed_by_an_environment_is_no_time():
    assert not starts_a_time(["in", "production"], 0)
    assert not starts_a_time(["in"], 0)
    assert starts_a_time(["in", "45m"], 0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("at 2026-11-01 22:00", "has passed already"),
        ("at 2027-06-01 22:00", "schedule at most 60 days ahead"),
        ("at noon", "`at` needs a time after it"),
        ("at 25:00", "`25:00` is not a time of day"),
        ("tomorrow", "`tomorrow` needs a time after it"),
        ("at 2026-13-01 22:00", "`2026-13-01` is not a date"),
        ("at 22:00 Mars/Base", "`Mars/Base` is not a time zone"),
    ],
)
def test_times_that_cannot_be_met_say_why(text: str, problem: str):
    with pytest.raises(UsageError, match=problem):
        words = text.split()
        said, _ = take_when(words, 0)
        start_at(said, NOW, "Europe/Berlin")
