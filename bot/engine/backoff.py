"""The pause before trying a failed row again: `base` seconds after the first failed
attempt, doubling with each further one, never more than `cap`."""

from __future__ import annotations


def backoff_s(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after `attempts` tries (the one that just failed included)."""
    return min(cap, base * 2 ** max(0, attempts - 1))
