"""`/release dora` in chat, computed from the bot's own release history."""

from __future__ import annotations

from tests.support.harness import BotHarness


async def test_dora_counts_a_rolled_back_production_release_as_a_failure(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy search canary 10% to production")
    await scenario_bot.advance(3)
    await scenario_bot.click("U0BOB", scenario_bot.status_message(), "release_approve")
    await scenario_bot.run_until(
        lambda: "rolled back" in scenario_bot.status_message().text, limit_s=120
    )

    await scenario_bot.command("U0ALICE", "/release dora search 7d")
    answer = scenario_bot.replies_to("U0ALICE")[-1]
    assert "*DORA metrics* for search in production, last 7d" in answer
    assert "*Change failure rate*: 100% (1 of 1) · *low*" in answer
    assert "*Deployment frequency*: 0.00 a day (0 successful) · *low*" in answer
    assert "*Time to restore*: no data (not restored yet)" in answer


async def test_dora_usage_errors_say_how(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/release dora 3x")
    assert (
        "`3x` is not a window; write it like 30d or 12h." in scenario_bot.replies_to("U0ALICE")[-1]
    )
