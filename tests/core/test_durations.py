"""Human durations (bot/core/durations.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.durations import format_duration, parse_duration, parse_moment


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("90", 90),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1d2h3m4s", 86400 + 7200 + 180 + 4),
        ("3m05s", 185),
        ("1H30M", 5400),
        (" 5m ", 300),
        ("1h 30m", 5400),
        ("5 m", 300),
        ("120s", 120),
    ],
)
def test_parse_duration(text: str, seconds: int):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", " ", "m", "5x", "m5", "-5s", "1.5h", "5 minutes", "1h30", "h1", "5s!", "five"]
)
def test_parse_duration_refuses_nonsense_with_an_example(text: str):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)
    assert "30s, 5m, 2h or 1h30m" in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (45, "45s"),
        (59.9, "59s"),
        (60, "1m00s"),
        (185, "3m05s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (3720, "1h02m"),
        (3725, "1h02m"),  # seconds dropped once hours show
        (86399, "23h59m"),
        (86400, "1d"),
        (86400 + 3 * 3600, "1d3h"),
        (2 * 86400 + 3 * 3600 + 59 * 60, "2d3h"),
        (-5, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str):
    assert format_duration(seconds) == text


def test_format_then_parse_gives_the_shown_precision_back():
    for seconds in range(0, 3 * 86400, 97):
        if seconds < 3600:
            shown = seconds
        elif seconds < 86400:
            shown = seconds - seconds % 60
        else:
            shown = seconds - seconds % 3600
        assert parse_duration(format_duration(seconds)) == shown, seconds


NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("30d", NOW - timedelta(days=30)),
        ("12h ago", NOW - timedelta(hours=12)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T12:00:00Z", datetime(2026, 11, 1, 12, tzinfo=UTC)),
        ("2026-11-01T12:00:00+01:00", datetime(2026, 11, 1, 11, tzinfo=UTC)),
    ],
)
def test_parse_moment(text, moment):
    assert parse_moment(text, NOW) == moment


def test_parse_moment_refuses_nonsense_with_examples():
    with pytest.raises(ValueError, match="a date like 2026-11-01.*a span like 30d"):
        parse_moment("last tuesday", NOW)
    with pytest.raises(ValueError, match="further than the calendar goes"):
        parse_moment("99999999d", NOW)
