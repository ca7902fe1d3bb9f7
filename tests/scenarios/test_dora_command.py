"""`/release dora` in chat, computed from the bot's own release history."""

from __future__ import annotations

from tests.support.harness import BotHarness


async def test_dora_counts_a_rolled_back_production_release_as_a_failure(bot: BotHarness):
    await bot.command("U0ALICE", "/deploy search canary 10% to production")
    await bot.advance(3)
    await bot.click("U0BOB", bot.status_message(), "release_approve")
    await bot.run_until(lambda: "rolled back" in bot.status_message().text, limit_s=120)

    await bot.command("U0ALICE", "/release dora search 7d")
    answer = bot.replies_to("U0ALICE")[-1]
    assert "*DORA metrics* for search in production, last 7d" in answer
    assert "*Change failure rate*: 100% (1 of 1) · *low*" in answer
    assert "*Deployment frequency*: 0.00 a day (0 successful) · *low*" in answer
    assert "*Time to restore*: no data (not restored yet)" in answer


async def test_dora_usage_errors_say_how(bot: BotHarness):
    await bot.command("U0ALICE", "/release dora 3x")
    assert "`3x` is not a window; write it like 30d or 12h." in bot.replies_to("U0ALICE")[-1]
