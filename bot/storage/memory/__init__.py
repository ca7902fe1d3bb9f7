"""An in-memory unit of work, held to SqlUnitOfWork's contract."""

from bot.storage.memory.database import MemoryDatabase, MemoryUnitOfWork
from bot.storage.memory.tables import OutboxEntry

__all__ = ["MemoryDatabase", "MemoryUnitOfWork", "OutboxEntry"]
