"""Quality gates through signed Slack requests: a version whose test report is missing is
refused on its status message, naming the gate, and the refusal is in the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.catalog_file import parse_catalog
from tests.support.audit import export_rows
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import BotHarness


def gated(reports: Path) -> str:
    text = SCENARIO_CATALOG.read_text().replace(
        "backends:\n",
        "backends:\n  reports:\n    type: reports\n    settings:\n"
        f"      junit: file://{reports}/{{version}}/junit.xml\n",
        1,
    )
    return text.replace(
        "  checkout:\n    repository: acme/checkout\n",
        "  checkout:\n    repository: acme/checkout\n    backends: {reports: reports}\n"
        "    gates: {staging: {tests: {min_pass_rate: 0.9}}}\n",
        1,
    )


@pytest.fixture
async def gated_bot(database_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(database_url, parse_catalog(gated(tmp_path))) as harness:
        yield harness


async def test_a_missing_test_report_refuses_the_release_on_its_message(
    gated_bot: BotHarness, tmp_path: Path
):
    await gated_bot.command("U0ALICE", "/deploy checkout to staging")
    await gated_bot.advance(3)
    status = gated_bot.status_message()
    assert "rejected" in status.text.lower()
    shown = str(status.blocks)
    assert "Quality gate failed: tests no test report" in shown
    assert f"{tmp_path}/v1.4.3/junit.xml" in shown and "(min 90%) ❌" in shown
    assert any("Quality gates refused v1.4.3" in r.text for r in status.replies)
    rows = await export_rows(gated_bot.runtime.db)
    (refused,) = [r for r in rows if r["action"] == "release.gate_failed"]
    assert refused["rule"] == "gate.tests" and refused["outcome"] == "refused"
