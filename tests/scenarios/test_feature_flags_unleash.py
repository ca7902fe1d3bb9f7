"""The feature-flag strategy on a real unleash-server: each stage is a real gradual-rollout
strategy in the mapped Unleash environment, widened stage by stage; rollback switches the
flag off there."""

from __future__ import annotations

import pytest

from bot.core.catalog import Catalog
from tests.support.harness import BotHarness
from tests.support.unleash_admin import UnleashAdmin

UNLEASH_ENVIRONMENT = "development"  # what the bot's "staging" is called in Unleash


def catalog(unleash_url: str) -> Catalog:
    return Catalog.model_validate(
        {
            "environments": {"staging": {"order": 1, "approval": {"auto_when_ci_green": True}}},
            "roles": {"deployer": ["U0ALICE"], "oncall": ["U0CAROL"]},
            "services": {
                "checkout": {
                    "repository": "acme/checkout",
                    "environments": ["staging"],
                    "feature-flag": {"steps": [25, 50, 100], "bake": "30s"},
                    "backends": {"flags": "unleash"},
                }
            },
            "backends": {
                "simulated": {"type": "simulated", "settings": {"ci_seconds": 0}},
                "unleash": {
                    "type": "unleash",
                    "settings": {
                        "url": unleash_url,
                        "token_env": "RELEASEBOT_TEST_UNLEASH_TOKEN",
                        "environments": {"staging": UNLEASH_ENVIRONMENT},
                    },
                },
            },
        }
    )


@pytest.fixture
async def unleash_bot(database_url, unleash_env, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_TEST_UNLEASH_TOKEN", unleash_env["UNLEASH_ADMIN_TOKEN"])
    harness = await BotHarness.start(database_url, catalog(unleash_env["UNLEASH_URL"]))
    try:
        yield harness
    finally:
        await harness.stop()


async def rollout_in_unleash(admin: UnleashAdmin, flag: str) -> tuple[bool, list[str]]:
    environment = await admin.environment(flag, UNLEASH_ENVIRONMENT)
    rollouts = [
        s["parameters"]["rollout"]
        for s in environment["strategies"]
        if s["name"] == "flexibleRollout"
    ]
    return environment["enabled"], rollouts


async def test_a_flag_release_widens_a_real_gradual_rollout_stage_by_stage(
    unleash_bot, unleash_env
):
    admin = UnleashAdmin(unleash_env)
    flag = await admin.create_flag("new-cart")
    await unleash_bot.command("U0ALICE", f"/deploy checkout flag {flag} 25% to staging")
    await unleash_bot.run_until(
        lambda: "25%" in str(unleash_bot.status_message().replies), limit_s=30
    )
    assert await rollout_in_unleash(admin, flag) == (True, ["25"])

    await unleash_bot.run_until(
        lambda: ": live (" in unleash_bot.status_message().text, limit_s=120
    )
    assert await rollout_in_unleash(admin, flag) == (True, ["100"]), "one strategy, widened"


async def test_rolling_back_a_flag_release_switches_the_flag_off(unleash_bot, unleash_env):
    admin = UnleashAdmin(unleash_env)
    flag = await admin.create_flag("new-cart")
    await unleash_bot.command("U0ALICE", f"/deploy checkout flag {flag} 25% to staging")
    await unleash_bot.run_until(
        lambda: "25%" in str(unleash_bot.status_message().replies), limit_s=30
    )
    await unleash_bot.command("U0CAROL", "/rollback checkout staging conversion dropped")
    await unleash_bot.run_until(
        lambda: "rolled back" in unleash_bot.status_message().text, limit_s=30
    )
    enabled, rollouts = await rollout_in_unleash(admin, flag)
    assert not enabled, "Unleash serves the flag to nobody in staging"
    replies = [r.text for r in unleash_bot.status_message().replies]
    assert any(f"Switching flag {flag} off requested by <@U0CAROL>" in r for r in replies)
    assert any(f"Rolled back: flag {flag} is off for checkout in staging" in r for r in replies)
