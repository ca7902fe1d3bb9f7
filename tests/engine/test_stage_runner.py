"""The stage runner: backend errors are retried with backoff, then turned into a failure the
release can act on; nothing is left half-done."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.ports import IntegrationError
from tests.support.harness import BotHarness


def failing(times: int, error: IntegrationError, real):
    calls = []

    async def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) <= times:
            raise error
        return await real(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


async def test_a_flaky_ci_is_retried_with_backoff_and_the_release_goes_on(example_bot: BotHarness):
    backend = example_bot.runtime.registry.backends["simulated"]
    backend.status = failing(2, IntegrationError("CI timed out"), backend.status)
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await example_bot.advance(4)
    assert len(backend.status.calls) == 1  # failed at 0 s; the retry is due at 5 s
    await example_bot.advance(2)
    assert len(backend.status.calls) == 2  # failed again at 5 s; next at 15 s
    assert "waiting for ci" in example_bot.status_message().text.lower()
    await example_bot.advance(8)
    assert len(backend.status.calls) == 2
    await example_bot.run_until(
        lambda: "rolling out" in example_bot.status_message().text, limit_s=60
    )
    assert len(backend.status.calls) >= 3  # then CI is pending for 2 s, then green


async def test_a_permanent_deploy_error_fails_the_stage_and_rolls_back(example_bot: BotHarness):
    backend = example_bot.runtime.registry.backends["simulated"]
    backend.start_step = failing(
        99, IntegrationError("image not found", retryable=False), backend.start_step
    )
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await example_bot.run_until(
        lambda: "rolled back" in example_bot.status_message().text, limit_s=60
    )
    assert len(backend.start_step.calls) == 1
    replies = [r.text for r in example_bot.status_message().replies]
    assert any("10% failed: image not found" in r for r in replies)


async def test_a_monitor_that_keeps_failing_counts_as_a_failed_analysis(example_bot: BotHarness):
    backend = example_bot.runtime.registry.backends["simulated"]
    backend.analyze = failing(99, IntegrationError("prometheus unreachable"), backend.analyze)
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await example_bot.run_until(
        lambda: "rolled back" in example_bot.status_message().text, limit_s=600
    )
    assert len(backend.analyze.calls) == 5
    assert any("monitor unreachable" in r.text for r in example_bot.status_message().replies)


async def test_an_abort_while_a_step_is_starting_rolls_that_step_back(example_bot: BotHarness):
    """The click lands between the engine's intent and the backend's answer."""
    backend = example_bot.runtime.registry.backends["simulated"]
    real_start = backend.start_step
    calling, answer = asyncio.Event(), asyncio.Event()

    async def slow_start(request):
        calling.set()
        await answer.wait()
        return await real_start(request)

    backend.start_step = slow_start
    backend.start_rollback = failing(0, IntegrationError("unused"), backend.start_rollback)
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    example_bot.clock.advance(3)
    await example_bot.runtime.engine.tick()  # CI is green: the 10% step is due
    tick = asyncio.create_task(example_bot.runtime.engine.tick())
    await asyncio.wait_for(calling.wait(), 5)
    status = example_bot.status_message()
    await example_bot.slack.click("U0ALICE", "C0DEPLOYS", status.ts, "release_abort")
    await example_bot.runtime.engine.inbox.run()  # the click is handled while the step is starting
    answer.set()
    await tick
    await example_bot.run_until(
        lambda: "aborted" in example_bot.status_message().text.lower(), limit_s=30
    )
    assert len(backend.start_rollback.calls) == 1, "the started step must be rolled back"
    assert "withdrawn" in example_bot.status_message().text


async def test_a_release_that_breaks_the_engine_does_not_hold_up_the_others(
    example_bot: BotHarness,
):
    broken = example_bot.runtime.registry.backends["simulated-bad-canary"]  # search's backend

    async def explode(*args, **kwargs):
        raise RuntimeError("adapter bug")

    broken.status = explode
    await example_bot.command("U0ALICE", "/deploy search to staging")
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await example_bot.run_until(
        lambda: "rolling out" in example_bot.slack.messages("C0DEPLOYS")[1].text, limit_s=30
    )
    await example_bot.run_until(
        lambda: "rejected" in example_bot.slack.messages("C0DEPLOYS")[0].text.lower(), limit_s=600
    )
    search = example_bot.slack.messages("C0DEPLOYS")[0]
    assert "internal error (RuntimeError)" in str(search.blocks)
    assert "adapter bug" not in str(search.blocks)


class Crash(BaseException):
    """The process dies here."""


async def test_a_crash_between_starting_a_step_and_recording_it_starts_it_once(
    example_bot: BotHarness,
):
    backend = example_bot.runtime.registry.backends["simulated"]
    real_start = backend.start_step
    keys: list[str] = []
    operations: list[str] = []

    async def start_then_crash(request):
        keys.append(request.idempotency_key)
        operation = await real_start(request)
        operations.append(operation)
        if len(keys) == 1:
            raise Crash  # the backend started the step; the bot never heard back
        return operation

    backend.start_step = start_then_crash
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    example_bot.clock.advance(3)
    await example_bot.runtime.engine.tick()  # CI is green
    with pytest.raises(Crash):
        await example_bot.runtime.engine.tick()
    assert "*10%*" in str(example_bot.status_message().blocks), "the step counts as started"

    await example_bot.run_until(
        lambda: "live" in example_bot.status_message().text.lower(), limit_s=300
    )
    assert keys[0] == keys[1] == "release-1-stage-0", "the same idempotency key both times"
    assert operations[0] == operations[1], "the backend started the step a second time"
