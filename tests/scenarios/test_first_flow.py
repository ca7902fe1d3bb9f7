from __future__ import annotations

import pytest

from tests.support.harness import BotHarness
from bot.catalog_file import load_catalog
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[1] / "support" / "scenario_catalog.yaml"


@pytest.fixture
async def harness(database_url):
    h = await BotHarness.start(database_url, load_catalog(CATALOG))
    yield h
    await h.stop()


async def test_smoke(harness: BotHarness):
    result = await harness.command("U0ALICE", "/deploy checkout canary 10% to production")
    assert result.status == 200, result
    await harness.advance(3)
    msg = harness.status_message()
    print(msg.text)
    r = await harness.click("U0ALICE", msg, "release_approve")
    print(harness.replies_to("U0ALICE"))
    r = await harness.click("U0BOB", msg, "release_approve")
    await harness.advance(10)
    msg = harness.status_message()
    print(msg.text, msg.blocks[2])
    print([m.text for m in msg.replies])
    await harness.click("U0CAROL", msg, "release_rollback")
    await harness.advance(5)
    msg = harness.status_message()
    print(msg.text)
    print([m.text for m in msg.replies])
    for c in harness.slack.calls:
        print(c.method, c.response.get("ok"), c.response.get("error"))
