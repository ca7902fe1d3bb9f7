"""Slack listeners: translate the payload, make it durable in the inbox, then ack. Nothing else.

Slack's OK is a promise: it is sent only once the request is in the database (bolt runs these
listeners before answering: process_before_response). When the database cannot take it, the
listener raises, Slack gets no OK and shows its own error. The work happens afterwards, in
the engine (bot/services/inbox.py). Every click is re-authorized there against the database;
a button's value is only a reference to a release.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.release import reject_reason_problem
from bot.services.inbox import Inbound, Inbox
from bot.slack import requests as slack_requests
from bot.slack.actions import BUTTON_ACTS, BUTTONS, REJECT_CALLBACK, SCHEDULE_NEXT
from bot.slack.payloads import register_checks


def register(app: AsyncApp, inbox: Inbox) -> None:
    register_checks(app)  # a malformed request gets a 4xx before any listener reads it

    async def on_command(ack, command: dict[str, Any]) -> None:
        await inbox.accept(
            Inbound(
                "command",
                slack_requests.from_command(command),
                command=command["command"],
                text=command.get("text", ""),
            )
        )
        await ack()

    for name in ("/deploy", "/rollback", "/release"):
        app.command(name)(on_command)

    @app.action(BUTTONS)
    async def on_release_button(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        release_id, shown_stage = slack_requests.button_target(action.get("value"))
        await inbox.accept(
            Inbound(
                "click",
                slack_requests.from_action(body, shown_stage),
                act=BUTTON_ACTS[action["action_id"]],
                release_id=release_id,
                trigger_id=body.get("trigger_id", ""),
            )
        )
        await ack()

    @app.action(SCHEDULE_NEXT)
    async def on_schedule_next(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The same deploy, asked for at the next window: a /deploy like any other (checked
        again when handled), from a click."""
        await inbox.accept(
            Inbound(
                "command",
                slack_requests.from_action(body),
                command="/deploy",
                text=str(action.get("value") or ""),
            )
        )
        await ack()

    @app.view(REJECT_CALLBACK)
    async def on_reject_submitted(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = (
            view.get("state", {}).get("values", {}).get("reason", {}).get("reason", {}).get("value")
            or ""
        ).strip()
        if problem := reject_reason_problem(reason):
            await ack(response_action="errors", errors={"reason": problem})
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        await inbox.accept(
            Inbound(
                "submission",
                slack_requests.from_view(body, meta.get("channel", ""), meta.get("message_ts")),
                act="reject",
                release_id=int(meta.get("release_id", 0)),
                reason=reason,
            )
        )
        await ack()
