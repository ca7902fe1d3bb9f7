"""Small helpers for sentences people read."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`plural(1, "check")` -> "1 check"; `plural(3, "check")` -> "3 checks"."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def plain_text(text: str, limit: int = 500) -> str:
    """Free text a person typed, safe to show in chat: one line, at most `limit` characters,
    and no Slack control sequences (`<!channel>`, `<@U…>`, links) it could smuggle in."""
    cleaned = " ".join(text.split()).replace("<", "‹").replace(">", "›")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def slack_time(moment) -> str:
    """A moment as Slack shows it, in each reader's own time zone (UTC where it cannot)."""
    from datetime import UTC

    utc = moment.astimezone(UTC)
    return (
        f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|"
        f"{utc.strftime('%a %d %b %H:%M UTC')}>"
    )
