"""The action IDs of the status message's buttons and of the reject box: the one place that
names them (status_view draws them, listeners and payloads read them)."""

from __future__ import annotations

import re

APPROVE = "release_approve"
REJECT = "release_reject"
PROMOTE = "release_promote"
PAUSE = "release_pause"
RESUME = "release_resume"
ROLLBACK = "release_rollback"
ABORT = "release_abort"
START = "release_start"

# What each button asks the bot to do.
BUTTON_ACTS = {
    APPROVE: "approve",
    PROMOTE: "promote",
    PAUSE: "pause",
    RESUME: "resume",
    ROLLBACK: "rollback",
    ABORT: "abort",
    REJECT: "reject",
    START: "start",
}
SCHEDULE_NEXT = "deploy_schedule_next"  # on a refusal outside the deploy windows; its value is
# the /deploy text that asks for the same deploy at the next opening
BUTTONS = re.compile("^(" + "|".join(map(re.escape, BUTTON_ACTS)) + ")$")
REJECT_CALLBACK = REJECT  # the reject box's callback_id (templates/reject_modal.j2)
