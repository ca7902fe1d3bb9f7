"""The outbox dispatcher while Slack is down, rate-limiting or hanging (DESIGN invariant 10):
no message that may still go out is given up, a rate-limit wait is not an attempt and pauses
the method for every replica, stages go on regardless, and once Slack is back the status
message shows the latest state and its thread reads complete and in order.

Faults are the stand-in's (`bot.slack.faults`); their windows run on the bot's ManualClock,
so "60 s of outage" is 60 ticks of bot time and a fraction of a second of wall time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app.catalog_file import load_catalog
from bot.app.runtime import LOCAL_BOT_TOKEN, build_runtime
from bot.app.settings import Settings
from bot.core.release import State
from bot.emulator import Message
from bot.slack.render import SlackRenderer
from bot.storage.database import session_factory
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.audit import export_rows
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import CHANNEL, BotHarness, free_port

OUTAGE_S = 60
CANARY = "/deploy checkout canary 10% to staging"  # CI 2 s, 10% / 50% / 100%, bakes 20 s


async def start(database_url: str, **settings) -> BotHarness:
    return await BotHarness.start(database_url, load_catalog(SCENARIO_CATALOG), **settings)


@pytest.fixture
async def patient_bot(database_url: str) -> AsyncIterator[BotHarness]:
    harness = await start(database_url)
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def impatient(database_url: str) -> AsyncIterator[BotHarness]:
    """The bot's Slack client gives up after 0.2 s of real time (5 s by default)."""
    harness = await start(database_url, slack_timeout_s=0.2)
    try:
        yield harness
    finally:
        await harness.stop()


async def scalar(patient_bot: BotHarness, sql: str) -> object:
    async with patient_bot.runtime.db.connect() as connection:
        return (await connection.execute(text(sql))).scalar_one()


async def column(patient_bot: BotHarness, sql: str, **params) -> list:
    async with patient_bot.runtime.db.connect() as connection:
        return list((await connection.execute(text(sql), params)).scalars())


async def rows(patient_bot: BotHarness, sql: str) -> list[tuple]:
    async with patient_bot.runtime.db.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


async def drain(patient_bot: BotHarness, limit_s: float = 300) -> None:
    """Let bot time pass until the outbox owes nothing more."""
    pending = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND due_at IS NOT NULL"
    waited = 0
    while await scalar(patient_bot, pending):
        assert waited < limit_s, f"the outbox still owes messages after {limit_s}s of bot time"
        await patient_bot.advance(1)
        waited += 1


def top_level_posts(patient_bot: BotHarness) -> list[str]:
    """The keys of the status messages Slack took, one per post."""
    return [
        c.args["metadata"]["event_payload"]["key"]
        for c in patient_bot.web_api_calls("chat.postMessage")
        if c.status == 200 and not c.args.get("thread_ts")
    ]


def thread_keys(status: Message) -> list[str]:
    return [(reply.metadata or {}).get("event_payload", {}).get("key") for reply in status.replies]


async def assert_delivered_in_full(patient_bot: BotHarness, release_id: int = 1) -> None:
    """What Slack shows once it is back: one status message, rendering the release as it is
    in the database; under it every thread row's post, once each, in the order written;
    and no outbox row given up."""
    given_up = await scalar(
        patient_bot, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND due_at IS NULL"
    )
    assert given_up == 0, await column(
        patient_bot, "SELECT last_error FROM outbox WHERE due_at IS NULL"
    )
    assert len(top_level_posts(patient_bot)) == 1, "the status message was posted more than once"
    (status,) = [m for m in patient_bot.slack.messages(CHANNEL) if m.bot_id]

    async with SqlUnitOfWork(session_factory(patient_bot.runtime.db), patient_bot.clock) as uow:
        release = await uow.releases.get(release_id)
    assert release is not None and not release.state.active
    assert status.text == SlackRenderer(patient_bot.clock).status(release).text, (
        "the status message does not show the release's final state"
    )

    owed = await column(
        patient_bot,
        "SELECT key FROM outbox WHERE kind = 'thread' AND release_id = :id ORDER BY id",
        id=release_id,
    )
    assert len(owed) >= 5, owed  # CI, three stages and two analyses at least
    shown = thread_keys(status)
    assert len(shown) == len(set(shown)), f"a thread post went out twice: {shown}"
    assert shown == owed, "the thread is incomplete or out of order"


