"""What the status message says about a release, decided in one place; templates lay it out.

Phone first: the state and versions in the first line, the buttons right after, then one
progress line with the current stage marked and its elapsed time, then who did what.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.core.durations import format_duration
from bot.core.release import GATED_STATES, Release, State
from bot.core.stages import Stage, StageKind, StageStatus
from bot.core.wording import plural, slack_time
from bot.slack import actions

STATE_EMOJI = {
    State.SCHEDULED: ":calendar:",
    State.AWAITING_CI: ":hourglass_flowing_sand:",
    State.AWAITING_APPROVAL: ":raised_hand:",
    State.RUNNING: ":rocket:",
    State.PAUSED: ":double_vertical_bar:",
    State.ROLLING_BACK: ":rewind:",
    State.SUCCEEDED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    State.ABORTED: ":no_entry_sign:",
    State.REJECTED: ":no_entry:",
}

STATE_WORDS = {
    State.SCHEDULED: "Scheduled",
    State.AWAITING_CI: "Waiting for CI",
    State.AWAITING_APPROVAL: "Waiting for approval",
    State.RUNNING: "Rolling out",
    State.PAUSED: "Paused",
    State.ROLLING_BACK: "Rolling back",
    State.SUCCEEDED: "Live",
    State.FAILED: "Failed",
    State.ROLLED_BACK: "Rolled back",
    State.ABORTED: "Aborted",
    State.REJECTED: "Rejected",
}


@dataclass(frozen=True)
class Button:
    action_id: str
    text: str
    value: str
    style: str | None = None
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_yes: str = ""


@dataclass(frozen=True)
class StatusView:
    headline: str
    summary: str
    fallback: str
    progress: str
    people: str
    note: str = ""
    buttons: list[Button] = field(default_factory=list)


def status_view(release: Release, now: datetime) -> StatusView:
    target = f"{release.service} → {release.environment}"
    versions = _versions(release)
    strategy = release.strategy.value + (f" `{release.flag}`" if release.flag else "")
    words = STATE_WORDS[release.state]
    return StatusView(
        headline=f"{STATE_EMOJI[release.state]} *{target}*  ·  release {release.ref}",
        summary=f"*{words}* · {strategy} · {versions}"
        + (
            f" · :rotating_light: *break-glass* {release.break_glass.incident}"
            if release.break_glass
            else ""
        ),
        fallback=f"{target}: {words.lower()} ({versions.replace('`', '')})",
        progress=_progress(release, now),
        people=_people(release),
        note=_note(release),
        buttons=_buttons(release),
    )


def _versions(release: Release) -> str:
    """Which version runs, in the words of the state: a rolled-back release does not read as
    if it shipped."""
    old = f"`{release.version_from or 'nothing'}`"
    new = f"`{release.version_to or 'latest build'}`"
    match release.state:
        case State.ROLLING_BACK:
            return f"{new} → back to {old}"
        case State.ROLLED_BACK:
            return f"back on {old} · {new} withdrawn"
        case State.ABORTED | State.REJECTED if not release.touched_traffic:
            return f"{new} not deployed · still {old}"
        case State.ABORTED:
            return f"back on {old} · {new} withdrawn"
    return f"{old} → {new}"


def _progress(release: Release, now: datetime) -> str:
    if release.state is State.SCHEDULED and release.scheduled_for is not None:
        waits = format_duration((release.scheduled_for - now).total_seconds())
        return (
            f":calendar: scheduled for {slack_time(release.scheduled_for)} (in {waits}) → "
            + _steps_line(release, now)
        )
    if release.state is State.AWAITING_CI:
        waited = format_duration((now - release.created_at).total_seconds())
        return f":hourglass_flowing_sand: CI gate ({waited}) → " + _steps_line(release, now)
    if release.state is State.AWAITING_APPROVAL:
        got = len(release.approvals)
        return f":raised_hand: approvals {got}/{release.approvals_required} → " + _steps_line(
            release, now
        )
    return _steps_line(release, now)


def _steps_line(release: Release, now: datetime) -> str:
    parts = []
    for index, stage in enumerate(release.stages):
        if stage.kind is not StageKind.STEP:
            continue
        bake = _following_bake(release.stages, index)
        parts.append(_step_text(release, stage, bake, now))
    return " → ".join(parts)


def _following_bake(stages: tuple[Stage, ...], index: int) -> Stage | None:
    nxt = index + 1
    return stages[nxt] if nxt < len(stages) and stages[nxt].kind is StageKind.BAKE else None


def _step_text(release: Release, step: Stage, bake: Stage | None, now: datetime) -> str:
    current = release.current_stage
    active = release.state in (State.RUNNING, State.PAUSED)
    if active and current is step:
        running = step.started_at is not None
        elapsed = f" {_elapsed(step, now)}" if running else ""
        detail = f" ({step.detail})" if running and step.detail else ""
        return f":arrow_forward: *{step.label}*{elapsed}{detail}"
    if active and bake is not None and current is bake:
        what = "analysis" if bake.analysis else "bake"
        watched = f"{_elapsed(bake, now)}/{format_duration(bake.duration_s)}"
        return f":white_check_mark: *{step.label}* ({what} {watched})"
    if step.status is StageStatus.SUCCEEDED:
        if bake is not None and bake.status is StageStatus.FAILED:
            return f":x: {step.label} (analysis failed)"
        return f":white_check_mark: {step.label}"
    if step.status is StageStatus.FAILED:
        return f":x: {step.label}"
    if step.status is StageStatus.SKIPPED:
        return f"~{step.label}~"
    return f":white_circle: {step.label}"


def _elapsed(stage: Stage, now: datetime) -> str:
    if stage.started_at is None:
        return "0s"
    end = stage.finished_at or now
    return format_duration((end - stage.started_at).total_seconds())


def _people(release: Release) -> str:
    parts = [f"Requested by <@{release.requested_by}>"]
    if release.approvals:
        approvers = ", ".join(f"<@{a.user_id}>" for a in release.approvals)
        waiting = release.state in GATED_STATES
        count = f" ({len(release.approvals)} of {release.approvals_required})" if waiting else ""
        parts.append(f"approved by {approvers}{count}")
    elif release.approvals_required and release.state in GATED_STATES:
        parts.append(f"needs {plural(release.approvals_required, 'approval')}")
    if release.escalated and release.state is State.AWAITING_APPROVAL:
        parts.append(f"escalated to {release.approval_timing.escalate_to}")
    if release.paused_by and release.state is State.PAUSED:
        parts.append(f"paused by <@{release.paused_by}>")
    if release.window_paused and release.state is State.PAUSED:
        parts.append("paused until a deploy window opens")
    if release.ended_by:
        verb = {
            State.REJECTED: "rejected",
            State.ABORTED: "aborted",
            State.ROLLED_BACK: "rolled back",
            State.ROLLING_BACK: "rollback by",
        }.get(release.state, "ended")
        if release.state is State.ROLLING_BACK:
            parts.append(f"rollback requested by <@{release.ended_by}>")
        else:
            parts.append(f"{verb} by <@{release.ended_by}>")
    return " · ".join(parts)


def _note(release: Release) -> str:
    glass = release.break_glass
    emergency = (
        f":rotating_light: Break-glass for {glass.incident}: {glass.reason} (deployed during a "
        "freeze, with one more approval)"
        if glass
        else ""
    )
    gates = f"Quality gates: {release.gates_summary}" if release.gates_summary else ""
    return "\n".join(part for part in (emergency, gates, _outcome_note(release)) if part)


def _outcome_note(release: Release) -> str:
    if release.state in (
        State.FAILED,
        State.ROLLED_BACK,
        State.ABORTED,
        State.REJECTED,
        State.ROLLING_BACK,
    ):
        return release.reason
    if release.state is State.SUCCEEDED:
        return f"{release.service} {release.version_to} is live in {release.environment}."
    return ""


def _buttons(release: Release) -> list[Button]:
    value = str(release.id)
    previous = release.version_from or "the previous version"
    rollback = Button(
        actions.ROLLBACK,
        "Roll back",
        value,
        style="danger",
        confirm_title="Roll back?",
        confirm_text=(
            f"Roll back {release.service} in {release.environment} from "
            f"{release.version_to or 'this release'} to {previous}? "
            f"Traffic returns to {previous} now."
        ),
        confirm_yes="Roll back",
    )
    abort = Button(
        actions.ABORT,
        "Abort",
        value,
        confirm_title="Abort release?",
        confirm_text=(
            f"Abort release {release.ref} of {release.service} ({release.version_to or 'latest'})? "
            + (
                f"Traffic moves back to {previous}."
                if release.touched_traffic
                else "Nothing was deployed yet."
            )
        ),
        confirm_yes="Abort",
    )
    match release.state:
        case State.SCHEDULED:
            start = Button(
                actions.START,
                "Start now",
                value,
                style="primary",
                confirm_title="Start now?",
                confirm_text=(
                    f"Start release {release.ref} of {release.service} now instead of at its "
                    "time? CI, freezes, locks and deploy windows are checked as at any start."
                ),
                confirm_yes="Start now",
            )
            cancel = replace(
                abort, text="Cancel", confirm_title="Cancel release?", confirm_yes="Cancel it"
            )
            approvals = (
                [
                    Button(actions.APPROVE, "Approve", value),
                    Button(actions.REJECT, "Reject", value, style="danger"),
                ]
                if release.approvals_missing
                else []
            )
            return [start, *approvals, cancel]
        case State.AWAITING_CI:
            return [abort]
        case State.AWAITING_APPROVAL:
            return [
                Button(actions.APPROVE, "Approve", value, style="primary"),
                Button(actions.REJECT, "Reject", value, style="danger"),
                abort,
            ]
        case State.RUNNING:
            return [
                Button(actions.PROMOTE, "Promote", f"{value}:{release.current}", style="primary"),
                Button(actions.PAUSE, "Pause", value),
                rollback,
                abort,
            ]
        case State.PAUSED:
            return [
                Button(actions.RESUME, "Resume", value, style="primary"),
                Button(actions.PROMOTE, "Promote", f"{value}:{release.current}"),
                rollback,
                abort,
            ]
        case State.SUCCEEDED | State.FAILED:
            return [rollback]
    return []
