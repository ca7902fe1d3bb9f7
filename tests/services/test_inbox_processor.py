"""The inbox processor: each accepted request is handled once, and one that comes too late is
answered as not carried out, never carried out."""

from __future__ import annotations

from datetime import timedelta

from bot.core.ports import InboxItem
from bot.services.inbox import DEFAULT_DEADLINE_S, Inbound
from tests.support.service_world import ServiceWorld


async def accepted(world: ServiceWorld, user: str, line: str) -> InboxItem:
    command, _, text = line.partition(" ")
    inbound = Inbound("command", world.request(user, "C0DEPLOYS", "command"), command, text)
    item_id = await world.db.receive(inbound.request.key)
    assert item_id is not None
    return InboxItem(item_id, inbound.request.key, inbound.to_payload(), world.clock.now(), 1)


async def test_a_request_handled_twice_is_carried_out_once(scenario_world: ServiceWorld):
    world = scenario_world
    item = await accepted(world, "U0ALICE", "/deploy checkout to staging")
    await world.processor.process(item)
    await world.processor.process(item)  # another replica, or a retry after a crash
    assert len(world.releases()) == 1
    assert len(world.audit("command.deploy")) == 1


async def test_the_same_request_accepted_twice_is_one_row(scenario_world: ServiceWorld):
    item = await accepted(scenario_world, "U0ALICE", "/deploy checkout to staging")
    assert await scenario_world.db.receive(item.key) is None


async def test_a_request_past_its_deadline_is_answered_not_carried_out(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    item = await accepted(world, "U0ALICE", "/deploy checkout to staging")
    world.clock.advance(DEFAULT_DEADLINE_S + 1)
    await world.processor.process(item)
    assert world.releases() == []
    (expired,) = world.audit("command.expired")
    assert (
        expired.event.outcome == "expired" and "/deploy checkout to staging" in expired.event.reason
    )
    (answer,) = world.replies_to("U0ALICE")
    assert "not" in answer.lower() and "/deploy checkout to staging" in answer


async def test_requests_handled_together_are_each_carried_out(scenario_world: ServiceWorld):
    world = scenario_world
    items = [
        await accepted(world, "U0ALICE", "/deploy checkout to staging"),
        await accepted(world, "U0ALICE", "/deploy search to staging"),
        await accepted(world, "U0BOB", "/release list"),
    ]
    world.clock.advance(timedelta(seconds=1).total_seconds())
    await world.processor.process_all(items)
    await world.processor.process_all(items)
    assert sorted(r.service for r in world.releases()) == ["checkout", "search"]
    assert len(world.replies_to("U0BOB")) == 1
