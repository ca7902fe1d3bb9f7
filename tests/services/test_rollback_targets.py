"""Which release a rollback means: what runs now. On-call is never blocked by a newer release
waiting at its gate, and never sent to undo a release that moved no traffic."""

from __future__ import annotations

from tests.support.service_world import ServiceWorld


async def ship(world: ServiceWorld, line: str) -> None:
    await world.command("U0ALICE", line)
    await world.advance(3)
    if "waiting for approval" in world.status():
        await world.click("U0BOB", "approve")
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=300)


async def test_rollback_undoes_what_runs_and_aborts_a_newer_release_waiting_for_approval(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    await ship(world, "/deploy checkout v1.5.0 to production")
    await world.command("U0ALICE", "/deploy checkout v1.5.1 to production")
    await world.advance(3)
    assert "waiting for approval" in world.status(2)

    await world.command("U0CAROL", "/rollback checkout production latency spike")
    await world.run_until(lambda: "rolled back" in world.status(1), limit_s=30)
    assert "back on `v1.4.2` · `v1.5.0` withdrawn" in world.status(1)
    assert "aborted" in world.status(2).lower()
    assert "superseded by the rollback of #1" in world.status(2)
    assert world.replies_to("U0CAROL") == []


async def test_roll_back_on_the_live_release_works_after_a_release_aborted_at_the_gate(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    await ship(world, "/deploy checkout v1.5.0 to production")
    await world.command("U0ALICE", "/deploy checkout v1.5.1 to production")
    await world.advance(3)
    await world.click("U0ALICE", "abort", 2)
    await world.click("U0CAROL", "rollback", 1)
    await world.run_until(lambda: "rolled back" in world.status(1), limit_s=30)
    assert world.replies_to("U0CAROL") == []


async def test_an_old_release_cannot_be_rolled_back_over_a_newer_one(scenario_world: ServiceWorld):
    world = scenario_world
    await ship(world, "/deploy checkout v1.5.0 to staging")
    await ship(world, "/deploy checkout v1.5.1 to staging")
    await world.click("U0CAROL", "rollback", 1)
    assert any(
        "#1 is not what runs in checkout/staging now; #2 (v1.5.1) is newer" in text
        and "/rollback checkout staging" in text
        for text in world.replies_to("U0CAROL")
    )
    assert "live" in world.status(2).lower()


async def test_the_version_running_before_an_explicit_version_is_known(
    scenario_world: ServiceWorld,
):
    await ship(scenario_world, "/deploy checkout v1.4.4 to staging")
    assert "`v1.4.2` → `v1.4.4`" in scenario_world.status(1)


async def test_concurrent_releases_when_the_catalog_allows_them(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy jobs v2.0.0")
    await world.command("U0BOB", "/deploy jobs v2.0.1")
    assert len(world.releases()) == 2
    await world.command("U0ALICE", "/release pause jobs staging")
    assert any(
        "several active releases in staging (#1, #2)" in t for t in world.replies_to("U0ALICE")
    )
    await world.advance(6)
    await world.command("U0ALICE", "/release pause #2")
    assert "paused" in world.status(2).lower()
    assert "paused" not in world.status(1).lower()
