"""An OK to Slack is a promise (DESIGN invariant 2): a command, click or submission is in the
inbox before Slack gets its OK, and is carried out afterwards, once, by whichever runtime
takes it up; without the database there is no OK; a request that waited too long is not
carried out but answered; a reject box opens through the outbox, or the person is told."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app.catalog_file import load_catalog
from bot.app.runtime import LOCAL_BOT_TOKEN, build_runtime
from bot.app.settings import Settings
from bot.core.ports import StorageUnavailable
from bot.core.release import State
from tests.support.audit import export_rows
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import CHANNEL, BotHarness, free_port
from tests.support.tcp_proxy import TcpProxy


async def count(scenario_bot: BotHarness, sql: str) -> int:
    async with scenario_bot.runtime.db.connect() as connection:
        return (await connection.execute(text(sql))).scalar_one()


async def release_states(scenario_bot: BotHarness) -> list[str]:
    async with scenario_bot.runtime.db.connect() as connection:
        return list((await connection.execute(text("SELECT state FROM releases"))).scalars())


def top_level_posts(scenario_bot: BotHarness) -> list:
    return [
        c
        for c in scenario_bot.web_api_calls("chat.postMessage")
        if c.status == 200 and not c.args.get("thread_ts")
    ]


# -- durable before the OK ---------------------------------------------------------------------


async def test_an_acked_command_is_carried_out_once_by_the_next_runtime(scenario_bot: BotHarness):
    """The OK comes once the command is in the inbox. This runtime does no more (as if it
    died right after the OK); a new one on the same database carries the command out. A Slack
    retry of the same request (same body, same trigger_id) is acked, but makes no second row
    and no second release, whichever runtime ticks."""
    acked = await scenario_bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout to staging"
    )
    assert acked.status == 200
    assert await count(scenario_bot, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == 1

    restarted = await build_runtime(
        Settings(
            database_url=scenario_bot.runtime.settings.database_url,
            port=free_port(),
            bot_token=LOCAL_BOT_TOKEN,
            signing_secret=scenario_bot.slack.signing_secret,
            slack_api_url=f"{scenario_bot.base_url}/emulator/api/",
            update_interval_s=0,
            replica_id="after-restart",
        ),
        clock=scenario_bot.clock,
        catalog=load_catalog(SCENARIO_CATALOG),
    )
    try:
        await restarted.settle()
        assert await release_states(scenario_bot) == [State.AWAITING_CI.value]
        assert len(top_level_posts(scenario_bot)) == 1

        retry = await scenario_bot.slack.slash_command(
            "U0ALICE", CHANNEL, "/deploy", "checkout to staging", retry_num=1
        )
        assert retry.status == 200 and retry.request_body == acked.request_body
        await restarted.settle()
        await scenario_bot.settle()  # the first runtime: nothing is left for it either
    finally:
        await restarted.close()
    assert await count(scenario_bot, "SELECT count(*) FROM inbox") == 1
    assert await count(scenario_bot, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == 0
    assert len(await release_states(scenario_bot)) == 1
    assert len(top_level_posts(scenario_bot)) == 1
    assert scenario_bot.replies_to("U0ALICE") == [], "the retry was answered as a second request"


async def test_a_command_is_written_down_even_while_slacks_web_api_is_down(
    scenario_bot: BotHarness,
):
    """Writing a request down asks Slack nothing: with every Web API method answering 503
    pages (auth.test included) a command is still acked, and carried out."""
    scenario_bot.slack.faults.add(["*"], "error5xx", seconds=30)
    acked = await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    assert acked.status == 200 and acked.body_text == "", acked.body_text
    assert await count(scenario_bot, "SELECT count(*) FROM inbox WHERE done_at IS NOT NULL") == 1
    assert await release_states(scenario_bot) == [State.AWAITING_CI.value]
    assert scenario_bot.replies_to("U0ALICE") == []


@pytest.fixture
async def proxied(postgres_url: str) -> AsyncIterator[tuple[BotHarness, TcpProxy]]:
    """The bot reaching its PostgreSQL through a proxy the test can cut."""
    real = make_url(postgres_url)
    proxy = await TcpProxy(f"tcp://{real.host or '127.0.0.1'}:{real.port or 5432}").start()
    through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    harness = await BotHarness.start(through, load_catalog(SCENARIO_CATALOG))
    try:
        yield harness, proxy
    finally:
        await harness.stop()
        await proxy.close()


@pytest.mark.postgres
async def test_without_the_database_slack_gets_no_ok(proxied):
    """The database cannot be reached: a slash command gets HTTP 503 within Slack's 3 s (so
    Slack shows the person its own error) and nothing is recorded. Once the database is back
    at the same address, the next command is acked and carried out."""
    scenario_bot, proxy = proxied
    await proxy.close()
    refused = await scenario_bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout to staging"
    )
    assert refused.status == 503, (refused.status, refused.error, refused.body_text)
    assert refused.elapsed_ms < 3000
    assert scenario_bot.slack.banners("U0ALICE"), "Slack showed no error"
    assert scenario_bot.replies_to("U0ALICE") == []

    port = proxy.port
    await proxy.start(port)
    assert proxy.port == port
    assert await count(scenario_bot, "SELECT count(*) FROM inbox") == 0, (
        "a refused request was kept"
    )
    acked = await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    assert acked.status == 200
    assert await release_states(scenario_bot) == [State.AWAITING_CI.value]
    assert len(top_level_posts(scenario_bot)) == 1


@pytest.mark.postgres
async def test_a_command_being_handled_when_the_database_went_away_is_handled_later(proxied):
    """The database goes away while an acked command is being handled (after the engine
    claimed it, before its transaction): nothing is lost. Once the database is back (and at
    the latest when the claim's lease has run out), the command is carried out, once."""
    scenario_bot, proxy = proxied
    router = scenario_bot.runtime.router
    prepare = router.prepare

    async def cut_then_prepare(*args, **kwargs):
        router.prepare = prepare
        await proxy.close()
        return await prepare(*args, **kwargs)

    router.prepare = cut_then_prepare
    acked = await scenario_bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout to staging"
    )
    assert acked.status == 200
    with pytest.raises(StorageUnavailable):
        await scenario_bot.settle()

    await proxy.start(proxy.port)
    await scenario_bot.advance(61)  # the claim's lease is 60 s
    assert await release_states(scenario_bot) == [State.AWAITING_CI.value]
    assert await count(scenario_bot, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == 0
    assert len(top_level_posts(scenario_bot)) == 1
    assert scenario_bot.replies_to("U0ALICE") == []


# -- too late, and boxes that cannot open --------------------------------------------------------


@pytest.fixture
async def short_deadline(database_url: str) -> AsyncIterator[BotHarness]:
    harness = await BotHarness.start(
        database_url, load_catalog(SCENARIO_CATALOG), inbox_deadline_s=60
    )
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_command_that_waited_past_the_deadline_is_answered_not_carried_out(
    short_deadline: BotHarness,
):
    """Acked, then nothing could handle it for 61 s (the deadline is 60 s): the deploy is not
    started long after the person asked; they are told it was not carried out, and the
    trail records it as expired."""
    scenario_bot = short_deadline
    acked = await scenario_bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout to staging"
    )
    assert acked.status == 200
    scenario_bot.clock.advance(61)
    await scenario_bot.settle()

    assert await release_states(scenario_bot) == []
    (reply,) = scenario_bot.replies_to("U0ALICE")
    assert "was not carried out" in reply and "send it again" in reply
    assert "/deploy checkout to staging" in reply
    expired = [
        r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "command.expired"
    ]
    assert len(expired) == 1 and expired[0]["actor_id"] == "U0ALICE", expired
    assert await count(scenario_bot, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == 0

    on_time = await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    assert on_time.status == 200 and await release_states(scenario_bot) == [State.AWAITING_CI.value]


async def awaiting_approval(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout to production")
    await scenario_bot.advance(3)
    status = scenario_bot.status_message()
    assert "release_reject" in str(status.blocks)
    return status


async def test_the_reject_box_opens_through_the_outbox_with_the_clicks_trigger(
    scenario_bot: BotHarness,
):
    """The click is acked once it is in the inbox, before any box opens; handling it owes a
    views.open, sent by the outbox with that click's trigger_id."""
    status = await awaiting_approval(scenario_bot)
    click = await scenario_bot.slack.click("U0BOB", CHANNEL, status.ts, "release_reject")
    assert click.status == 200 and click.trigger_id
    assert scenario_bot.web_api_calls("views.open") == []
    await scenario_bot.settle()

    (opened,) = scenario_bot.web_api_calls("views.open")
    assert opened.args["trigger_id"] == click.trigger_id and opened.status == 200
    assert await count(scenario_bot, "SELECT count(*) FROM outbox WHERE kind = 'modal'") == 1
    modal = scenario_bot.slack.modal("U0BOB")
    assert modal is not None and modal.definition["title"]["text"] == "Reject #1"


async def test_a_reject_click_handled_after_its_trigger_expired_asks_to_press_again(
    scenario_bot: BotHarness,
):
    """The click waited 4 s before it was handled: its trigger_id (3 s) cannot open a box
    any more. No box, nothing rejected; the person is told to press Reject again (or to
    type the reason)."""
    status = await awaiting_approval(scenario_bot)
    click = await scenario_bot.slack.click("U0BOB", CHANNEL, status.ts, "release_reject")
    assert click.status == 200
    scenario_bot.clock.advance(4)
    await scenario_bot.settle()

    assert scenario_bot.web_api_calls("views.open") == []
    assert scenario_bot.slack.modal("U0BOB") is None
    (reply,) = scenario_bot.replies_to("U0BOB")
    assert "could not be opened" in reply and "nothing was rejected" in reply
    assert "Press *Reject* again" in reply and "/release reject #1" in reply
    assert await release_states(scenario_bot) == [State.AWAITING_APPROVAL.value]
    assert "rejected" not in scenario_bot.status_message().text


# -- handled in batches ------------------------------------------------------------------------


async def test_a_request_that_breaks_its_batch_does_not_hold_up_the_others(
    scenario_bot: BotHarness,
):
    """Requests waiting together are handled in one transaction. When one of them hits a bug,
    that transaction is rolled back and each is handled alone: the others are carried out
    once, and the broken one is answered and recorded as failed, nothing half-done."""
    router = scenario_bot.runtime.router
    handle = router.handle

    async def broken_for_jobs(uow, prepared):
        if "jobs" in prepared.text:
            raise RuntimeError("a bug in one use case")
        return await handle(uow, prepared)

    router.handle = broken_for_jobs
    for service in ("checkout", "jobs", "search"):
        acked = await scenario_bot.slack.slash_command(
            "U0ALICE", CHANNEL, "/deploy", f"{service} to staging"
        )
        assert acked.status == 200
    handled = await scenario_bot.runtime.engine.inbox.run()
    assert handled == 3, "the three were claimed together"

    async with scenario_bot.runtime.db.connect() as connection:
        services = sorted(
            (await connection.execute(text("SELECT service FROM releases"))).scalars()
        )
        failed = (
            await connection.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'command.failed'")
            )
        ).scalar_one()
    assert services == ["checkout", "search"], "each of the others once"
    assert failed == 1
    assert await count(scenario_bot, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == 0
    await scenario_bot.settle()
    assert any("jobs" in reply for reply in scenario_bot.replies_to("U0ALICE")), (
        scenario_bot.replies_to("U0ALICE")
    )