@pytest.mark.slow
async def test_a_slack_outage_loses_nothing_and_ends_with_the_final_state(patient_bot: BotHarness):
    """Once the status message is up, every Web API call answers a load balancer's 503 page
    for 60 s while the canary runs its whole course. The bot does not hammer Slack meanwhile
    and gives nothing up; afterwards the status message (posted once) shows how the release
    ended, and its thread has every post, once each, in order."""
    await patient_bot.command("U0ALICE", CANARY)
    await patient_bot.advance(3)
    assert len(patient_bot.status_message().replies) == 1  # CI passed
    patient_bot.slack.faults.add(["*"], "error5xx", seconds=OUTAGE_S, status=503)
    await patient_bot.advance(OUTAGE_S - 1)  # the last second of the outage
    failed = [c for c in patient_bot.slack.calls if c.fault]
    assert {c.method for c in failed} >= {"chat.update", "chat.postMessage"}
    assert any(c.args.get("thread_ts") for c in failed), "no thread post was tried"
    assert len(failed) <= 20, f"{len(failed)} calls in a 60 s outage: Slack was hammered"
    assert await column(patient_bot, "SELECT state FROM releases") == [State.SUCCEEDED.value]
    assert len(patient_bot.status_message().replies) == 1, "Slack took posts during its outage"

    await drain(patient_bot)
    await assert_delivered_in_full(patient_bot)


async def test_once_slack_fails_the_rest_of_the_pass_waits_untried(patient_bot: BotHarness):
    """Two releases' first status messages are due in one pass and Slack answers the first
    with a 503 page: the second is not tried against a Slack that just failed, it waits a
    moment without that counting as an attempt; both go out, once, when Slack is back."""
    for service in ("checkout", "jobs"):
        await patient_bot.slack.slash_command(
            "U0ALICE", CHANNEL, "/deploy", f"{service} to staging"
        )
    await patient_bot.runtime.engine.inbox.run()
    patient_bot.slack.faults.add(["*"], "error5xx", seconds=30)
    await patient_bot.runtime.engine.outbox.run()

    assert [(c.method, c.status) for c in patient_bot.slack.calls] == [("chat.postMessage", 503)]
    assert await rows(
        patient_bot,
        "SELECT release_id, attempts, last_error FROM outbox WHERE kind = 'status' ORDER BY id",
    ) == [
        (1, 1, "chat.postMessage: Slack answered HTTP 503 without a result"),
        (2, 0, "chat unreachable"),
    ]

    patient_bot.slack.faults.clear()  # Slack is back
    await patient_bot.advance(2)
    assert sorted(top_level_posts(patient_bot)) == ["release-1-status", "release-2-status"]


@pytest.mark.slow
async def test_a_rate_limit_storm_is_waited_out_without_counting_attempts(patient_bot: BotHarness):
    """Once the status message is up, chat.postMessage and chat.update answer 429
    (Retry-After: 2) for 60 s. The bot waits each pause out, calling neither method again
    sooner; a wait is not an attempt, so attempts do not pile up, nothing is given up, and
    the thread is complete and in order."""
    await patient_bot.command("U0ALICE", CANARY)
    await patient_bot.advance(3)
    patient_bot.slack.faults.add(
        ["chat.postMessage", "chat.update"], "ratelimit", seconds=OUTAGE_S, retry_after=2
    )
    await patient_bot.advance(OUTAGE_S)
    limited = [c for c in patient_bot.slack.calls if c.status == 429]
    assert len(limited) >= 10, "the storm did not happen"
    assert {c.method for c in limited} == {"chat.postMessage", "chat.update"}
    for method in {c.method for c in limited}:
        times = [c.at for c in limited if c.method == method]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert min(gaps, default=2) >= 2, f"{method} called again within its Retry-After"

    await drain(patient_bot)
    await assert_delivered_in_full(patient_bot)
    attempts = await column(patient_bot, "SELECT attempts FROM outbox WHERE sent_at IS NOT NULL")
    assert max(attempts) <= 2, f"rate-limit waits were counted as attempts: {attempts}"


