"""Slack listeners: ack at once, translate the payload, call one use case. Nothing else.

Every click is re-authorized by the services against the database; a button's value is only
a reference to a release.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.policy import Act
from bot.core.release import reject_reason_problem
from bot.services.commands import CommandRouter
from bot.services.releases import Releases
from bot.slack import requests as slack_requests
from bot.slack.inflight import InFlight
from bot.slack.render import SlackRenderer

log = logging.getLogger(__name__)

BUTTON_ACTS = {
    "release_approve": Act.APPROVE,
    "release_promote": Act.PROMOTE,
    "release_pause": Act.PAUSE,
    "release_resume": Act.RESUME,
    "release_rollback": Act.ROLLBACK,
    "release_abort": Act.ABORT,
}
REJECT_CALLBACK = "release_reject"


@dataclass(frozen=True)
class SlackServices:
    commands: CommandRouter
    releases: Releases
    renderer: SlackRenderer
    inflight: InFlight


def register(app: AsyncApp, services: SlackServices) -> None:
    tracked = services.inflight.track

    async def on_command(ack, command: dict[str, Any]) -> None:
        await ack()
        async with tracked():
            await services.commands.handle(
                slack_requests.from_command(command), command["command"], command.get("text", "")
            )

    for name in ("/deploy", "/rollback", "/release"):
        app.command(name)(on_command)

    @app.action(re.compile(r"^release_(approve|promote|pause|resume|rollback|abort)$"))
    async def on_release_button(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        async with tracked():
            release_id, shown_stage = slack_requests.button_target(action.get("value"))
            request = slack_requests.from_action(body, shown_stage)
            await services.releases.act(
                request, BUTTON_ACTS[action["action_id"]], release_id=release_id
            )

    @app.action("release_reject")
    async def on_reject_button(ack, body: dict[str, Any], action: dict[str, Any], client) -> None:
        await ack()
        async with tracked():
            request = slack_requests.from_action(body)
            release_id, _ = slack_requests.button_target(action.get("value"))
            outcome, release = await services.releases.preflight(request, Act.REJECT, release_id)
            if release is None:
                return
            metadata = json.dumps(
                {
                    "release_id": release.id,
                    "channel": request.channel,
                    "message_ts": request.message_ts,
                }
            )
            view = services.renderer.view(
                "reject_modal",
                {
                    "private_metadata": metadata,
                    "ref": release.ref,
                    "service": release.service,
                    "version_to": release.version_to,
                    "environment": release.environment,
                },
            )
            await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(REJECT_CALLBACK)
    async def on_reject_submitted(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = (
            view.get("state", {}).get("values", {}).get("reason", {}).get("reason", {}).get("value")
            or ""
        ).strip()
        if problem := reject_reason_problem(reason):
            await ack(response_action="errors", errors={"reason": problem})
            return
        await ack()
        async with tracked():
            meta = json.loads(view.get("private_metadata") or "{}")
            request = slack_requests.from_view(
                body, meta.get("channel", ""), meta.get("message_ts")
            )
            await services.releases.act(
                request, Act.REJECT, release_id=int(meta.get("release_id", 0)), reason=reason
            )
