"""DORA metrics against answers computed by hand on a fixed history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.dora import Bands, ReleaseFacts, compute
from bot.core.release import State

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return T0 + timedelta(days=day - 1, hours=hour)


def release(id_, service, state, finished, committed=None, traffic=True) -> ReleaseFacts:
    return ReleaseFacts(id_, service, state, traffic, finished, committed)


HISTORY = [
    release(1, "checkout", State.SUCCEEDED, at(1, 10), committed=at(1, 6)),  # lead 4 h
    release(2, "checkout", State.FAILED, at(3, 12)),  # v2 fails...
    release(3, "checkout", State.FAILED, at(3, 14)),  # ...and fails again
    release(4, "checkout", State.SUCCEEDED, at(3, 16), committed=at(3, 8)),  # lead 8 h
    release(5, "checkout", State.ROLLED_BACK, at(10, 12)),  # went live, rolled back
    release(6, "checkout", State.SUCCEEDED, at(11, 12), committed=at(10, 12)),  # lead 24 h
    release(7, "checkout", State.REJECTED, at(12, 9), traffic=False),  # CI red: no deploy
    release(8, "checkout", State.ABORTED, at(12, 10), traffic=False),  # aborted at the gate
    release(9, "search", State.SUCCEEDED, at(20, 10)),  # CI gave no commit time
    release(10, "search", State.SUCCEEDED, at(40, 10), committed=at(40, 9)),  # after window
    release(11, "search", State.SUCCEEDED, at(21, 10), committed=at(21, 11)),  # clock skew
]
WINDOW = {"since": T0, "until": T0 + timedelta(days=30)}


def test_the_whole_history_by_hand():
    report = compute(HISTORY, **WINDOW)
    frequency = report.metric("deployment_frequency")
    assert frequency.value == pytest.approx(5 / 30)  # 1, 4, 6, 9, 11
    assert frequency.band == "high"  # at least weekly, not daily
    lead = report.metric("lead_time")
    assert lead.value == 8.0 and lead.band == "elite"  # median of 4, 8, 24 (11 dropped)
    assert lead.basis == "median of 3"
    failures = report.metric("change_failure_rate")
    assert failures.value == pytest.approx(3 / 8)  # 2, 3, 5 of 1-6, 9, 11
    assert failures.basis == "3 of 8" and failures.band == "low"
    restore = report.metric("time_to_restore")
    assert restore.value == 4.0 and restore.band == "high"  # 2->4: 4 h, 3->4: 2 h, 5->6: 24 h


def test_one_service():
    report = compute(HISTORY, service="checkout", **WINDOW)
    assert report.metric("deployment_frequency").value == pytest.approx(3 / 30)
    assert report.metric("deployment_frequency").band == "medium"
    assert report.metric("change_failure_rate").value == pytest.approx(3 / 6)


def test_a_release_counted_twice_by_a_join_counts_once():
    doubled = HISTORY + [HISTORY[1], HISTORY[1], HISTORY[4]]
    assert compute(doubled, **WINDOW) == compute(HISTORY, **WINDOW)


def test_a_failure_not_yet_restored_and_an_empty_window():
    report = compute([release(1, "web", State.FAILED, at(2, 1))], **WINDOW)
    assert report.metric("time_to_restore").value is None
    assert report.metric("time_to_restore").basis == "not restored yet"
    empty = compute([], **WINDOW)
    assert empty.metric("change_failure_rate").value is None
    assert (
        empty.metric("deployment_frequency").value == 0
        and empty.metric("deployment_frequency").band == "low"
    )


def test_bands_are_configurable():
    strict = Bands(change_failure_rate=(0.5, 0.6, 0.7))
    report = compute(HISTORY, bands=strict, **WINDOW)
    assert report.metric("change_failure_rate").band == "elite"


@pytest.mark.parametrize("seed", range(5))
def test_the_rewritten_core_equals_the_original_on_random_histories(seed):
    import random

    from tests.support import dora_reference

    rng = random.Random(seed)
    states = [State.SUCCEEDED] * 3 + [State.FAILED, State.ROLLED_BACK, State.ABORTED]
    facts = []
    for n in range(300):
        finished = at(rng.randrange(1, 40), rng.randrange(24)) if rng.random() < 0.95 else None
        committed = (
            None
            if finished is None or rng.random() < 0.2
            else finished - timedelta(hours=rng.randrange(-3, 50), microseconds=n)
        )
        service = rng.choice(("checkout", "search", "web"))
        facts.append(
            release(n, service, rng.choice(states), finished, committed, rng.random() < 0.8)
        )
    for service in (None, "checkout", "web"):
        for since, until in ((T0, T0 + timedelta(days=30)), (at(5, 3), at(12, 17))):
            window = {"since": since, "until": until, "service": service}
            old = dora_reference.compute(facts, **window)
            assert repr(compute(facts, **window)) == repr(old)  # its own classes, same fields
