"""Abort, pause / resume / promote, approve and reject by command: what the controls do to a
release. The modal and the rendered buttons are tested through Slack in tests/scenarios."""

from __future__ import annotations

from bot.slack.render import SlackRenderer
from tests.support.service_world import ServiceWorld


async def test_abort_before_traffic_moves_ends_at_once(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy checkout to production")
    await world.advance(3)
    message = SlackRenderer(world.clock).status(world.release())
    abort = next(
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "release_abort"
    )
    assert "Nothing was deployed yet" in abort["confirm"]["text"]["text"]
    await world.click("U0ALICE", "abort")
    assert "aborted" in world.status()
    await world.command("U0ALICE", "/deploy checkout to production")  # the lock is free again
    assert len(world.releases()) == 2


async def test_pause_resume_and_promote(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await world.advance(6)  # CI, then the 10% step
    await world.click("U0ALICE", "pause")
    assert "paused" in world.status().lower() and "paused by <@U0ALICE>" in world.status()
    await world.advance(60)
    assert "paused" in world.status().lower(), "a paused release must not move"

    await world.click("U0ALICE", "resume")
    # the 10% bake ran out while paused: one analysis check on resume, then 50% starts
    assert ":arrow_forward: *50%*" in world.status()
    await world.advance(3)  # the 50% step is done; its analysis bakes 20 s
    assert "(analysis 0s/20s)" in world.status()
    await world.click("U0ALICE", "promote")
    assert any("Promoted by <@U0ALICE>" in r for r in world.thread())
    assert ":arrow_forward: *100%*" in world.status()
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=120)


async def test_approve_and_reject_by_command(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy checkout to production")
    await world.advance(3)
    await world.command("U0BOB", "/release reject #1 no")
    assert any("needs a reason of a few words" in t for t in world.replies_to("U0BOB"))
    await world.command("U0BOB", "/release approve #1")
    assert "rolling out" in world.status()
    assert "approved by <@U0BOB>" in world.status()


async def test_a_reject_with_its_reason_ends_the_release(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy checkout to production")
    await world.advance(3)
    await world.click("U0BOB", "reject", reason="error budget is spent")
    status = world.status()
    assert "rejected" in status and "error budget is spent" in status
    assert "rejected by <@U0BOB>" in status
    assert any("Rejected by <@U0BOB>: error budget is spent" in t for t in world.thread())


async def test_text_people_type_cannot_ping_the_channel(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await world.advance(6)
    await world.command("U0CAROL", "/rollback checkout staging <!channel> <@U0DAVE> look")
    assert any("‹!channel› ‹@U0DAVE› look" in t for t in world.thread())
    assert not any("<!channel>" in t for t in world.thread())
