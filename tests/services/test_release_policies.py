"""Release policy (issue 3) as the services enforce it: approvals from people and Slack groups,
expiry with reminders and escalation, freezes and break-glass, environment order, locks. The
same rules through signed Slack requests are in tests/scenarios (the wire, not the rules)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.catalog_file import parse_catalog
from tests.support.catalogs import POLICY_CATALOG
from tests.support.service_world import ServiceWorld


async def ship_to_staging(world: ServiceWorld) -> None:
    await world.command("U0ALICE", "/deploy checkout v2.0.0 to staging")
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=120)


async def ask_production(world: ServiceWorld, user: str = "U0ALICE", extra: str = "") -> None:
    await world.command(user, f"/deploy checkout to production {extra}".strip())
    await world.advance(3)


async def test_staging_is_approved_by_green_ci_and_production_ships_what_staging_proved(
    policy_world: ServiceWorld,
):
    world = policy_world
    await world.command("U0ALICE", "/deploy checkout to production")
    assert any(
        "Nothing has succeeded in staging yet, and production comes after it" in t
        and "/deploy checkout to staging" in t
        for t in world.replies_to("U0ALICE")
    )
    await world.command("U0ALICE", "/deploy checkout v2.0.0 to production")
    assert any("v2.0.0 has not succeeded in staging yet" in t for t in world.replies_to("U0ALICE"))
    await ship_to_staging(world)
    assert any("Approved automatically: CI is green" in t for t in world.thread(1))
    await ask_production(world)
    assert "`v1.9.0` → `v2.0.0`" in world.status(), "staging's proven version"
    assert "waiting for approval" in world.status()


async def test_two_approvers_one_from_a_slack_group_and_a_second_click_counts_once(
    policy_world: ServiceWorld,
):
    world = policy_world
    await ship_to_staging(world)
    await ask_production(world, user="U0BOB")
    await world.click("U0BOB", "approve")
    assert any(
        "You requested release #2, so you cannot approve it yourself" in t
        for t in world.replies_to("U0BOB")
    )
    await world.click("U0CAROL", "approve")  # on-call is not eligible until escalated
    assert any("You may not approve release #2" in t for t in world.replies_to("U0CAROL"))
    await world.click("U0FRANK", "approve")  # an approver only through the group S0APPROVERS
    await world.click("U0FRANK", "approve")
    assert "waiting for approval" in world.status()
    assert "approved by <@U0FRANK> (1 of 2)" in world.status()
    assert len([t for t in world.thread() if "Approved by <@U0FRANK> (1 of 2)" in t]) == 1
    assert any("You already approved release #2" in t for t in world.replies_to("U0FRANK"))
    await world.click("U0DAVE", "approve")  # an admin is always eligible
    assert "rolling out" in world.status()
    started = [r for r in world.audit("stage.started") if r.event.environment == "production"]
    assert started and set(started[0].event.approvers) == {"U0FRANK", "U0DAVE"}, (
        "each record after the approvals names the approvers"
    )


async def test_group_members_are_read_when_asked(policy_world: ServiceWorld):
    world = policy_world
    world.groups["S0APPROVERS"] = frozenset({"U0BOB"})  # frank left the group
    await ship_to_staging(world)
    await ask_production(world)
    await world.click("U0FRANK", "approve")
    assert any("You may not approve release #2" in t for t in world.replies_to("U0FRANK"))


async def test_an_unanswered_request_escalates_reminds_and_lapses(policy_world: ServiceWorld):
    world = policy_world
    await ship_to_staging(world)
    await ask_production(world)
    await world.advance(21 * 60, step=60)
    assert any("<!subteam^S0ONCALL>, can one of you approve" in t for t in world.thread())
    assert "escalated to <!subteam^S0ONCALL>" in world.status()
    await world.click("U0CAROL", "approve")  # on-call may approve now
    assert "approved by <@U0CAROL> (1 of 2)" in world.status()

    await world.advance(40 * 60, step=60)
    texts = world.thread()
    reminders = [
        i for i, t in enumerate(texts) if "Reminder: release #2 still needs 1 approval" in t
    ]
    lapsed = [i for i, t in enumerate(texts) if "the request lapsed" in t]
    assert len(reminders) == 2 and lapsed and max(reminders) < lapsed[0]
    assert "rejected" in world.status().lower() and "approval expired" in world.status()
    await world.command("U0ALICE", "/deploy checkout to production")  # the lock is free again
    assert len(world.releases()) == 3


async def test_a_freeze_refuses_deploys_allows_rollbacks_and_records_break_glass(
    policy_world: ServiceWorld,
):
    world = policy_world
    await ship_to_staging(world)
    await ask_production(world)
    await world.click("U0BOB", "approve")
    await world.click("U0FRANK", "approve")
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=120)

    world.clock.set(datetime(2026, 12, 24, 12, 0, tzinfo=UTC))  # the holidays freeze
    await world.command("U0ALICE", "/deploy checkout v2.0.0 to production")
    refusal = world.replies_to("U0ALICE")[-1]
    assert "is frozen: the holidays freeze until" in refusal
    assert "the shop's busiest days" in refusal and "Rollbacks are still allowed" in refusal
    assert "break-glass INC-123" in refusal

    await world.command("U0CAROL", "/rollback checkout production checkout errors")
    await world.run_until(lambda: "rolled back" in world.status(), limit_s=60)

    glass = "/deploy checkout v2.0.0 to production break-glass INC-42 payments fail without the fix"
    await world.command("U0ALICE", glass)
    assert any("locked by <@U0CAROL>" in t for t in world.replies_to("U0ALICE")), (
        "production locks on rollback: the break-glass waits for the lock"
    )
    await world.command("U0CAROL", "/release unlock checkout production")
    await world.command("U0ALICE", glass)
    await world.advance(3)
    status = world.status()
    assert ":rotating_light: *break-glass* INC-42" in status
    assert "payments fail without the fix" in status
    assert "approvals 0/3" in status, "two approvals plus one for breaking glass"
    deploys = world.audit("command.deploy")
    assert [r.event.rule for r in deploys[-3:]] == [
        "freeze.window",
        "lock.environment",
        "freeze.break_glass",
    ]
    assert deploys[-1].event.details["break_glass"]["incident"] == "INC-42"


async def test_locks_and_stop_the_line_freezes_from_chat(policy_world: ServiceWorld):
    world = policy_world
    await world.command("U0BOB", "/release lock checkout staging schema migration for 1h")
    assert ":lock: <@U0BOB> locked *checkout* in *staging*" in world.posts()[-1]
    await world.command("U0ALICE", "/deploy checkout to staging")
    assert any(
        "locked by <@U0BOB>" in t and "schema migration" in t for t in world.replies_to("U0ALICE")
    )
    await world.command("U0ALICE", "/release unlock checkout staging")
    assert any("only <@U0BOB> or an admin may lift it" in t for t in world.replies_to("U0ALICE"))
    await world.command("U0DAVE", "/release unlock checkout staging")
    assert "(admin) broke <@U0BOB>'s lock" in world.posts()[-1]

    await world.command("U0CAROL", "/release freeze all payments incident for 30m")
    assert ":snowflake: *Freeze* on every environment" in world.posts()[-1]
    await world.command("U0ALICE", "/deploy checkout to staging")
    assert any("stop-the-line (every environment)" in t for t in world.replies_to("U0ALICE"))
    await world.command("U0ALICE", "/release unfreeze all")
    assert any("You may not unfreeze" in t for t in world.replies_to("U0ALICE"))
    await world.advance(31 * 60, step=60)  # it expires by itself
    await world.command("U0ALICE", "/deploy checkout to staging")
    assert "checkout → staging" in world.status()

    rules = {(r.event.action, r.event.outcome, r.event.rule) for r in world.audit()}
    assert ("command.unlock", "ok", "lock.break") in rules
    assert ("command.unlock", "refused", "lock.owner") in rules
    assert ("command.freeze", "ok", "rbac.freeze") in rules


async def test_whoami_who_can_and_where(policy_world: ServiceWorld):
    world = policy_world
    await world.command("U0FRANK", "/release whoami")
    await world.command("U0FRANK", "/release who-can approve checkout production")
    await world.command("U0FRANK", "/release where checkout")
    whoami, who_can, where = world.replies_to("U0FRANK")
    assert "*deployer* for every service in staging (directly)" in whoami
    assert "<@U0BOB>" in who_can and "<@U0FRANK>" in who_can and "<@U0DAVE>" in who_can
    assert "*staging*: you may deploy" in where
    assert "*production*: You may not deploy checkout in production" in where


async def test_an_author_of_the_change_may_not_approve_it():
    text = POLICY_CATALOG.read_text()
    text = text.replace(
        "      eligible: {roles: [approver], groups: [S0APPROVERS]}",
        "      eligible: {roles: [approver], groups: [S0APPROVERS]}\n"
        "      not_commit_authors: true",
    )
    text = text.replace(
        "      head_versions: {checkout: v2.0.0}",
        "      head_versions: {checkout: v2.0.0}\n      authors: {checkout: [bob-gh]}",
    )
    text += "identities:\n  U0BOB: [bob-gh, bob@acme.test]\n"
    world = ServiceWorld.of(parse_catalog(text))
    try:
        await ship_to_staging(world)
        await ask_production(world)
        await world.click("U0BOB", "approve")
        assert any(
            "You wrote commits in v2.0.0" in t and "did not" in t for t in world.replies_to("U0BOB")
        )
        await world.click("U0FRANK", "approve")
        await world.click("U0DAVE", "approve")
        assert "rolling out" in world.status()
        refused = [r for r in world.audit() if r.event.rule == "approval.not_author"]
        assert [r.event.actor_id for r in refused] == ["U0BOB"]
    finally:
        await world.close()


async def test_a_freeze_or_lock_that_arrives_while_a_release_waits_stops_its_start(
    policy_world: ServiceWorld,
):
    world = policy_world
    await world.command("U0ALICE", "/deploy checkout v2.0.0 to staging")  # CI pending 2 s
    await world.command("U0CAROL", "/release freeze staging incident INC-9 for 1h")
    await world.advance(3)  # CI green: staging is auto-approved, but it is frozen now
    assert "rejected" in world.status().lower()
    assert any("did not start" in t and "frozen" in t for t in world.thread())
    await world.command("U0CAROL", "/release unfreeze staging")
    await ship_to_staging(world)

    await ask_production(world)
    await world.click("U0BOB", "approve")
    await world.command("U0CAROL", "/release lock checkout production investigating for 2h")
    await world.click("U0FRANK", "approve")
    assert "rejected" in world.status().lower()
    assert any("did not start" in t and "locked by <@U0CAROL>" in t for t in world.thread())
    refused = world.audit("release.start_refused")
    assert [r.event.rule for r in refused] == ["freeze.window", "lock.environment"]


async def test_break_glass_needs_a_freeze_and_locks_can_be_extended_by_their_owner(
    policy_world: ServiceWorld,
):
    world = policy_world
    await world.command("U0ALICE", "/deploy checkout to staging break-glass INC-1 just because")
    assert any("no glass to break" in t for t in world.replies_to("U0ALICE"))
    await world.command("U0BOB", "/release lock checkout staging migration for 1h")
    await world.command("U0BOB", "/release lock checkout staging migration, part two for 3h")
    notices = [t for t in world.posts() if ":lock:" in t]
    assert len(notices) == 2 and "part two" in notices[-1]
    await world.command("U0BOB", "/release lock checkout staging forever for 1 day")
    assert any("`for 1` needs a unit" in t for t in world.replies_to("U0BOB"))
