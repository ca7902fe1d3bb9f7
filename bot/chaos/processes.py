"""Child processes for the chaos runs: started with their output in a log file, ready when they
print their line, stopped with a real signal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class ChildFailed(RuntimeError):
    """A process exited or stayed silent instead of getting ready."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    logs: Path
    ready_text: str
    process: asyncio.subprocess.Process | None = None
    ready_line: str = ""
    starts: int = 0
    _pump: asyncio.Task | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.logs / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, within_s: float = 60.0) -> float:
        """Start and wait for the line that says it is ready; returns the seconds it took."""
        began = time.monotonic()
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"--- start {self.starts} ---\n".encode())
        log.flush()
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            env={**os.environ, **self.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # a Ctrl-C of the chaos run is not sent to it too
        )
        ready = asyncio.get_running_loop().create_future()
        self._pump = asyncio.create_task(self._copy(self.process, log, ready))
        try:
            self.ready_line = await asyncio.wait_for(asyncio.shield(ready), within_s)
        except TimeoutError:
            await self.stop(signal.SIGKILL)
            raise ChildFailed(f"{self.name} was not ready within {within_s:g}s") from None
        return time.monotonic() - began

    async def _copy(self, process, log, ready: asyncio.Future) -> None:
        assert process.stdout is not None
        try:
            async for raw in process.stdout:
                log.write(raw)
                log.flush()
                if not ready.done() and self.ready_text in raw.decode(errors="replace"):
                    ready.set_result(raw.decode(errors="replace").strip())
        finally:
            log.close()
            if not ready.done():
                ready.set_exception(
                    ChildFailed(f"{self.name} exited before it was ready; see {self.log_path}")
                )

    async def stop(self, signum: int = signal.SIGTERM, within_s: float = 40.0) -> int | None:
        """Send `signum` and wait for the exit code (SIGKILL after `within_s`)."""
        process = self.process
        if process is None or process.returncode is not None:
            return process.returncode if process else None
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)
        try:
            code = await asyncio.wait_for(process.wait(), within_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            code = await process.wait()
        if self._pump is not None:
            with contextlib.suppress(Exception):
                await self._pump
        return code


def python_module(module: str, *args: str) -> list[str]:
    """argv to run a module of this package with the running interpreter."""
    return [sys.executable, "-m", module, *args]
