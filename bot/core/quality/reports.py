"""What the reports say, read from the formats the tools write: JUnit XML (pytest --junitxml,
Maven Surefire, Jest's jest-junit), SARIF 2.1.0 (CodeQL, Trivy, Semgrep, Bandit) and Cobertura
XML (coverage.py `coverage xml`, JaCoCo's converters). Reports come from CI artifacts: parsed
with defusedxml, and a report that cannot be read is a ReportError naming what is wrong."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

SEVERITIES = ("critical", "high", "medium", "low")
LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "low"}


class ReportError(ValueError):
    """A report that cannot be read as its format; the message says what is wrong."""


@dataclass(frozen=True)
class SuiteResults:
    total: int
    failed: int  # failures and errors
    skipped: int

    @property
    def ran(self) -> int:
        return self.total - self.skipped

    @property
    def pass_rate(self) -> float:
        """Passed among the tests that ran (skipped ones do not count); 0 when none ran."""
        return (self.ran - self.failed) / self.ran if self.ran else 0.0


@dataclass(frozen=True)
class Vulnerabilities:
    counts: dict[str, int] = field(default_factory=dict)  # by severity

    def count(self, severity: str) -> int:
        return self.counts.get(severity, 0)


@dataclass(frozen=True)
class Coverage:
    line_rate: float
    lines_covered: int | None = None
    lines_valid: int | None = None


def parse_junit(data: bytes) -> SuiteResults:
    root = _xml(data, "JUnit XML")
    suites = [root] if root.tag == "testsuite" else root.findall(".//testsuite")
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(
            f"JUnit XML has <{root.tag}> at its root, not <testsuites> or <testsuite>"
        )
    total = failed = skipped = 0
    for suite in suites:
        if suite.find("testsuite") is not None:
            continue  # counted through its inner suites
        cases = suite.findall("testcase")
        total += _int(suite, "tests", len(cases))
        failed += _int(suite, "failures", _count(cases, "failure"))
        failed += _int(suite, "errors", _count(cases, "error"))
        skipped += _int(suite, "skipped", _count(cases, "skipped"))
    return SuiteResults(total, failed, skipped)


def parse_sarif(data: bytes) -> Vulnerabilities:
    try:
        log = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"SARIF is not JSON: {exc}") from None
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise ReportError("SARIF has no `runs` list")
    if log.get("version") != "2.1.0":
        raise ReportError(f"SARIF version {log.get('version')!r}, not 2.1.0")
    counts: Counter[str] = Counter()
    for run in log["runs"]:
        rules = _rules(run)
        for result in run.get("results") or ():
            if isinstance(result, dict) and not result.get("suppressions"):
                counts[_severity(result, rules)] += 1
    return Vulnerabilities(dict(counts))


def parse_cobertura(data: bytes) -> Coverage:
    root = _xml(data, "Cobertura XML")
    if root.tag != "coverage" or root.get("line-rate") is None:
        raise ReportError("Cobertura XML needs <coverage line-rate=...> at its root")
    try:
        rate = float(root.get("line-rate", ""))
    except ValueError:
        raise ReportError(f"Cobertura line-rate {root.get('line-rate')!r} is no number") from None
    if not 0.0 <= rate <= 1.0:
        raise ReportError(f"Cobertura line-rate {rate} is not between 0 and 1")
    return Coverage(rate, _int(root, "lines-covered", None), _int(root, "lines-valid", None))


def _xml(data: bytes, what: str) -> Element:
    try:
        return ElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise ReportError(f"{what} refused: {type(exc).__name__}") from None
    except ElementTree.ParseError as exc:
        raise ReportError(f"{what} is not well-formed: {exc}") from None


def _int(node: Element, name: str, default: int | None) -> Any:
    value = node.get(name)
    if value is None:
        return default
    try:
        return int(float(value))
    except ValueError:
        raise ReportError(f"<{node.tag} {name}={value!r}> is no number") from None


def _count(cases: list[Element], child: str) -> int:
    return sum(1 for case in cases if case.find(child) is not None)


def _rules(run: dict[str, Any]) -> list[dict[str, Any]]:
    driver = ((run.get("tool") or {}).get("driver")) or {}
    return [r for r in driver.get("rules") or () if isinstance(r, dict)]


def _severity(result: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    """CodeQL and Trivy give a CVSS-like `security-severity`; Bandit its `issue_severity`;
    otherwise the result's level stands in (error: high, warning: medium, note: low)."""
    rule = _rule_of(result, rules)
    for properties in (result.get("properties") or {}, rule.get("properties") or {}):
        score = properties.get("security-severity")
        if score is not None:
            try:
                return _from_score(float(score))
            except (TypeError, ValueError):
                pass
        named = str(properties.get("issue_severity") or "").lower()
        if named in SEVERITIES:
            return named
    level = result.get("level") or (rule.get("defaultConfiguration") or {}).get("level")
    return LEVELS.get(str(level), "medium")


def _rule_of(result: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    index = result.get("ruleIndex")
    if isinstance(index, int) and 0 <= index < len(rules):
        return rules[index]
    return next((r for r in rules if r.get("id") == result.get("ruleId")), {})


def _from_score(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"
