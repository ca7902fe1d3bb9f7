"""The quality reports as the real tools write them: pytest's --junitxml over a sample suite,
coverage.py's `coverage xml`, Bandit's SARIF; each read back and checked against the tool's own
numbers (its JSON where it has one), then judged by the gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.quality.gates import (
    CoverageGate,
    Gates,
    PassRateGate,
    Reports,
    VulnerabilitiesGate,
    gate_line,
    judge,
)
from bot.core.quality.reports import ReportError, parse_cobertura, parse_junit, parse_sarif
from tests.support.quality_tools import make_reports

pytestmark = pytest.mark.slow  # runs three tools in processes of their own


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reports(tmp_path_factory.mktemp("quality"))


def test_pytest_junit_xml_counts_passed_failed_errored_and_skipped(made: Path):
    results = parse_junit((made / "junit.xml").read_bytes())
    assert (results.total, results.failed, results.skipped) == (4, 2, 1)
    assert results.ran == 3 and results.pass_rate == pytest.approx(1 / 3)


def test_cobertura_line_rate_is_coverage_pys_own_figure(made: Path):
    coverage = parse_cobertura((made / "coverage.xml").read_bytes())
    totals = json.loads((made / "coverage.json").read_text())["totals"]
    assert coverage.lines_covered == totals["covered_lines"]
    assert coverage.lines_valid == totals["num_statements"]
    assert coverage.line_rate == pytest.approx(
        totals["covered_lines"] / totals["num_statements"], abs=1e-4
    )
    assert 0 < coverage.line_rate < 1, "the sample leaves lines untested"


def test_sarif_severities_are_bandits_own(made: Path):
    found = parse_sarif((made / "bandit.sarif").read_bytes())
    own = json.loads((made / "bandit.json").read_text())["results"]
    expected: dict[str, int] = {}
    for result in own:
        severity = result["issue_severity"].lower()
        expected[severity] = expected.get(severity, 0) + 1
    assert found.counts == expected
    assert found.count("high") >= 1 and found.count("critical") == 0


def test_the_gates_judge_what_the_tools_reported(made: Path):
    reports = Reports(
        tests=parse_junit((made / "junit.xml").read_bytes()),
        vulnerabilities=parse_sarif((made / "bandit.sarif").read_bytes()),
        coverage=parse_cobertura((made / "coverage.xml").read_bytes()),
    )
    gates = Gates(
        tests=PassRateGate(min_pass_rate=0.9),
        vulnerabilities=VulnerabilitiesGate(max={"critical": 0, "high": 5}),
        coverage=CoverageGate(min=0.5),
    )
    verdicts = judge(gates, reports)
    assert [(v.gate, v.passed) for v in verdicts] == [
        ("tests", False),
        ("critical vulns", True),
        ("high vulns", True),
        ("coverage", True),
    ]
    assert gate_line(verdicts).startswith("tests 33.3% passed of 3 (min 90%) ❌ · critical vulns 0")


def test_a_missing_report_fails_its_gate_and_says_which():
    gates = Gates(tests=PassRateGate(min_pass_rate=0.9), coverage=CoverageGate(min=0.8))
    reports = Reports(missing={"tests": "no junit.xml among the run's artifacts"})
    verdicts = judge(gates, reports)
    assert not any(v.passed for v in verdicts)
    assert verdicts[0].measured == "no test report: no junit.xml among the run's artifacts"
    assert verdicts[1].measured == "no coverage report"


@pytest.mark.parametrize(
    ("parse", "data", "problem"),
    [
        (parse_junit, b"<testsuites><testsuite", "not well-formed"),
        (parse_junit, b"<html></html>", "not <testsuites>"),
        (
            parse_junit,
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<testsuites>&b;</testsuites>",
            "refused",
        ),
        (parse_sarif, b"{", "not JSON"),
        (parse_sarif, b'{"version": "2.0.0", "runs": []}', "not 2.1.0"),
        (parse_cobertura, b'<coverage line-rate="1.5"/>', "not between 0 and 1"),
        (parse_cobertura, b"<coverage/>", "needs <coverage line-rate"),
    ],
)
def test_a_report_that_cannot_be_read_says_why(parse, data: bytes, problem: str):
    with pytest.raises(ReportError, match=problem):
        parse(data)
