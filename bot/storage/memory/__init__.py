"""An in-memory unit of work, held to SqlUnitOfWork's contract."""

from bot.storage.memory.database import MemoryDatabase, MemoryUnitOfWork
from bot.storage.memory.tables import OutboxEntry
from bot.storage.memory.timers import MemoryReleaseTimers

__all__ = ["MemoryDatabase", "MemoryReleaseTimers", "MemoryUnitOfWork", "OutboxEntry"]
