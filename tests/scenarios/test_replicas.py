"""Two replicas on one PostgreSQL: due work is claimed once, status messages are posted once,
stages run once (DESIGN invariant 9). SQLite is single-process, so this runs on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app.catalog_file import load_catalog
from bot.app.runtime import LOCAL_BOT_TOKEN, build_runtime
from bot.app.settings import Settings
from tests.support.audit import export_rows
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import BotHarness, free_port


@pytest.fixture
async def two_replicas(postgres_url):
    database_url = postgres_url
    first = await BotHarness.start(database_url, load_catalog(SCENARIO_CATALOG))
    slack = first.slack
    second = await build_runtime(
        Settings(
            database_url=database_url,
            port=free_port(),
            bot_token=LOCAL_BOT_TOKEN,
            signing_secret=slack.signing_secret,
            slack_api_url=f"{first.base_url}/emulator/api/",
            update_interval_s=0,
            replica_id="replica-2",
        ),
        clock=first.clock,
        catalog=load_catalog(SCENARIO_CATALOG),
    )
    runner = web.AppRunner(second.web_app)
    await runner.setup()
    try:
        yield first, second
    finally:
        await runner.cleanup()
        await second.close()
        await first.stop()


async def test_two_engines_ticking_together_do_everything_once(two_replicas):
    first, second = two_replicas
    for service in ("checkout", "search"):
        await first.slack.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", f"{service} to staging")
    for _ in range(120):
        await asyncio.gather(first.runtime.engine.tick(), second.engine.tick())
        first.clock.advance(1)
    top_level = [c for c in first.slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(top_level) == 2, "each release's status message is posted once"
    keys = Counter(
        c.args["metadata"]["event_payload"]["key"] for c in first.slack.calls_to("chat.postMessage")
    )
    assert all(count == 1 for count in keys.values()), keys
    rows = await export_rows(first.runtime.db)
    stage_events = Counter(
        (row["release_id"], row["action"], row["reason"])
        for row in rows
        if row["action"] in ("stage.succeeded", "release.succeeded", "release.ci_passed")
    )
    assert stage_events and all(count == 1 for count in stage_events.values()), stage_events
    texts = [m.text for m in first.slack.messages("C0DEPLOYS")]
    assert any("checkout → staging: live" in t for t in texts)


async def test_a_status_message_is_posted_once_when_two_replicas_race_for_it(two_replicas):
    """Replica 1 is posting a release's first status message (Slack is slow) when the release
    changes again: replica 2 leaves the newer status alone until the post is stored, then
    updates that message. No lock on the release is held while Slack is called."""
    first, second = two_replicas
    await first.slack.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout to staging")
    await first.runtime.engine.inbox.run()

    real_post, posting, slack_answers = first.runtime.chat.post, asyncio.Event(), asyncio.Event()

    async def slow_post(*args, **kwargs):
        posting.set()
        await slack_answers.wait()
        return await real_post(*args, **kwargs)

    first.runtime.chat.post = slow_post
    first_pass = asyncio.create_task(first.runtime.engine.outbox.run())
    await asyncio.wait_for(posting.wait(), 10)

    async with second.db.begin() as connection:  # another change to the release: a new status
        await connection.execute(
            text(
                "INSERT INTO outbox (key, kind, release_id, channel, replace_original, template, "
                "context, created_at, due_at, attempts) VALUES ('status:1:later', 'status', 1, "
                "'C0DEPLOYS', false, 'status', '{}', :now, :now, 0)"
            ),
            {"now": first.clock.now()},
        )
        await connection.execute(text("UPDATE releases SET due_at = NULL"))  # no stage work
    await asyncio.wait_for(second.engine.outbox.run(), 10)  # not blocked, and sends nothing
    assert not first.slack.calls_to("chat.update")
    assert not first.slack.calls_to("chat.postMessage")

    slack_answers.set()
    await first_pass
    await second.engine.outbox.run()
    top_level = [c for c in first.slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(top_level) == 1, "two replicas posted the same status message"
    (update,) = first.slack.calls_to("chat.update")
    assert update.args["ts"] == top_level[0].response["ts"]


async def _until(condition, within_s: float = 10.0) -> None:
    """Wait for something another task or connection brings about: re-checked often; no
    fixed sleep decides the outcome."""
    async with asyncio.timeout(within_s):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)
