"""Small helpers for sentences people read."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`plural(1, "check")` -> "1 check"; `plural(3, "check")` -> "3 checks"."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
