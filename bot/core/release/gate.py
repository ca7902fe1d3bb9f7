"""The gate before a rollout: a scheduled release's time (or a person starting it early),
versions resolved, CI checked, and a start the policy refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.durations import format_duration
from bot.core.quality.gates import gate_line
from bot.core.release.approvals import approval_due
from bot.core.release.events import (
    CiChecked,
    ScheduleReached,
    StartNow,
    StartRefused,
    VersionsResolved,
)
from bot.core.release.facts import Fact
from bot.core.release.model import CI_RED, InvalidTransition, Release, State
from bot.core.release.moves import end, require, skip_rest, start_rollout
from bot.core.wording import plural


def _schedule_reached(r: Release, e: ScheduleReached, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.SCHEDULED}, "start it at its time")
    summary = "It is time: checking CI, freezes, locks and deploy windows again"
    return _unscheduled(r, now), [Fact("release.schedule_reached", summary, notify=False)]


def _start_now(r: Release, e: StartNow, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.SCHEDULED}, "start it now")
    summary = f"Started before its time by <@{e.user_id}>"
    return _unscheduled(r, now), [Fact("release.started_early", summary, actor=e.user_id)]


def _unscheduled(r: Release, now: datetime) -> Release:
    return replace(r, state=State.AWAITING_CI, due_at=now)


def _versions_resolved(
    r: Release, e: VersionsResolved, now: datetime
) -> tuple[Release, list[Fact]]:
    require(r, {State.AWAITING_CI}, "resolve its versions")
    resolved = replace(
        r, version_to=r.version_to or e.version_to, version_from=r.version_from or e.version_from
    )
    summary = f"Shipping {resolved.version_to} (now running: {resolved.version_from or 'nothing'})"
    return resolved, [Fact("release.versions_resolved", summary, notify=False)]


def _ci_checked(r: Release, e: CiChecked, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.AWAITING_CI}, "record a CI result")
    if e.pending:
        return replace(r, ci_summary=e.summary, due_at=now + timedelta(seconds=e.retry_in_s)), []
    if not e.passed:
        ended = end(r, State.REJECTED, now, reason=f"{CI_RED}{e.summary}")
        return replace(ended, ci_summary=e.summary), [
            Fact(
                "release.ci_failed",
                f"CI gate refused {r.version_to}: {e.summary}",
                outcome="refused",
            )
        ]
    facts = [Fact("release.ci_passed", f"CI is green for {r.version_to}: {e.summary}")]
    r = replace(
        r,
        ci_summary=e.summary,
        authors=e.authors or r.authors,
        committed_at=e.committed_at or r.committed_at,
        gates_summary=gate_line(list(e.gates)),
    )
    if e.gates:
        failed = [v for v in e.gates if not v.passed]
        details = {"gates": [v.as_detail() for v in e.gates]}
        if failed:
            reason = "Quality gate failed: " + "; ".join(v.describe() for v in failed)
            ended = end(r, State.REJECTED, now, reason=reason)
            refused = Fact(
                "release.gate_failed",
                f"Quality gates refused {r.version_to}: {r.gates_summary}",
                outcome="refused",
                details=details,
                rule=failed[0].rule,
            )
            return ended, [*facts, refused]
        passed = f"Quality gates passed: {r.gates_summary}"
        facts.append(Fact("release.gates_passed", passed, details=details))
    if r.approvals_missing:
        r = replace(r, state=State.AWAITING_APPROVAL, approval_requested_at=now)
        r = replace(r, due_at=approval_due(r))
        lapses = r.approval_timing.expires_after_s
        facts.append(
            Fact(
                "release.approval_requested",
                f"Waiting for {plural(r.approvals_missing, 'approval')} to deploy {r.version_to} "
                f"to {r.environment}"
                + (f"; the request lapses in {format_duration(lapses)}" if lapses else ""),
            )
        )
        return r, facts
    if r.auto_approve:
        facts.append(
            Fact(
                "release.auto_approved",
                f"Approved automatically: CI is green and {r.environment}'s policy asks no more",
                rule="approval.auto_ci_green",
            )
        )
    return start_rollout(r, now), facts


def _start_refused(r: Release, e: StartRefused, now: datetime) -> tuple[Release, list[Fact]]:
    if r.state is not State.RUNNING or r.touched_traffic:
        raise InvalidTransition(f"Release {r.ref} has started already; it cannot be held back.")
    ended = end(skip_rest(r, now), State.REJECTED, now, reason=e.reason)
    return ended, [
        Fact(
            "release.start_refused",
            f"Release {r.ref} did not start: {e.reason}",
            outcome="refused",
            rule=e.rule,
        )
    ]


HANDLERS: dict[type, Any] = {
    ScheduleReached: _schedule_reached,
    StartNow: _start_now,
    VersionsResolved: _versions_resolved,
    CiChecked: _ci_checked,
    StartRefused: _start_refused,
}
