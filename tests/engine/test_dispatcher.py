"""The outbox dispatcher against the Slack stand-in: exactly-once posts across a crash,
coalesced and throttled updates, rate limits, and failures explained to the requester."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app.catalog_file import load_catalog
from bot.emulator import Channel
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import BotHarness


class Crash(BaseException):
    """The process dies here: nothing after this line runs, nothing is cleaned up."""


@pytest.fixture
async def throttled(database_url: str) -> AsyncIterator[BotHarness]:
    harness = await BotHarness.start(
        database_url, load_catalog(SCENARIO_CATALOG), update_interval_s=5
    )
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_crash_after_slack_accepted_the_post_does_not_post_twice(example_bot: BotHarness):
    real_post = example_bot.runtime.chat.post
    crashed = []

    async def post_then_crash(channel, message, *, thread_ts, key):
        ts = await real_post(channel, message, thread_ts=thread_ts, key=key)
        if not crashed:
            crashed.append(ts)
            raise Crash
        return ts

    example_bot.runtime.chat.post = post_then_crash
    await example_bot.slack.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout to staging")
    with pytest.raises(Crash):
        await example_bot.runtime.engine.tick()
    assert len(example_bot.web_api_calls("chat.postMessage")) == 1

    await example_bot.advance(61)  # the crashed claim's lease runs out; the row is claimed again
    posts = [
        c for c in example_bot.web_api_calls("chat.postMessage") if not c.args.get("thread_ts")
    ]
    assert len(posts) == 1, "the status message was posted twice"
    assert example_bot.status_message().ts == crashed[0]
    assert any(
        c.args.get("include_all_metadata")
        for c in example_bot.web_api_calls("conversations.history")
    )
    updates = example_bot.web_api_calls("chat.update")
    assert updates and all(c.args["ts"] == crashed[0] for c in updates)


@pytest.mark.slow
async def test_status_updates_are_coalesced_and_throttled_per_message(throttled: BotHarness):
    example_bot = throttled
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await example_bot.advance(5)
    assert "rolling out" in example_bot.status_message().text
    before = len(example_bot.web_api_calls("chat.update"))
    for action in ("pause", "resume", "pause", "resume", "pause"):
        await example_bot.command("U0ALICE", f"/release {action} #1")
    assert len(example_bot.web_api_calls("chat.update")) - before <= 1
    await example_bot.advance(5)
    window = example_bot.web_api_calls("chat.update")[before:]
    assert len(window) <= 2, "five changes in one throttle window became more than two updates"
    assert "paused" in example_bot.status_message().text.lower()
    assert example_bot.status_message().text == window[-1].args["text"]


async def test_a_rate_limited_update_waits_for_retry_after_and_is_not_lost(example_bot: BotHarness):
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    example_bot.slack.rate_limit("chat.update", retry_after_seconds=7)
    await example_bot.advance(3)
    limited = [c for c in example_bot.web_api_calls("chat.update") if c.status == 429]
    assert len(limited) == 1
    assert "waiting for ci" in example_bot.status_message().text.lower()
    await example_bot.advance(7)
    assert "rolling out" in example_bot.status_message().text


async def test_a_status_message_that_cannot_be_posted_is_explained_to_the_requester(
    example_bot: BotHarness,
):
    example_bot.slack.workspace.channels.append(
        Channel("C0SECRET", "secret", ["U0ALICE"], is_private=True)
    )
    await example_bot.command(
        "U0ALICE", "/deploy checkout canary 10% to staging", channel="C0SECRET"
    )
    await example_bot.advance(40)  # many status changes, each of which fails to post
    assert example_bot.web_api_calls("chat.postMessage")[0].response["error"] == "channel_not_found"
    direct = example_bot.slack.messages(example_bot.slack.workspace.im_with("U0ALICE").id)
    assert len(direct) == 1
    assert "could not post the status of release #1 in <#C0SECRET>" in direct[0].text
    assert (
        "/invite @releasebot" in direct[0].text
        and "/release approve|pause|abort #1" in direct[0].text
    )
    await example_bot.command("U0ALICE", "/release abort #1", channel="C0SECRET")
    assert len(example_bot.slack.messages(example_bot.slack.workspace.im_with("U0ALICE").id)) == 1


async def test_thread_posts_go_under_the_status_message_in_order(example_bot: BotHarness):
    await example_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await example_bot.run_until(
        lambda: "live" in example_bot.status_message().text.lower(), limit_s=120
    )
    status = example_bot.status_message()
    texts = [reply.text for reply in status.replies]
    assert texts[0].endswith("CI is green for v1.4.3: 3 checks passed")
    assert any("10% of traffic" in t for t in texts)
    assert texts[-1].endswith("checkout v1.4.3 is live in staging")
    assert all(
        c.args.get("thread_ts") == status.ts
        for c in example_bot.web_api_calls("chat.postMessage")[1:]
    )
