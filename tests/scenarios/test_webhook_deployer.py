"""An in-house deploy script plugged in without code: the bot POSTs each stage, signed, to the
script; the script answers 202 and later calls the bot back, signed, at its callback
endpoint; the release moves on that callback."""

from __future__ import annotations

import pytest

from bot.core.catalog import Catalog
from bot.core.clock import ManualClock
from tests.support.harness import BotHarness
from tests.support.webhook_script import FakeDeployScript

SECRET = b"deploy-hook-scenario-secret"


def catalog(script_url: str) -> Catalog:
    return Catalog.model_validate(
        {
            "environments": {"staging": {"order": 1, "approval": {"auto_when_ci_green": True}}},
            "roles": {"deployer": ["U0ALICE"], "oncall": ["U0CAROL"]},
            "services": {
                "checkout": {
                    "repository": "acme/checkout",
                    "environments": ["staging"],
                    "canary": {"steps": [10, 100], "bake": "10s"},
                    "backends": {"deployer": "deploy-hook"},
                }
            },
            "backends": {
                "simulated": {"type": "simulated", "settings": {"ci_seconds": 0}},
                "deploy-hook": {
                    "type": "webhook",
                    "settings": {
                        "url": f"{script_url}/deploy",
                        "mode": "callback",
                        "secret_env": "RELEASEBOT_TEST_DEPLOY_HOOK_SECRET",
                        "version_url": f"{script_url}/version",
                    },
                },
            },
        }
    )


@pytest.fixture
async def script():
    started = await FakeDeployScript.start(SECRET, ManualClock(), mode="callback")
    started.running[("checkout", "staging")] = "v1.4.2"
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def webhook_bot(database_url, script, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_TEST_DEPLOY_HOOK_SECRET", SECRET.decode())
    harness = await BotHarness.start(database_url, catalog(script.url))
    script.clock = harness.clock  # the script signs its callbacks with the bot's time
    try:
        yield harness
    finally:
        await harness.stop()


async def test_each_stage_waits_for_the_scripts_signed_callback(webhook_bot, script):
    await webhook_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await webhook_bot.advance(30)
    [step] = script.unique_deliveries().values()
    assert step["event"] == "step" and step["stage"]["percent"] == 10
    callback = "/integrations/webhook/deploy-hook/callback"
    assert step["callback_url"] == f"{webhook_bot.base_url}{callback}"
    assert "rolling out" in webhook_bot.status_message().text, "no callback yet: still at 10%"

    await script.finish_operations()
    assert script.callbacks[-1][0] == 200, script.callbacks
    await webhook_bot.advance(15)  # the bake after 10%, then the 100% step is sent
    assert len(script.unique_deliveries()) == 2
    await script.finish_operations()
    await webhook_bot.run_until(lambda: ": live (" in webhook_bot.status_message().text, limit_s=30)
    assert script.running[("checkout", "staging")] == "v1.5.0"


async def test_a_failed_step_reported_by_callback_rolls_back(webhook_bot, script):
    script.fail_next_step = True
    await webhook_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await webhook_bot.advance(5)
    await script.finish_operations()
    await webhook_bot.advance(5)
    await script.finish_operations()  # the rollback the bot sent
    await webhook_bot.run_until(
        lambda: "rolled back" in webhook_bot.status_message().text, limit_s=30
    )
    events = [d["event"] for d in script.unique_deliveries().values()]
    assert events == ["step", "rollback"]


async def test_a_forged_callback_is_refused_and_changes_nothing(webhook_bot, script):
    await webhook_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await webhook_bot.advance(5)
    [step] = script.unique_deliveries().values()
    await script.call_back(
        step["callback_url"],
        {"operation_id": step["operation_id"], "state": "succeeded"},
        secret=b"guessed",
    )
    assert script.callbacks[-1][0] == 401
    await webhook_bot.advance(5)
    assert "rolling out" in webhook_bot.status_message().text
