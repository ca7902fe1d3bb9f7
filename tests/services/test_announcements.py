"""Who hears what: the catalog's notify plan announces a release's events in the channels it
names, once each, and nowhere else; /release notify says the plan in words."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from bot.app.catalog_file import parse_catalog
from bot.core.notify_plan import NotifyPlan
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import CHANNEL
from tests.support.service_world import ServiceWorld

ANNOUNCE = "C0RELEASES"
STAGING = "staging: {order: 1, aliases: [stage], approvals: 0"
PRODUCTION = "production: {order: 2, aliases: [prod], production: true, approvals: 1, "
PLANNED = (
    SCENARIO_CATALOG.read_text()
    .replace(
        STAGING + "}",
        STAGING + f", notify: {{channels: [{{channel: {ANNOUNCE}, events: [requested]}}]}}}}",
    )
    .replace(
        PRODUCTION + "auto_rollback: true}",
        PRODUCTION + "auto_rollback: true, notify: {channels: [{channel: C0RELEASES,"
        " events: [approved, started, succeeded, failed, rolled_back]}]}}",
    )
)


@pytest.fixture
async def world() -> AsyncIterator[ServiceWorld]:
    made = ServiceWorld.of(parse_catalog(PLANNED))
    yield made
    await made.close()


async def test_each_planned_event_is_announced_once_in_the_planned_channel(world: ServiceWorld):
    await world.command("U0ALICE", "/deploy checkout to staging")
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=300)
    assert [a.split(" (")[0] for a in world.posts(ANNOUNCE)] == [
        ":loudspeaker: *checkout → staging* release #1 requested"
    ]

    await world.command("U0ALICE", "/deploy checkout to production")
    await world.advance(3)
    await world.click("U0BOB", "approve")
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=300)
    production = [a for a in world.posts(ANNOUNCE) if "production*" in a]
    assert [a.split("* release #2 ")[1].split(" (")[0] for a in production] == [
        "approved",
        "started rolling out",
        "is live",
    ]
    assert all("its status message is in <#C0DEPLOYS>" in a for a in production)
    assert world.posts(CHANNEL) == [], "the command's channel has the status message, not these"


async def test_a_rollback_is_announced_and_so_is_the_failure_that_caused_it(world: ServiceWorld):
    await world.command("U0ALICE", "/deploy search canary 10% to production")
    await world.advance(3)
    await world.click("U0BOB", "approve")
    await world.run_until(lambda: "rolled back" in world.status(), limit_s=120)
    said = [a.split("* release #1 ")[1].split(" (")[0] for a in world.posts(ANNOUNCE)]
    assert said == ["approved", "started rolling out", "failed", "was rolled back"]


async def test_the_plan_in_words(world: ServiceWorld):
    await world.command("U0CAROL", "/release notify checkout")
    (plan,) = world.replies_to("U0CAROL")
    assert "*staging*: the release's own channel, with its status message and thread" in plan
    assert f"<#{ANNOUNCE}>: requested" in plan
    assert f"<#{ANNOUNCE}>: approved, started, succeeded, failed, rolled back" in plan


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        ({"channels": [{"channel": "C0X", "events": ["deployed"]}]}, "requested"),
        ({"channels": [{"channel": "#releases", "events": ["started"]}]}, "not a Slack channel ID"),
        ({"channels": [{"channel": "C0X", "events": []}]}, "at least 1"),
    ],
)
def test_a_plan_that_cannot_work_says_why(plan: dict, problem: str):
    with pytest.raises(ValidationError, match=problem):
        NotifyPlan.model_validate(plan)
