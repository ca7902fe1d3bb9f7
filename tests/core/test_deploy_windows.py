"""Deploy windows: open or shut at a moment, the next opening, days and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.core.deploy_windows import DeployWindow, DeployWindows, describe_days, parse_days

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


NIGHTS = DeployWindows(
    windows=(DeployWindow(days="mon-thu", start="22:00", end="06:00", timezone="Europe/Berlin"),)
)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (berlin(2026, 11, 30, 23, 0), True),  # Monday night
        (berlin(2026, 12, 4, 1, 0), True),  # Thursday's window, past midnight
        (berlin(2026, 12, 4, 6, 0), False),  # it closes at 06:00
        (berlin(2026, 12, 4, 23, 0), False),  # Friday night: no window
        (berlin(2026, 11, 30, 21, 59), False),
    ],
)
def test_a_window_is_open_from_start_to_end_local_time(moment: datetime, open_: bool):
    assert (NIGHTS.open_at(moment) is not None) is open_


def test_the_next_opening_skips_the_days_without_a_window():
    opening = NIGHTS.next_opening(berlin(2026, 12, 4, 23, 0))  # Friday
    assert opening is not None
    assert opening.opens == berlin(2026, 12, 7, 22, 0).astimezone(UTC)  # Monday
    assert opening.closes == berlin(2026, 12, 8, 6, 0).astimezone(UTC)


def test_an_open_window_says_when_it_closes():
    opening = NIGHTS.open_at(berlin(2026, 12, 1, 23, 30))
    assert opening is not None and opening.closes == berlin(2026, 12, 2, 6, 0).astimezone(UTC)


def test_no_windows_is_always_open():
    assert DeployWindows().always_open
    assert DeployWindows().next_opening(datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_on_the_night_the_clocks_skip_an_hour_02_30_opens_at_03_30():
    skip = DeployWindows(
        windows=(DeployWindow(days="daily", start="02:30", end="04:00", timezone="Europe/Berlin"),)
    )
    opening = skip.next_opening(berlin(2027, 3, 28, 0, 0))
    assert opening is not None
    assert opening.opens == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert opening.closes == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)  # 04:00 CEST
    assert skip.open_at(datetime(2027, 3, 28, 1, 45, tzinfo=UTC)) is not None


def test_on_the_night_the_clocks_repeat_an_hour_02_30_is_the_first_one():
    repeat = DeployWindows(
        windows=(DeployWindow(days="sun", start="02:30", end="05:00", timezone="Europe/Berlin"),)
    )
    opening = repeat.next_opening(berlin(2026, 10, 25, 0, 0))
    assert opening is not None
    assert opening.opens == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert opening.closes == datetime(2026, 10, 25, 4, 0, tzinfo=UTC)  # 05:00 CET


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-thu", (0, 1, 2, 3)),
        ("fri-mon", (0, 4, 5, 6)),
        ("mon,wed,fri", (0, 2, 4)),
        ("weekdays", (0, 1, 2, 3, 4)),
        ("Daily", (0, 1, 2, 3, 4, 5, 6)),
        ("tuesday", (1,)),
    ],
)
def test_days_are_written_as_people_write_them(text: str, days: tuple[int, ...]):
    assert parse_days(text) == days


def test_days_read_back_as_written():
    assert describe_days(parse_days("mon-thu")) == "mon-thu"
    assert describe_days(parse_days("mon,wed-fri")) == "mon,wed-fri"
    assert describe_days(parse_days("weekdays")) == "weekdays"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"days": "someday", "start": "22:00", "end": "06:00"}, "write days like mon-thu"),
        ({"days": "mon", "start": "25:00", "end": "06:00"}, "the time must look like 16:00"),
        ({"days": "mon", "start": "22:00", "end": "6"}, "the time must look like 16:00"),
        ({"days": "mon", "start": "22:00", "end": "06:00", "timezone": "Mars/Base"}, "time zone"),
    ],
)
def test_a_window_that_cannot_work_says_why(data: dict, problem: str):
    with pytest.raises(ValidationError, match=problem):
        DeployWindow.model_validate(data)


def test_a_window_describes_itself():
    assert NIGHTS.windows[0].describe() == "mon-thu 22:00-06:00 Europe/Berlin"
    assert NIGHTS.windows[0].start == time(22, 0)


def test_a_shut_window_says_which_windows_and_when_the_next_opens():
    from bot.core.deploy_windows import closed_at

    friday = berlin(2026, 12, 4, 23, 0)
    closed = closed_at(NIGHTS, friday)
    assert closed is not None and closed.next_opens == berlin(2026, 12, 7, 22, 0).astimezone(UTC)
    assert closed.describe() == "only in its deploy windows (mon-thu 22:00-06:00 Europe/Berlin)"
    assert closed_at(NIGHTS, berlin(2026, 12, 7, 22, 30)) is None
    assert closed_at(DeployWindows(), friday) is None
