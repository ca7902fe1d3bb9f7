"""with_retries: an idempotent call is tried again on a retryable error only, with growing
jittered pauses, and the last error comes out as it was."""

from __future__ import annotations

import pytest

from bot.core.ports import IntegrationError
from integrations.base import with_retries


def failing(*errors: IntegrationError):
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return call, calls


async def test_retryable_errors_are_tried_again_with_growing_pauses():
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    call, calls = failing(IntegrationError("503", retryable=True), IntegrationError("reset"))
    assert await with_retries(call, attempts=3, base_delay_s=0.2, sleep=sleep) == "ok"
    assert len(calls) == 3 and len(pauses) == 2
    assert 0.2 <= pauses[0] <= 0.4 and 0.4 <= pauses[1] <= 0.6


async def test_a_permanent_error_is_not_tried_again():
    async def sleep(seconds: float) -> None:
        raise AssertionError("no pause for a permanent error")

    call, calls = failing(IntegrationError("404 not found", retryable=False))
    with pytest.raises(IntegrationError, match="404"):
        await with_retries(call, sleep=sleep)
    assert len(calls) == 1


async def test_the_last_error_comes_out_after_the_last_attempt():
    async def sleep(seconds: float) -> None:
        return None

    errors = [IntegrationError(f"down {n}", retryable=True) for n in range(3)]
    call, calls = failing(*errors)
    with pytest.raises(IntegrationError, match="down 2"):
        await with_retries(call, attempts=3, sleep=sleep)
    assert len(calls) == 3
