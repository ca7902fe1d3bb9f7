"""Which release a rollback means: what runs now. On-call is never blocked by a newer release
waiting at its gate, and never sent to undo a release that moved no traffic."""

from __future__ import annotations

from tests.support.harness import CHANNEL, BotHarness


def releases(bot: BotHarness):
    return [m for m in bot.slack.messages(CHANNEL) if m.bot_id]


async def ship(bot: BotHarness, line: str) -> None:
    await bot.command("U0ALICE", line)
    await bot.advance(3)
    status = releases(bot)[-1]
    if "waiting for approval" in status.text:
        await bot.click("U0BOB", status, "release_approve")
    await bot.run_until(lambda: "live" in releases(bot)[-1].text.lower(), limit_s=300)


async def test_rollback_undoes_what_runs_and_aborts_a_newer_release_waiting_for_approval(
    bot: BotHarness,
):
    await ship(bot, "/deploy checkout v1.5.0 to production")
    await bot.command("U0ALICE", "/deploy checkout v1.5.1 to production")
    await bot.advance(3)
    live, waiting = releases(bot)
    assert "waiting for approval" in waiting.text

    await bot.command("U0CAROL", "/rollback checkout production latency spike")
    await bot.run_until(lambda: "rolled back" in releases(bot)[0].text, limit_s=30)
    live, waiting = releases(bot)
    assert "back on `v1.4.2` · `v1.5.0` withdrawn" in str(live.blocks)
    assert "aborted" in waiting.text.lower()
    assert "superseded by the rollback of #1" in str(waiting.blocks)
    assert bot.replies_to("U0CAROL") == []


async def test_roll_back_on_the_live_release_works_after_a_release_aborted_at_the_gate(
    bot: BotHarness,
):
    await ship(bot, "/deploy checkout v1.5.0 to production")
    await bot.command("U0ALICE", "/deploy checkout v1.5.1 to production")
    await bot.advance(3)
    await bot.click("U0ALICE", releases(bot)[1], "release_abort")
    await bot.click("U0CAROL", releases(bot)[0], "release_rollback")
    await bot.run_until(lambda: "rolled back" in releases(bot)[0].text, limit_s=30)
    assert bot.replies_to("U0CAROL") == []


async def test_an_old_release_cannot_be_rolled_back_over_a_newer_one(bot: BotHarness):
    await ship(bot, "/deploy checkout v1.5.0 to staging")
    await ship(bot, "/deploy checkout v1.5.1 to staging")
    old = releases(bot)[0]
    await bot.click("U0CAROL", old, "release_rollback")
    assert any(
        "#1 is not what runs in checkout/staging now; #2 (v1.5.1) is newer" in text
        and "/rollback checkout staging" in text
        for text in bot.replies_to("U0CAROL")
    )
    assert "live" in releases(bot)[1].text.lower()


async def test_the_version_running_before_an_explicit_version_is_known(bot: BotHarness):
    await ship(bot, "/deploy checkout v1.4.4 to staging")
    assert "`v1.4.2` → `v1.4.4`" in str(releases(bot)[0].blocks)


async def test_concurrent_releases_when_the_catalog_allows_them(bot: BotHarness):
    await bot.command("U0ALICE", "/deploy jobs v2.0.0")
    await bot.command("U0BOB", "/deploy jobs v2.0.1")
    assert len(releases(bot)) == 2
    await bot.command("U0ALICE", "/release pause jobs staging")
    assert any(
        "several active releases in staging (#1, #2)" in t for t in bot.replies_to("U0ALICE")
    )
    await bot.advance(6)
    await bot.command("U0ALICE", "/release pause #2")
    assert "paused" in releases(bot)[1].text.lower()
    assert "paused" not in releases(bot)[0].text.lower()
