"""How a release reads in a deployment system of record (GitHub Deployments): one deployment
per release, one status per state it reaches."""

from __future__ import annotations

from bot.core.release import Release, State

DEPLOYMENT_STATES: dict[State, str] = {
    State.SCHEDULED: "queued",
    State.AWAITING_CI: "queued",
    State.AWAITING_APPROVAL: "queued",
    State.RUNNING: "in_progress",
    State.PAUSED: "in_progress",
    State.ROLLING_BACK: "failure",
    State.SUCCEEDED: "success",
    State.FAILED: "failure",
    State.ROLLED_BACK: "failure",
    State.ABORTED: "inactive",
    State.REJECTED: "inactive",
}


def deployment_state(release: Release) -> tuple[str, str] | None:
    """(state, description) to record, or None while the version is not known yet."""
    if not release.version_to:
        return None
    state = DEPLOYMENT_STATES[release.state]
    words = release.state.value.replace("_", " ")
    description = f"releasebot {release.ref}: {words}" + (
        f" ({release.reason})" if release.reason else ""
    )
    return state, description[:140]  # GitHub's limit for a deployment status description
