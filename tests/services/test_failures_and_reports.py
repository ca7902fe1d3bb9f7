"""What goes wrong, and what people ask about releases, as the services answer it: a failed
analysis rolling back by itself, a red CI gate, usage errors, help, status, history, DORA."""

from __future__ import annotations

from tests.support.service_world import ServiceWorld


async def roll_back_a_bad_canary(world: ServiceWorld) -> None:
    await world.command("U0ALICE", "/deploy search canary 10% to production")
    await world.advance(3)
    await world.click("U0BOB", "approve")
    await world.run_until(lambda: "rolled back" in world.status(), limit_s=120)


async def test_a_bad_canary_fails_analysis_and_rolls_back_by_itself(scenario_world: ServiceWorld):
    world = scenario_world
    await roll_back_a_bad_canary(world)
    thread = world.thread()
    assert any("Analysis failed" in t and "error_rate 0.083 (max 0.01)" in t for t in thread)
    assert any("Rolling back to v0.9.0 automatically" in t for t in thread)
    assert any("search in production is on v0.9.0 again" in t for t in thread)
    assert "analysis failed at 10%" in world.status()
    assert "10% (analysis failed)" in world.status()


async def test_a_red_ci_refuses_the_release_naming_the_failing_check(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy legacy to staging")
    await world.advance(3)
    assert "rejected" in world.status().lower()
    assert "CI is red: failing: unit-tests" in world.status()
    assert any("CI gate refused" in t and "unit-tests" in t for t in world.thread())


async def test_usage_errors_are_private_and_give_an_example(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy chekout canary 10%")
    await world.command("U0ALICE", "/deploy checkout canary 150%")
    await world.command("U0ALICE", "/release frobnicate")
    replies = world.replies_to("U0ALICE")
    assert any(
        "I don't know a service called `chekout`. Did you mean `checkout`?" in r for r in replies
    )
    assert any("150 is not a valid percent" in r for r in replies)
    assert any("`/release frobnicate` is not a release command" in r for r in replies)
    assert all("For example" in r for r in replies)
    assert world.releases() == [] and world.posts() == []
    assert [r.event.outcome for r in world.audit()] == ["invalid"] * 3


async def test_help_lists_every_command(scenario_world: ServiceWorld):
    await scenario_world.command("U0CAROL", "/release help")
    (reply,) = scenario_world.replies_to("U0CAROL")
    for command in (
        "/deploy checkout canary 10%",
        "/rollback",
        "/release status",
        "promote",
        "pause",
        "resume",
        "abort",
        "history",
        "flag new-cart 25%",
    ):
        assert command in reply


async def test_status_list_and_history(scenario_world: ServiceWorld):
    world = scenario_world
    await world.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await world.command("U0ALICE", "/release status checkout")
    await world.command("U0ALICE", "/release list")
    await world.run_until(lambda: "live" in world.status().lower(), limit_s=200)
    await world.command("U0ALICE", "/release history checkout")
    status, active, history = world.replies_to("U0ALICE")
    assert "*#1* checkout → staging" in status and "10% → 50% → 100%" in status
    assert "*#1* checkout → staging" in active
    assert "Last 1 release of checkout" in history and "succeeded" in history


async def test_dora_counts_a_rolled_back_production_release_as_a_failure(
    scenario_world: ServiceWorld,
):
    world = scenario_world
    await roll_back_a_bad_canary(world)
    await world.command("U0ALICE", "/release dora search 7d")
    answer = world.replies_to("U0ALICE")[-1]
    assert "*DORA metrics* for search in production, last 7d" in answer
    assert "*Change failure rate*: 100% (1 of 1) · *low*" in answer
    assert "*Deployment frequency*: 0.00 a day (0 successful) · *low*" in answer
    assert "*Time to restore*: no data (not restored yet)" in answer


async def test_dora_usage_errors_say_how(scenario_world: ServiceWorld):
    await scenario_world.command("U0ALICE", "/release dora 3x")
    answer = scenario_world.replies_to("U0ALICE")[-1]
    assert "`3x` is not a window; write it like 30d or 12h." in answer
