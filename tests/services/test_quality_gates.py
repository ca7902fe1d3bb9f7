"""Quality gates at the CI check: the version's reports judged against the catalog's gates. A
failed gate refuses the release naming the gate, the value and the threshold; a missing report
fails its gate; the verdicts are audited with their values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.catalog_file import parse_catalog
from bot.core.release import State
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.quality_tools import make_reports
from tests.support.service_world import ServiceWorld


def gated(reports_dir: Path, gates: str) -> str:
    """The scenario catalog with checkout gated in staging, its reports read from a folder."""
    text = SCENARIO_CATALOG.read_text().replace(
        "backends:\n",
        "backends:\n"
        "  reports:\n"
        "    type: reports\n"
        "    settings:\n"
        f"      junit: file://{reports_dir}/junit.xml\n"
        f"      sarif: file://{reports_dir}/bandit.sarif\n"
        f"      cobertura: file://{reports_dir}/coverage.xml\n",
        1,
    )
    return text.replace(
        "  checkout:\n    repository: acme/checkout\n",
        "  checkout:\n    repository: acme/checkout\n    backends: {reports: reports}\n"
        f"    gates: {{staging: {gates}}}\n",
        1,
    )


@pytest.fixture
async def world_for(tmp_path: Path) -> AsyncIterator:
    made: list[ServiceWorld] = []

    def build(gates: str, reports_dir: Path = tmp_path) -> ServiceWorld:
        made.append(ServiceWorld.of(parse_catalog(gated(reports_dir, gates))))
        return made[-1]

    yield build
    for world in made:
        await world.close()


async def test_a_missing_report_fails_its_gate_and_the_refusal_says_which(world_for, tmp_path):
    world = world_for("{tests: {min_pass_rate: 0.9}}")
    await world.command("U0ALICE", "/deploy checkout to staging")
    await world.advance(3)
    assert world.release().state is State.REJECTED
    assert f"no test report: {tmp_path}/junit.xml: No such file or directory" in world.status()
    (refused,) = world.audit("release.gate_failed")
    assert refused.event.rule == "gate.tests" and refused.event.outcome == "refused"


@pytest.mark.slow  # makes the reports with pytest, coverage.py and Bandit
async def test_the_tools_reports_decide_the_release(world_for, tmp_path_factory):
    reports = make_reports(tmp_path_factory.mktemp("reports"))
    strict = world_for(
        "{tests: {min_pass_rate: 0.9}, vulnerabilities: {max: {critical: 0, high: 0}}}", reports
    )
    await strict.command("U0ALICE", "/deploy checkout to staging")
    await strict.advance(3)
    status = strict.status()
    assert strict.release().state is State.REJECTED
    assert "tests 33.3% passed of 3 (min 90%) ❌" in status
    assert "high vulns 1 (max 0) ❌" in status and "critical vulns 0 (max 0) ✅" in status
    (refused,) = strict.audit("release.gate_failed")
    gates = {g["gate"]: g for g in refused.event.details["gates"]}
    assert gates["tests"] == {
        "gate": "tests",
        "passed": False,
        "measured": "33.3% passed of 3",
        "threshold": "min 90%",
    }

    lenient_gates = "{tests: {min_pass_rate: 0.3}, vulnerabilities: {max: {critical: 0}}, "
    lenient = world_for(lenient_gates + "coverage: {min: 0.5}}", reports)
    await lenient.command("U0ALICE", "/deploy checkout to staging")
    await lenient.advance(3)
    assert lenient.release().state is State.RUNNING
    assert any(
        "Quality gates passed: tests 33.3% passed of 3 (min 30%) ✅" in t for t in lenient.thread()
    )
    assert "Quality gates: tests" in lenient.status()
