"""Deploy windows as the services enforce them: outside one a deploy is refused with when the
next opens; break-glass goes through; a release that waited at its gate past the window's end
does not start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app.catalog_file import parse_catalog
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.service_world import ServiceWorld

WINDOWED = SCENARIO_CATALOG.read_text().replace(
    "production: {order: 2, aliases: [prod], production: true, approvals: 1, auto_rollback: true}",
    "production: {order: 2, aliases: [prod], production: true, approvals: 1, auto_rollback: true,"
    " windows: [{days: mon-thu, start: '22:00', end: '06:00', timezone: Europe/Berlin}]}",
)
MONDAY_MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MONDAY_NIGHT = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Berlin


@pytest.fixture
async def world() -> AsyncIterator[ServiceWorld]:
    made = ServiceWorld.of(parse_catalog(WINDOWED))
    yield made
    await made.close()


async def test_outside_the_windows_a_deploy_is_refused_saying_when_the_next_opens(
    world: ServiceWorld,
):
    world.clock.set(MONDAY_MORNING)
    await world.command("U0ALICE", "/deploy checkout to production")
    (refusal,) = world.replies_to("U0ALICE")
    assert "checkout goes to production only in its deploy windows" in refusal
    assert "mon-thu 22:00-06:00 Europe/Berlin" in refusal
    assert f"<!date^{int(datetime(2026, 11, 23, 21, 0, tzinfo=UTC).timestamp())}^" in refusal
    assert "at 22:00" in refusal
    assert world.releases() == []
    assert [r.event.rule for r in world.audit("command.deploy")] == ["window.closed"]


async def test_in_a_window_a_deploy_goes_ahead_and_staging_has_no_windows(world: ServiceWorld):
    world.clock.set(MONDAY_MORNING)
    await world.command("U0ALICE", "/deploy checkout to staging")
    world.clock.set(MONDAY_NIGHT)
    await world.command("U0ALICE", "/deploy checkout to production")
    assert [r.environment for r in world.releases()] == ["staging", "production"]


async def test_break_glass_deploys_outside_the_windows_with_one_more_approval(world: ServiceWorld):
    world.clock.set(MONDAY_MORNING)
    await world.command(
        "U0ALICE", "/deploy checkout to production break-glass INC-7 payments are failing"
    )
    release = world.release()
    assert release.approvals_required == 2
    (deploy,) = world.audit("command.deploy")
    assert deploy.event.rule == "window.break_glass"


async def test_a_release_that_waited_past_the_window_does_not_start(world: ServiceWorld):
    world.clock.set(datetime(2026, 11, 24, 4, 50, tzinfo=UTC))  # 05:50 in Berlin, Tuesday
    await world.command("U0ALICE", "/deploy checkout to production")
    await world.advance(3)
    assert "waiting for approval" in world.status()
    world.clock.set(datetime(2026, 11, 24, 5, 30, tzinfo=UTC))  # 06:30: the window shut
    await world.click("U0BOB", "approve")
    assert "rejected" in world.status().lower()
    assert any("did not start" in t and "deploy windows" in t for t in world.thread())
    (refused,) = world.audit("release.start_refused")
    assert refused.event.rule == "window.closed"


async def test_a_start_time_is_checked_against_the_windows_when_it_is_asked_for(
    world: ServiceWorld,
):
    world.clock.set(MONDAY_MORNING)
    await world.command("U0ALICE", "/deploy checkout to production at 12:00")
    (refusal,) = world.replies_to("U0ALICE")
    assert "only in its deploy windows" in refusal
    await world.command("U0ALICE", "/deploy checkout to production at 22:30")
    assert world.release().scheduled_for == datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    await world.click("U0BOB", "approve")
    world.clock.set(datetime(2026, 11, 23, 21, 30, tzinfo=UTC))
    await world.advance(3)
    assert "rolling out" in world.status()


async def test_where_shows_the_windows_the_next_opening_and_what_is_scheduled(
    world: ServiceWorld,
):
    world.clock.set(MONDAY_MORNING)
    await world.command("U0ALICE", "/deploy checkout to production at 22:30")
    await world.command("U0ALICE", "/release where checkout")
    where = world.replies_to("U0ALICE")[-1]
    assert "windows: mon-thu 22:00-06:00 Europe/Berlin · next opens <!date^" in where
    assert "scheduled: #1 " in where
    assert where.count("windows:") == 1, "staging has no windows"


async def window_shuts_mid_rollout(world: ServiceWorld) -> None:
    world.clock.set(datetime(2026, 11, 24, 4, 59, 30, tzinfo=UTC))  # Tue 05:59:30 in Berlin
    await world.command("U0ALICE", "/deploy checkout canary 10% to production")
    await world.advance(3)
    await world.click("U0BOB", "approve")
    await world.advance(60)  # 10%, its bake, 50% at 06:00 as the window shuts, its bake


async def test_a_rollout_whose_window_shuts_goes_on_to_its_end_by_default(world: ServiceWorld):
    await window_shuts_mid_rollout(world)
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=600)
    closed = [t for t in world.thread() if "The deploy window closed" in t]
    assert len(closed) == 1 and "goes on to its end (when_window_closes: finish)" in closed[0]


async def test_a_rollout_whose_window_shuts_pauses_until_the_next_opens_when_told_to():
    text = WINDOWED.replace(
        "timezone: Europe/Berlin}]}", "timezone: Europe/Berlin}], when_window_closes: pause}"
    )
    world = ServiceWorld.of(parse_catalog(text))
    try:
        await window_shuts_mid_rollout(world)
        assert "paused" in world.status().lower()
        assert "paused until a deploy window opens" in world.status()
        assert any(
            "The deploy window closed; paused until the next opens" in t for t in world.thread()
        )
        await world.advance(3600, step=300)
        assert "paused" in world.status().lower(), "nothing moves outside the window"
        world.clock.set(datetime(2026, 11, 24, 21, 0, tzinfo=UTC))  # Tue 22:00 in Berlin
        await world.run_until(lambda: "live" in world.status().lower(), limit_s=600)
        assert any("A deploy window opened; resuming" in t for t in world.thread())
    finally:
        await world.close()


async def test_a_refusal_outside_the_windows_offers_the_same_deploy_at_the_next_opening(
    world: ServiceWorld,
):
    world.clock.set(MONDAY_MORNING)
    await world.command("U0ALICE", "/deploy checkout v1.4.3 canary 10% to production")
    (offer,) = [e for e in world.db.outbox if e.message.template == "refusal"]
    again = offer.message.context["schedule"]
    assert again == "checkout v1.4.3 canary 10% to production at 2026-11-23 21:00 UTC"
    message = world.renderer.render("refusal", offer.message.context)
    (button,) = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Schedule for then" and button["value"] == again
    await world.command("U0ALICE", f"/deploy {again}")  # what the button sends
    release = world.release()
    assert release.scheduled_for == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    assert release.version_to == "v1.4.3" and release.stages[0].label == "10%"
