"""Freeze windows (bot/core/freezes.py): is (service, environment) frozen at a moment, by which
window, and until when. Moments are UTC, windows are read in their own time zone, so the same
"fri 16:00 to mon 08:00" in Europe/Berlin is 14:00-06:00 UTC in summer and 15:00-07:00 in
winter, and a weekend across a DST change is an hour longer or shorter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.freezes import Freeze, active_freeze, window_freeze
from bot.core.policy_config import FreezeWindow

# Times as Slack shows them (each reader's zone; the fallback is UTC).
MON_30_NOV_0700 = "<!date^1796022000^{date_short_pretty} {time}|Mon 30 Nov 07:00 UTC>"
MON_23_NOV_1200 = "<!date^1795435200^{date_short_pretty} {time}|Mon 23 Nov 12:00 UTC>"

BERLIN = ZoneInfo("Europe/Berlin")


def weekly(start: str, end: str, **more: Any) -> FreezeWindow:
    more.setdefault("timezone", "Europe/Berlin")
    more.setdefault("name", "weekend")
    return FreezeWindow.model_validate({"weekly": {"start": start, "end": end}, **more})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


WEEKEND = weekly("fri 16:00", "mon 08:00", reason="nobody around to watch it")


def frozen_until(window: FreezeWindow, moment: str) -> datetime | None:
    freeze = window_freeze(window, utc(moment))
    return freeze.until if freeze else None


# Weekly windows, in winter (CET, UTC+1): Fri 2026-11-27 16:00 CET = 15:00 UTC, Mon 2026-11-30
# 08:00 CET = 07:00 UTC.


@pytest.mark.parametrize(
    ("moment", "until"),
    [
        ("2026-11-27T14:59", None),  # Fri 15:59 Berlin
        ("2026-11-27T15:00", "2026-11-30T07:00"),  # Fri 16:00 Berlin: starts, inclusive
        ("2026-11-28T12:00", "2026-11-30T07:00"),  # Saturday
        ("2026-11-29T22:59", "2026-11-30T07:00"),  # Sun 23:59 Berlin, the last day of the week
        ("2026-11-29T23:00", "2026-11-30T07:00"),  # Mon 00:00 Berlin: a new week, still frozen
        ("2026-11-30T06:59", "2026-11-30T07:00"),  # Mon 07:59 Berlin
        ("2026-11-30T07:00", None),  # Mon 08:00 Berlin: over, exclusive
        ("2026-11-25T12:00", None),  # Wednesday
    ],
)
def test_weekend_freeze_in_winter(moment: str, until: str | None):
    assert frozen_until(WEEKEND, moment) == (utc(until) if until else None)


def test_weekend_freeze_in_summer_is_an_hour_earlier_in_utc():
    assert frozen_until(WEEKEND, "2026-07-03T13:59") is None  # Fri 15:59 CEST
    assert frozen_until(WEEKEND, "2026-07-03T14:00") == utc("2026-07-06T06:00")
    assert frozen_until(WEEKEND, "2026-07-06T05:59") == utc("2026-07-06T06:00")
    assert frozen_until(WEEKEND, "2026-07-06T06:00") is None


def _frozen_minutes(window: FreezeWindow, start: str, days: int) -> int:
    """Minutes frozen over `days` from `start`, checking that every freeze ends in the future."""
    moment, minutes = utc(start), 0
    for _ in range(days * 24 * 60):
        freeze = window_freeze(window, moment)
        if freeze:
            assert freeze.until is not None and freeze.until > moment, (moment, freeze)
            minutes += 1
        moment += timedelta(minutes=1)
    return minutes


def test_a_weekend_across_the_autumn_dst_change_is_an_hour_longer():
    # Clocks go back on Sun 2026-10-25 at 03:00 CEST: Fri 16:00 CEST (14:00 UTC) to
    # Mon 08:00 CET (07:00 UTC) is 65 hours.
    assert frozen_until(WEEKEND, "2026-10-23T13:59") is None
    assert frozen_until(WEEKEND, "2026-10-23T14:00") == utc("2026-10-26T07:00")
    assert frozen_until(WEEKEND, "2026-10-25T00:30") == utc("2026-10-26T07:00")  # 02:30 CEST
    assert frozen_until(WEEKEND, "2026-10-25T01:30") == utc("2026-10-26T07:00")  # 02:30 CET
    assert frozen_until(WEEKEND, "2026-10-26T07:00") is None
    assert _frozen_minutes(WEEKEND, "2026-10-22T00:00", 6) == 65 * 60


def test_a_weekend_across_the_spring_dst_change_is_an_hour_shorter():
    # Clocks go forward on Sun 2026-03-29 at 02:00 CET: Fri 16:00 CET (15:00 UTC) to
    # Mon 08:00 CEST (06:00 UTC) is 63 hours.
    assert frozen_until(WEEKEND, "2026-03-27T14:59") is None
    assert frozen_until(WEEKEND, "2026-03-27T15:00") == utc("2026-03-30T06:00")
    assert frozen_until(WEEKEND, "2026-03-30T06:00") is None
    assert _frozen_minutes(WEEKEND, "2026-03-26T00:00", 6) == 63 * 60


def test_a_window_ending_in_the_repeated_hour_ends_the_first_time_round():
    """02:30 happens twice on 2026-10-25 in Berlin. The window ends at the first 02:30
    (00:30 UTC) and is not frozen again at the second; it never says "until" a past moment."""
    night = weekly("sun 01:00", "sun 02:30", name="maintenance")
    assert frozen_until(night, "2026-10-24T23:00") == utc("2026-10-25T00:30")  # 01:00 CEST
    assert frozen_until(night, "2026-10-25T00:29") == utc("2026-10-25T00:30")
    assert frozen_until(night, "2026-10-25T00:30") is None
    assert frozen_until(night, "2026-10-25T01:10") is None  # 02:10 CET, the second time round
    assert _frozen_minutes(night, "2026-10-24T12:00", 1) == 90


def test_overnight_and_week_crossing_windows():
    overnight = weekly("wed 22:00", "thu 02:00", name="batch", timezone="UTC")
    assert frozen_until(overnight, "2026-11-25T21:59") is None
    assert frozen_until(overnight, "2026-11-26T01:00") == utc("2026-11-26T02:00")
    assert frozen_until(overnight, "2026-11-26T02:00") is None

    sunday_night = weekly("sun 20:00", "mon 06:00", name="sunday", timezone="UTC")
    assert frozen_until(sunday_night, "2026-11-29T20:00") == utc("2026-11-30T06:00")
    assert frozen_until(sunday_night, "2026-11-30T05:59") == utc("2026-11-30T06:00")  # Monday
    assert frozen_until(sunday_night, "2026-11-30T06:00") is None

    long_weekend = weekly("sat 00:00", "tue 00:00", name="long", timezone="UTC")
    assert frozen_until(long_weekend, "2026-11-30T12:00") == utc("2026-12-01T00:00")
    assert frozen_until(long_weekend, "2026-12-01T00:00") is None


def test_a_window_that_ends_before_its_start_time_on_the_same_day_spans_the_week():
    almost_always = weekly("mon 08:00", "mon 07:00", name="change board", timezone="UTC")
    assert frozen_until(almost_always, "2026-11-30T07:30") is None  # Mon, the one free hour
    assert frozen_until(almost_always, "2026-11-30T08:00") == utc("2026-12-07T07:00")
    assert frozen_until(almost_always, "2026-12-07T06:59") == utc("2026-12-07T07:00")


def test_the_moments_own_zone_does_not_matter():
    moment = utc("2026-11-28T12:00")
    for zone in ("UTC", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"):
        freeze = window_freeze(WEEKEND, moment.astimezone(ZoneInfo(zone)))
        assert freeze is not None and freeze.until == utc("2026-11-30T07:00"), zone
        assert freeze.until.tzinfo is UTC


# One-off windows.

YEAR_END = FreezeWindow.model_validate(
    {
        "name": "year-end",
        "timezone": "Europe/Berlin",
        "start": "2026-12-23T00:00:00",
        "end": "2027-01-04T08:00:00",
        "reason": "holidays",
    }
)


def test_one_off_window_in_its_zone():
    assert frozen_until(YEAR_END, "2026-12-22T22:59") is None  # 23:59 Berlin
    assert frozen_until(YEAR_END, "2026-12-22T23:00") == utc("2027-01-04T07:00")
    assert frozen_until(YEAR_END, "2027-01-01T00:00") == utc("2027-01-04T07:00")
    assert frozen_until(YEAR_END, "2027-01-04T06:59") == utc("2027-01-04T07:00")
    assert frozen_until(YEAR_END, "2027-01-04T07:00") is None
    freeze = window_freeze(YEAR_END, utc("2026-12-24T12:00"))
    assert freeze == Freeze("year-end", utc("2027-01-04T07:00"), "holidays")


def test_one_off_window_with_aware_times():
    launch = FreezeWindow(
        name="launch",
        timezone="America/New_York",
        start=datetime(2026, 11, 26, 14, 0, tzinfo=UTC),
        end=datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
    )
    assert frozen_until(launch, "2026-11-26T13:59") is None
    assert frozen_until(launch, "2026-11-26T14:00") == utc("2026-11-27T14:00")
    assert frozen_until(launch, "2026-11-27T14:00") is None


# Scope and the first window that applies.


def test_active_freeze_by_service_and_environment():
    prod_only = weekly("fri 16:00", "mon 08:00", environments=["production"])
    payments = FreezeWindow.model_validate(
        {
            "name": "payments audit",
            "services": ["payments"],
            "start": "2026-11-28T00:00:00",
            "end": "2026-11-28T12:00:00",
        }
    )
    saturday = utc("2026-11-28T06:00")
    windows = [payments, prod_only]
    assert active_freeze(windows, "checkout", "staging", saturday) is None
    found = active_freeze(windows, "checkout", "production", saturday)
    assert found is not None and found.name == "weekend"
    # Both cover payments in production: the first listed answers.
    found = active_freeze(windows, "payments", "production", saturday)
    assert found is not None and found.name == "payments audit"
    found = active_freeze(windows, "payments", "staging", saturday)
    assert found is not None and found.until == utc("2026-11-28T12:00")
    assert active_freeze(windows, "payments", "staging", utc("2026-11-28T12:00")) is None
    assert active_freeze([], "checkout", "production", saturday) is None


def test_a_window_for_both_a_service_and_an_environment_needs_both():
    narrow = weekly("fri 16:00", "mon 08:00", services=["checkout"], environments=["production"])
    saturday = utc("2026-11-28T06:00")
    assert active_freeze([narrow], "checkout", "production", saturday) is not None
    assert active_freeze([narrow], "checkout", "staging", saturday) is None
    assert active_freeze([narrow], "payments", "production", saturday) is None


# What people read.


@pytest.mark.parametrize(
    ("freeze", "text"),
    [
        (
            Freeze("weekend", utc("2026-11-30T07:00"), "nobody around to watch it"),
            "the weekend freeze until " + MON_30_NOV_0700 + ": nobody around to watch it",
        ),
        (
            Freeze("weekend", utc("2026-11-30T07:00")),
            "the weekend freeze until " + MON_30_NOV_0700,
        ),
        (
            Freeze("stop-the-line", None, "payments outage", by="U0CAROL"),
            "the stop-the-line freeze (declared by <@U0CAROL>): payments outage",
        ),
        (
            Freeze("stop-the-line", utc("2026-11-23T12:00"), by="U0CAROL"),
            "the stop-the-line freeze until " + MON_23_NOV_1200 + " (declared by <@U0CAROL>)",
        ),
    ],
)
def test_freeze_describe(freeze: Freeze, text: str):
    assert freeze.describe() == text


def test_a_catalog_window_describes_itself_through_its_freeze():
    freeze = window_freeze(WEEKEND, utc("2026-11-28T12:00"))
    assert freeze is not None and freeze.by is None
    assert freeze.describe() == (
        "the weekend freeze until " + MON_30_NOV_0700 + ": nobody around to watch it"
    )
