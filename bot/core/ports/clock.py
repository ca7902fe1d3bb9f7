"""The clock the core and the services read the time from (bot.core.clock has the system's and
a manual one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
