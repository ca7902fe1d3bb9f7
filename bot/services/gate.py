"""The last look before a rollout starts: a release that waited at its gate (CI, approvals)
starts only if no freeze and no other person's lock arrived meanwhile (policy.may_start)."""

from __future__ import annotations

from datetime import datetime

from bot.core.policy import may_start
from bot.core.ports import UnitOfWork
from bot.core.release import GATED_STATES, Fact, Release, StartRefused, State, transition
from bot.services.facts import FactsFinder


async def hold_at_gate(
    uow: UnitOfWork, facts: FactsFinder, before: Release, after: Release, now: datetime
) -> tuple[Release, list[Fact]]:
    """`after` as it may go on: unchanged, or refused if it was about to leave its gate."""
    if before.state not in GATED_STATES or after.state is not State.RUNNING:
        return after, []
    decision = may_start(after, await facts.for_release(uow, after, now))
    if decision.allowed:
        return after, []
    return transition(after, StartRefused(decision.rule, decision.message), now)
