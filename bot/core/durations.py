"""Human durations: "90s", "5m", "2h", "1h30m", "1d" <-> seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)\s*([smhd])", re.ASCII)


def parse_duration(text: str) -> int:
    """Seconds in a duration such as "30s", "5m", "1h30m"; a bare number is seconds."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    parts = _PART.findall(cleaned)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration; write it like 30s, 5m, 2h or 1h30m")
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """Short, phone-friendly: 45s, 3m05s, 1h02m, 2d3h."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def parse_moment(text: str, now: datetime) -> datetime:
    """A point in time given as a span back from `now` ("30d", "12h ago") or as an ISO date or
    time ("2026-11-01", "2026-11-01T12:00:00Z"; UTC unless it says otherwise)."""
    cleaned = text.strip().lower().removesuffix(" ago")
    try:
        return now - timedelta(seconds=parse_duration(cleaned))
    except ValueError:
        pass
    except OverflowError:
        raise ValueError(f"{text!r} reaches back further than the calendar goes") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r}: use a date like 2026-11-01, a time like 2026-11-01T12:00:00Z, "
            "or a span like 30d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
