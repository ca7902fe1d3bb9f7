"""Scheduled releases as the services run them: a start time in the requester's zone, approvals
collected before it, the gate checked again at the time, Start now and Cancel."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.release import State
from bot.slack import actions
from bot.slack.render import SlackRenderer
from tests.support.service_world import ServiceWorld

MONDAY_10_BERLIN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def buttons(world: ServiceWorld) -> list[str]:
    message = SlackRenderer(world.clock).status(world.release())
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def test_a_release_waits_for_its_time_in_the_requesters_zone(scenario_world: ServiceWorld):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0ALICE", "/deploy checkout v1.4.3 to staging at 22:00")
    release = world.release()
    assert release.state is State.SCHEDULED
    assert release.scheduled_for == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # alice: Berlin
    assert any(
        "at 2026-11-23 22:00 Europe/Berlin (21:00 UTC), in 12h00m" in t for t in world.thread()
    )
    assert "Scheduled" in world.status() and "(in 12h00m)" in world.status()
    assert buttons(world) == [actions.START, actions.ABORT]
    await world.advance(3600, step=600)
    assert world.release().state is State.SCHEDULED, "nothing moves before the time"

    world.clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=300)
    assert len(world.audit("release.schedule_reached")) == 1


async def test_a_time_without_a_zone_is_utc_for_someone_slack_has_in_utc(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0BOB", "/deploy checkout to staging tomorrow 06:30")
    assert world.release().scheduled_for == datetime(2026, 11, 24, 6, 30, tzinfo=UTC)


async def test_approvals_are_collected_before_the_time_and_it_starts_at_once_then(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0ALICE", "/deploy checkout to production in 2h")
    assert buttons(world) == [actions.START, actions.APPROVE, actions.REJECT, actions.ABORT]
    await world.click("U0BOB", "approve")
    assert world.release().state is State.SCHEDULED, "an approval does not start it early"
    assert "approved by <@U0BOB> (1 of 1)" in world.status()
    world.clock.advance(2 * 3600)
    await world.advance(3)
    assert "rolling out" in world.status()


async def test_start_now_is_for_deployers_and_cancel_frees_the_environment(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0ALICE", "/deploy checkout to staging tonight")
    await world.click("U0CAROL", "start")
    assert any("You may not start checkout in staging" in t for t in world.replies_to("U0CAROL"))
    await world.click("U0ALICE", "start")
    assert any("Started before its time by <@U0ALICE>" in t for t in world.thread())
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=300)

    await world.command("U0ALICE", "/deploy checkout v1.4.4 to staging tonight")
    await world.click("U0ALICE", "abort")
    assert "aborted" in world.status().lower()
    await world.command("U0ALICE", "/deploy checkout v1.4.4 to staging")
    assert world.release().state is not State.SCHEDULED


async def test_a_freeze_that_arrives_before_the_time_stops_the_start(scenario_world: ServiceWorld):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0ALICE", "/deploy checkout to staging in 1h")
    await world.command("U0CAROL", "/release freeze staging incident INC-4 for 3h")
    world.clock.advance(3600)
    await world.advance(5)
    assert "rejected" in world.status().lower()
    (refused,) = world.audit("release.start_refused")
    assert refused.event.rule == "freeze.window"


async def test_times_that_cannot_be_met_are_refused_with_the_reason(scenario_world: ServiceWorld):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0ALICE", "/deploy checkout to staging at 2026-11-01 22:00")
    await world.command("U0ALICE", "/deploy checkout to staging at 22:00 Mars/Base")
    first, second = world.replies_to("U0ALICE")
    assert "has passed already" in first
    assert "`Mars/Base` is not a time zone" in second
    assert world.releases() == []


async def test_scheduled_releases_are_listed_soonest_first(scenario_world: ServiceWorld):
    world = scenario_world
    world.clock.set(MONDAY_10_BERLIN)
    await world.command("U0ALICE", "/deploy checkout to staging tonight")
    await world.command("U0ALICE", "/deploy search to staging in 1h")
    await world.command("U0BOB", "/deploy legacy to staging")
    await world.command("U0BOB", "/release scheduled")
    await world.command("U0BOB", "/release scheduled checkout")
    everything, checkout = world.replies_to("U0BOB")
    assert everything.index("search") < everything.index("checkout")
    assert "legacy" not in everything and "starts" in everything
    assert "Scheduled releases of checkout" in checkout and "search" not in checkout
