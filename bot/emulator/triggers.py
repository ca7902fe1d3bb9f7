"""trigger_id rules: issued with each command or click, exchangeable once, within 3 seconds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from bot.emulator.spec import ApiError

TRIGGER_LIFETIME_S = 3.0


@dataclass
class _Trigger:
    user: str
    issued_at: float
    used: bool = False


class TriggerRegistry:
    def __init__(self, clock: Callable[[], float], team_id: str) -> None:
        self._clock = clock
        self._team_id = team_id
        self._triggers: dict[str, _Trigger] = {}

    def issue(self, user: str) -> str:
        n = len(self._triggers) + 1
        digest = hashlib.sha1(f"{self._team_id}:{n}".encode()).hexdigest()[:20]
        trigger_id = f"{int(self._clock())}{n:04d}.{1000000000 + n}.{digest}"
        self._triggers[trigger_id] = _Trigger(user, self._clock())
        return trigger_id

    def exchange(self, trigger_id: str) -> str:
        """The user the trigger was issued for; raises Slack's error if it can't be used."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self._clock() - trigger.issued_at > TRIGGER_LIFETIME_S:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user
