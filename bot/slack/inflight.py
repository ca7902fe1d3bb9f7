"""Counts listener work still running after the ack, so shutdown and tests can wait for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def idle(self, within_s: float = 10.0) -> None:
        await asyncio.wait_for(self._idle.wait(), within_s)

    @property
    def busy(self) -> bool:
        return self._count > 0
