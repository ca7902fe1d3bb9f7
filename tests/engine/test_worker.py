"""An engine worker runs a pass when kicked, and again at once after a full batch; one that
knows when its next row is due wakes itself then, not at the next tick."""

from __future__ import annotations

import asyncio

from bot.engine.engine import HoldsNoClaims, Worker


def stages_worker(run_pass, due_in) -> Worker:
    return Worker(
        "stages", run_pass, batch=10, bell=asyncio.Event(), claims=HoldsNoClaims(), due_in=due_in
    )


async def test_a_worker_wakes_itself_when_its_next_row_is_due():
    passes = 0
    second_pass = asyncio.Event()

    async def run_pass() -> int:
        nonlocal passes
        passes += 1
        if passes == 2:
            second_pass.set()
        return 0

    async def due_in() -> float | None:
        return 0.01 if passes == 1 else None  # one row due shortly after the first pass

    worker = stages_worker(run_pass, due_in)
    worker.start()
    worker.kick()  # the only kick: no tick follows
    try:
        await asyncio.wait_for(second_pass.wait(), 10)
    finally:
        await worker.stop(1)
    assert passes == 2, "nothing more was due: no further pass"


async def test_a_worker_without_due_rows_waits_for_a_kick():
    passes = 0

    async def run_pass() -> int:
        nonlocal passes
        passes += 1
        return 0

    async def nothing_due() -> float | None:
        return None

    worker = stages_worker(run_pass, nothing_due)
    worker.start()
    worker.kick()
    for _ in range(50):  # let the loop run its pass and settle
        await asyncio.sleep(0)
    await worker.stop(1)
    assert passes == 1
