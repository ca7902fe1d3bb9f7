"""The catalog's quality gates and their verdicts. A gate whose report is missing fails: a
release never passes on a report nobody could read."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.quality.reports import SEVERITIES, Coverage, SuiteResults, Vulnerabilities

GATE_KINDS = ("tests", "vulnerabilities", "coverage")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PassRateGate(_Strict):
    min_pass_rate: float = Field(ge=0, le=1)


class VulnerabilitiesGate(_Strict):
    max: dict[str, int]

    @field_validator("max")
    @classmethod
    def _known_severities(cls, limits: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(limits) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"unknown severity {unknown[0]!r}; use {', '.join(SEVERITIES)}")
        if any(limit < 0 for limit in limits.values()):
            raise ValueError("a maximum is 0 or more")
        return limits


class CoverageGate(_Strict):
    min: float = Field(ge=0, le=1)


class Gates(_Strict):
    """`gates:` of an environment (or a service's, per environment)."""

    tests: PassRateGate | None = None
    vulnerabilities: VulnerabilitiesGate | None = None
    coverage: CoverageGate | None = None

    @property
    def none(self) -> bool:
        return self.tests is None and self.vulnerabilities is None and self.coverage is None


@dataclass(frozen=True)
class Reports:
    """What was found for a version; None where no report could be had (and why)."""

    tests: SuiteResults | None = None
    vulnerabilities: Vulnerabilities | None = None
    coverage: Coverage | None = None
    missing: dict[str, str] | None = None  # gate name -> why its report is missing


@dataclass(frozen=True)
class Verdict:
    gate: str  # tests, vulnerabilities.critical, coverage
    passed: bool
    measured: str  # "97.2% passed", "0 critical", "84%", or why it is missing
    threshold: str  # "min 90%", "max 0"
    kind: str  # the catalog's gate: tests, vulnerabilities, coverage

    @property
    def rule(self) -> str:
        return f"gate.{self.kind}"

    def describe(self) -> str:
        return f"{self.gate} {self.measured} ({self.threshold}) {'✅' if self.passed else '❌'}"

    def as_detail(self) -> dict[str, object]:
        """For the audit trail: the gate, its value and its threshold."""
        return {
            "gate": self.gate,
            "passed": self.passed,
            "measured": self.measured,
            "threshold": self.threshold,
        }


def judge(gates: Gates, reports: Reports) -> list[Verdict]:
    missing = reports.missing or {}
    verdicts: list[Verdict] = []
    if gates.tests is not None:
        tests = reports.tests
        measured = f"{_percent(tests.pass_rate)} passed of {tests.ran}" if tests else None
        passed = tests is not None and tests.pass_rate >= gates.tests.min_pass_rate
        limit = f"min {_percent(gates.tests.min_pass_rate)}"
        verdicts.append(_verdict("tests", "tests", passed, measured, limit, missing))
    if gates.vulnerabilities is not None:
        found = reports.vulnerabilities
        for severity in (s for s in SEVERITIES if s in gates.vulnerabilities.max):
            most = gates.vulnerabilities.max[severity]
            count = found.count(severity) if found else None
            passed = count is not None and count <= most
            measured = str(count) if count is not None else None
            name = f"{severity} vulns"
            verdicts.append(
                _verdict(name, "vulnerabilities", passed, measured, f"max {most}", missing)
            )
    if gates.coverage is not None:
        rate = reports.coverage.line_rate if reports.coverage else None
        passed = rate is not None and rate >= gates.coverage.min
        measured = _percent(rate) if rate is not None else None
        limit = f"min {_percent(gates.coverage.min)}"
        verdicts.append(_verdict("coverage", "coverage", passed, measured, limit, missing))
    return verdicts


def _verdict(
    name: str, kind: str, passed: bool, measured: str | None, limit: str, missing: dict[str, str]
) -> Verdict:
    """`measured` None: the report is missing, and so the gate fails, saying why."""
    if measured is None:
        report = {"tests": "test", "vulnerabilities": "security"}.get(kind, kind)
        why = missing.get(kind)
        return Verdict(
            name, False, f"no {report} report" + (f": {why}" if why else ""), limit, kind
        )
    return Verdict(name, passed, measured, limit, kind)


def gate_line(verdicts: list[Verdict]) -> str:
    """`tests 97.2% passed of 250 (min 90%) ✅ · critical vulns 0 (max 0) ✅ · ...`"""
    return " · ".join(v.describe() for v in verdicts)


def _percent(rate: float) -> str:
    text = f"{rate * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"
