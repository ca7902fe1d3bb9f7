"""Approvals: given, refused, reminded of, escalated and lapsed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.durations import format_duration
from bot.core.release.events import ApprovalTimer, Approve, Reject
from bot.core.release.facts import Fact
from bot.core.release.model import GATED_STATES, Approval, InvalidTransition, Release, State
from bot.core.release.moves import end, require, start_rollout
from bot.core.wording import plural

REJECT_REASON_MIN = 3


def approval_due(r: Release) -> datetime | None:
    """The next reminder, escalation or expiry of a waiting approval request."""
    times = [t for t in _approval_times(r).values() if t is not None]
    return min(times) if times else None


def _approval_times(r: Release) -> dict[str, datetime | None]:
    start, timing = r.approval_requested_at, r.approval_timing
    if start is None:
        return {}
    expires = start + timedelta(seconds=timing.expires_after_s) if timing.expires_after_s else None
    reminders = sorted(
        expires - timedelta(seconds=before) for before in timing.remind_before_s if expires
    )
    escalate = (
        start + timedelta(seconds=timing.escalate_after_s)
        if timing.escalate_after_s and not r.escalated
        else None
    )
    return {
        "remind": reminders[r.reminders_sent] if r.reminders_sent < len(reminders) else None,
        "escalate": escalate,
        "expire": expires,
    }


def _approval_timer(r: Release, e: ApprovalTimer, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.AWAITING_APPROVAL}, "time its approval request")
    times = _approval_times(r)
    if times.get("expire") and times["expire"] <= now:
        waited = format_duration((now - r.approval_requested_at).total_seconds())
        # Some approvals may have come in: do not tell the thread that nobody approved.
        given = f"{len(r.approvals)} of {r.approvals_required} approvals"
        ended = end(
            r,
            State.REJECTED,
            now,
            reason=f"approval expired: {given if r.approvals else 'nobody approved'} in {waited}",
        )
        said = f"Release {r.ref} got {given}" if r.approvals else f"Nobody approved release {r.ref}"
        return ended, [
            Fact(
                "release.approval_expired",
                f"{said} within {waited}: the request lapsed. "
                "Deploy again when approvers are around.",
                outcome="refused",
                rule="approval.expired",
            )
        ]
    facts: list[Fact] = []
    if times.get("escalate") and times["escalate"] <= now:
        r = replace(r, escalated=True)
        waiting = (
            f"Release {r.ref} still needs {plural(r.approvals_missing, 'approval')} "
            f"({len(r.approvals)} of {r.approvals_required} given)"
            if r.approvals
            else f"Nobody has approved release {r.ref} yet"
        )
        facts.append(
            Fact(
                "approval.escalated",
                f"{waiting}: {r.approval_timing.escalate_to}, "
                f"can one of you approve {r.version_to} for {r.environment}?",
                rule="approval.escalated",
            )
        )
    reminders_due = 0
    while (
        remind := _approval_times(replace(r, reminders_sent=r.reminders_sent + reminders_due)).get(
            "remind"
        )
    ) and remind <= now:
        reminders_due += 1
    if reminders_due:
        r = replace(r, reminders_sent=r.reminders_sent + reminders_due)
        left = _approval_times(r)["expire"]
        lapses = format_duration((left - now).total_seconds()) if left else ""
        facts.append(
            Fact(
                "approval.reminder",
                f"Reminder: release {r.ref} still needs "
                f"{plural(r.approvals_missing, 'approval')} to deploy {r.version_to} to "
                f"{r.environment}" + (f"; the request lapses in {lapses}." if lapses else "."),
                rule="approval.reminder",
            )
        )
    return replace(r, due_at=approval_due(r)), facts


def _approve(r: Release, e: Approve, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, GATED_STATES, "approve it")
    _not_lapsed(r, now)
    if e.user_id in r.approved_by:
        raise InvalidTransition(f"You already approved release {r.ref}; it counts once.")
    approvals = (*r.approvals, Approval(e.user_id, now, e.reason))
    r = replace(r, approvals=approvals)
    got = len(approvals)
    facts = [
        Fact(
            "release.approved",
            f"Approved by <@{e.user_id}> ({got} of {r.approvals_required})"
            + (f": {e.reason}" if e.reason else ""),
            actor=e.user_id,
            details={"approvals": got, "required": r.approvals_required},
        )
    ]
    if r.state is State.AWAITING_APPROVAL and not r.approvals_missing:
        return start_rollout(r, now), facts
    return r, facts


def reject_reason_problem(reason: str) -> str | None:
    """Why `reason` will not do for a rejection, or None: the requester deserves a reason."""
    if len(reason.strip()) < REJECT_REASON_MIN:
        return "Say why, in a few words: the requester sees your reason."
    return None


def _reject(r: Release, e: Reject, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, GATED_STATES, "reject it")
    _not_lapsed(r, now)
    if reject_reason_problem(e.reason):
        raise InvalidTransition(f"A rejection of release {r.ref} needs a reason of a few words.")
    ended = end(r, State.REJECTED, now, reason=e.reason, by=e.user_id)
    return ended, [
        Fact("release.rejected", f"Rejected by <@{e.user_id}>: {e.reason}", actor=e.user_id)
    ]


def _not_lapsed(r: Release, now: datetime) -> None:
    """An approval that arrives after the request expired does not count, even if the engine
    has not closed the request yet."""
    expires = _approval_times(r).get("expire")
    if expires is not None and expires <= now:
        raise InvalidTransition(
            f"The approval request for release {r.ref} lapsed at "
            f"{expires.strftime('%H:%M UTC')}; deploy again to ask anew."
        )


HANDLERS: dict[type, Any] = {
    ApprovalTimer: _approval_timer,
    Approve: _approve,
    Reject: _reject,
}
