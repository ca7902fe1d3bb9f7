"""Who hears what: the catalog's plan for announcing a release's events in channels beyond the
one it was asked in. A release keeps the plan it was asked under (like its approval policy), and
each event is announced once per channel."""

from __future__ import annotations

from bot.core.release import Fact, Release, State

EVENT_WORDS = {
    "requested": "requested",
    "scheduled": "scheduled",
    "approved": "approved",
    "started": "started rolling out",
    "succeeded": "is live",
    "failed": "failed",
    "rolled_back": "was rolled back",
    "refused": "was refused",
}
REFUSED = ("release.ci_failed", "release.gate_failed", "release.start_refused", "release.rejected")


def event_of(fact: Fact, release: Release) -> str | None:
    """The plan's event a fact is, if any."""
    match fact.kind:
        case "release.requested":
            return "scheduled" if release.state is State.SCHEDULED else "requested"
        case "release.auto_approved":
            return "approved"
        case "release.approved":
            details = fact.details or {}
            return "approved" if details.get("approvals", 0) >= details.get("required", 1) else None
        case "stage.started":
            return "started" if (fact.details or {}).get("index") == 0 else None
        case "release.succeeded":
            return "succeeded"
        case "release.failed" | "rollback.failed":
            return "failed"
        case "release.rolled_back":
            return "rolled_back"
        case kind if kind in REFUSED:
            return "refused"
    return None


def plan_sentences(announcements: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    """The plan in words, a line per channel: `<#C0ANNOUNCE>: started, succeeded, failed`."""
    return [
        f"<#{channel}>: " + ", ".join(event.replace("_", " ") for event in events)
        for channel, events in announcements
    ]
