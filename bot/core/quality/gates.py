"""The catalog's quality gates and their verdicts. A gate whose report is missing fails: a
release never passes on a report nobody could read."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.quality.reports import SEVERITIES, Coverage, SuiteResults, Vulnerabilities


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

    def describe(self) -> str:
        return f"{self.gate} {self.measured} ({self.threshold}) {'✅' if self.passed else '❌'}"


def judge(gates: Gates, reports: Reports) -> list[Verdict]:
    missing = reports.missing or {}
    verdicts: list[Verdict] = []
    if gates.tests is not None:
        limit = f"min {_percent(gates.tests.min_pass_rate)}"
        if reports.tests is None:
            verdicts.append(Verdict("tests", False, _missing("test", missing, "tests"), limit))
        else:
            rate = reports.tests.pass_rate
            measured = f"{_percent(rate)} passed of {reports.tests.ran}"
            verdicts.append(Verdict("tests", rate >= gates.tests.min_pass_rate, measured, limit))
    if gates.vulnerabilities is not None:
        for severity in SEVERITIES:
            if severity not in gates.vulnerabilities.max:
                continue
            limit = gates.vulnerabilities.max[severity]
            name = f"{severity} vulns"
            if reports.vulnerabilities is None:
                why = _missing("security", missing, "vulnerabilities")
                verdicts.append(Verdict(name, False, why, f"max {limit}"))
                continue
            found = reports.vulnerabilities.count(severity)
            verdicts.append(Verdict(name, found <= limit, str(found), f"max {limit}"))
    if gates.coverage is not None:
        limit = f"min {_percent(gates.coverage.min)}"
        if reports.coverage is None:
            verdicts.append(
                Verdict("coverage", False, _missing("coverage", missing, "coverage"), limit)
            )
        else:
            rate = reports.coverage.line_rate
            verdicts.append(Verdict("coverage", rate >= gates.coverage.min, _percent(rate), limit))
    return verdicts


def gate_line(verdicts: list[Verdict]) -> str:
    """`tests 97.2% passed of 250 (min 90%) ✅ · critical vulns 0 (max 0) ✅ · ...`"""
    return " · ".join(v.describe() for v in verdicts)


def _missing(kind: str, missing: dict[str, str], gate: str) -> str:
    why = missing.get(gate)
    return f"no {kind} report" + (f": {why}" if why else "")


def _percent(rate: float) -> str:
    text = f"{rate * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"
