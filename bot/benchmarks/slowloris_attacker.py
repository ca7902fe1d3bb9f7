"""The slowloris attacker of `releasebot bench slowloris`: a process of its own
(`python -m bot.benchmarks.slowloris_attacker PORT CONNECTIONS TRICKLE_S`) that holds the slow
connections, and `Attacker`, the benchmark's handle on it, which reads what it reports."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from dataclasses import dataclass

SLOW_HEAD = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nX-Wait: "
OPENING_AT_ONCE = 100  # connections being opened at the same time


@dataclass
class Slow:
    """One slow connection, in seconds after the attack began."""

    opened_at: float | None = None
    closed_at: float | None = None
    answer: bytes = b""  # what the server sent before closing (nothing, or a 503 when full)
    failure: str | None = None  # could not connect


def raise_open_files_limit() -> int | None:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (the serve process, started
    from here, inherits it); returns the new soft limit."""
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


class Attacker:
    """The slow connections, held by a process of their own (this module run as a script), as
    an attacker's would be: the benchmark's process only measures. The attacker reports each
    connection's opening and end on its output, in time.monotonic() (one clock for the whole
    machine)."""

    def __init__(self, process: asyncio.subprocess.Process, slow: list[Slow], began: float):
        self.process, self.slow, self.began = process, slow, began
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, port: int, connections: int, trickle_s: float) -> Attacker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.benchmarks.slowloris_attacker",
            str(port),
            str(connections),
            f"{trickle_s:g}",
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        first = (await process.stdout.readline()).split()
        if first[:1] != [b"start"]:
            process.kill()
            raise RuntimeError("the slowloris process did not start")
        return cls(process, [Slow() for _ in range(connections)], float(first[1]))

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            event, index, value, *rest = line.decode().split()
            slow = self.slow[int(index)]
            if event == "opened":
                slow.opened_at = float(value) - self.began
            elif event == "closed":
                slow.closed_at = float(value) - self.began
                slow.answer = bytes.fromhex(rest[0]) if rest else b""
            else:
                slow.failure = value

    async def finished(self) -> None:
        """Until the server has closed every slow connection (the process then exits)."""
        await self._reading
        await self.process.wait()

    async def stop(self) -> list[Slow]:
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        return self.slow


async def _attack(port: int, connections: int, trickle_s: float) -> None:
    """The attacker's side: `connections` slow connections at once, each reported."""
    raise_open_files_limit()
    print("start", time.monotonic(), flush=True)
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    await asyncio.gather(*(_slowloris(port, n, gate, trickle_s) for n in range(connections)))


async def _slowloris(port: int, n: int, gate: asyncio.Semaphore, trickle_s: float) -> None:
    """Open a connection, send part of a request head, then a byte every `trickle_s` until
    the server closes it; report when it opened and closed, and what the server said."""
    async with gate:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as exc:
            print("failed", n, type(exc).__name__, flush=True)
            return
        print("opened", n, time.monotonic(), flush=True)
    trickle = asyncio.create_task(_trickle(writer, trickle_s))
    answer = b""
    try:
        while chunk := await reader.read(4096):
            answer += chunk
    except (ConnectionError, OSError):
        pass
    finally:
        print("closed", n, time.monotonic(), answer[:16].hex(), flush=True)
        trickle.cancel()
        writer.close()


async def _trickle(writer: asyncio.StreamWriter, every_s: float) -> None:
    writer.write(SLOW_HEAD)
    await asyncio.sleep(random.uniform(0, every_s))  # not all in the same instant
    with contextlib.suppress(ConnectionError, OSError):
        while not writer.is_closing():
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(every_s)


if __name__ == "__main__":  # the attacker: PORT CONNECTIONS TRICKLE_S
    asyncio.run(_attack(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
