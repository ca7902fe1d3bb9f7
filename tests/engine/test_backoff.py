"""The pause before a failed row is tried again doubles from its base up to its cap."""

from __future__ import annotations

from bot.engine.backoff import backoff_s


def test_the_pause_doubles_from_the_base_after_each_failed_attempt():
    assert [backoff_s(n, base=5, cap=300) for n in range(1, 9)] == [
        5, 10, 20, 40, 80, 160, 300, 300
    ]  # fmt: skip


def test_the_pause_never_exceeds_the_cap():
    assert [backoff_s(n, base=1, cap=5) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_a_row_not_yet_attempted_waits_the_base():
    assert backoff_s(0, base=1, cap=30) == 1
