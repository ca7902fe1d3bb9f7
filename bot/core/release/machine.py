"""The state machine: `transition(release, event, now)` is the only way a release changes.

It is pure: it returns the new release and the facts worth telling (for the thread, the audit
trail and the status message), or raises InvalidTransition with a sentence a person can act on.
Each event has one handler, in the module of its part of a release's life.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.core.release import approvals, gate, rollback, rollout, windows
from bot.core.release.events import Event
from bot.core.release.facts import Fact
from bot.core.release.model import Release

_HANDLERS: dict[type, Any] = {
    **gate.HANDLERS,
    **approvals.HANDLERS,
    **rollout.HANDLERS,
    **rollback.HANDLERS,
    **windows.HANDLERS,
}


def transition(release: Release, event: Event, now: datetime) -> tuple[Release, list[Fact]]:
    handler = _HANDLERS[type(event)]
    new, facts = handler(release, event, now)
    return replace(new, updated_at=now), facts