@pytest.mark.slow
async def test_a_hanging_slack_does_not_hold_up_the_stages(impatient: BotHarness):
    """chat.postMessage and chat.update hang for 60 s (the client gives up after 0.2 s): the
    release still runs every stage on time, its trail says so, and once Slack answers again
    everything owed is delivered."""
    patient_bot = impatient
    patient_bot.slack.faults.add(["chat.postMessage", "chat.update"], "hang", seconds=OUTAGE_S)
    await patient_bot.command("U0ALICE", CANARY)
    await patient_bot.advance(OUTAGE_S - 1, step=2)

    hung = [c for c in patient_bot.slack.calls if c.fault]
    assert hung and {c.method for c in hung} <= {"chat.postMessage", "chat.update"}
    assert patient_bot.slack.messages(CHANNEL) == [], "Slack answered during the hang"
    assert await column(patient_bot, "SELECT state FROM releases") == [State.SUCCEEDED.value]
    actions = [row["action"] for row in await export_rows(patient_bot.runtime.db)]
    assert actions.count("stage.succeeded") >= 3 and "release.succeeded" in actions, actions

    await patient_bot.advance(1)  # the hang's window ends on the bot's clock
    await drain(patient_bot)
    await assert_delivered_in_full(patient_bot)


# -- across replicas (PostgreSQL) ------------------------------------------------------------


@pytest.fixture
async def two_replicas(postgres_url: str) -> AsyncIterator[tuple[BotHarness, object]]:
    """The harness (replica 1, with the stand-in) and a second runtime on the same database
    and clock, calling the same stand-in; neither ticks unless the test says so."""
    first = await start(postgres_url)
    second = await build_runtime(
        Settings(
            database_url=postgres_url,
            port=free_port(),
            bot_token=LOCAL_BOT_TOKEN,
            signing_secret=first.slack.signing_secret,
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


@pytest.mark.postgres
async def test_a_rate_limit_pauses_the_method_for_every_replica(two_replicas):
    """Replica 1 gets a 429 (Retry-After: 7) on chat.update. Replica 2, with a status update
    of another release due, does not call chat.update before those 7 s are over (the pause is
    a row in the database, not a memory of replica 1's), and does call it after."""
    first, second = two_replicas
    await first.command("U0ALICE", "/deploy checkout to production")  # each waits for
    await first.command("U0ALICE", "/deploy search to production")  # an approval
    await first.advance(3)
    assert len(top_level_posts(first)) == 2

    first.slack.rate_limit("chat.update", retry_after_seconds=7)
    await first.command("U0BOB", "/release approve #1")
    (limited,) = [c for c in first.web_api_calls("chat.update") if c.status == 429]
    assert await scalar(first, "SELECT count(*) FROM chat_holds WHERE scope = 'method:chat.update'")
    before = len(first.web_api_calls("chat.update"))

    # Release 2 changes, and only replica 2 works from here on.
    await first.slack.slash_command("U0BOB", CHANNEL, "/release", "approve #2")
    await second.engine.settle()
    owed = await scalar(
        first, "SELECT count(*) FROM outbox WHERE kind = 'status' AND release_id = 2 "
        "AND sent_at IS NULL AND due_at IS NOT NULL",
    )  # fmt: skip
    assert owed, "replica 2 had no status update to send"
    for _ in range(10):
        first.clock.advance(1)
        await second.engine.settle()

    after = first.web_api_calls("chat.update")[before:]
    assert after, "replica 2 never updated a status message once the pause was over"
    assert all(call.at >= limited.at + 7 for call in after), (
        f"chat.update called {min(c.at for c in after) - limited.at:.0f}s after a 429 asking for 7s"
    )
    assert all(call.status == 200 for call in after)
    assert {call.args["ts"] for call in after} == {m.ts for m in first.slack.messages(CHANNEL)}


@pytest.mark.slow
async def test_status_updates_stay_within_the_workspace_budget_and_end_final(database_url):
    """With a budget of 2 chat.update calls a minute (10 at once after a quiet time), a canary
    that changes its status many times a minute never makes Slack rate-limit it: updates over
    budget wait untried and coalesce, and the message still ends showing the final state."""
    patient_bot = await start(database_url, chat_updates_per_minute=2)
    try:
        await patient_bot.command("U0ALICE", CANARY)
        await patient_bot.advance(120)
        await drain(patient_bot)
        updates = [c.at for c in patient_bot.web_api_calls("chat.update") if c.status == 200]
        busiest = max(sum(1 for t in updates if start <= t < start + 60) for start in updates)
        assert busiest <= 2 + 10, f"{busiest} chat.update calls in one minute"
        waited = await column(
            patient_bot,
            "SELECT count(*) FROM outbox WHERE last_error = 'waiting: chat.update budget'",
        )
        assert waited[0] > 0, f"the budget was never reached ({len(updates)} updates)"
        await assert_delivered_in_full(patient_bot)
    finally:
        await patient_bot.stop()
