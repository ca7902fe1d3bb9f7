"""A release button is checked against its release's status message whatever container the
click comes in (issue 12): a click from a view (a modal, App Home) carries no message, so it
is refused unless the view is one of ours naming that release and its message. Signed
block_actions payloads through /slack/events, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from bot.emulator import payloads
from tests.support.audit import export_rows
from tests.support.harness import BotHarness


def view_click(
    scenario_bot: BotHarness, user: str, button: tuple[dict, dict], metadata: dict[str, Any] | None
) -> bytes:
    """A block_actions payload from a view, as Slack sends it: no channel, no message, no
    response_url; the view (with its private_metadata) instead."""
    block, element = button
    payload = payloads.interaction_base(scenario_bot.slack.workspace, "block_actions", user)
    payload.update(
        container={"type": "view", "view_id": "V0ELSEWHERE"},
        trigger_id=f"view-click.{user}.{len(json.dumps(metadata))}",
        view={
            "id": "V0ELSEWHERE",
            "type": "modal",
            "callback_id": "somewhere_else",
            "private_metadata": json.dumps(metadata) if metadata is not None else "",
            "blocks": [block],
        },
        actions=[payloads.action(block, element, "1.000001", None)],
    )
    return urlencode({"payload": json.dumps(payload)}).encode()


async def send(scenario_bot: BotHarness, body: bytes) -> None:
    result = await scenario_bot.slack.send_signed(body, "application/x-www-form-urlencoded")
    assert result.status == 200
    await scenario_bot.settle()


async def test_a_button_clicked_in_a_view_is_refused_unless_the_view_vouches_for_its_message(
    scenario_bot: BotHarness,
):
    await scenario_bot.command("U0ALICE", "/deploy checkout canary 10% to production")
    await scenario_bot.advance(3)
    status = scenario_bot.status_message()
    assert "waiting for approval" in status.text
    approve = payloads.find_element(status.blocks, "release_approve")

    await send(scenario_bot, view_click(scenario_bot, "U0BOB", approve, None))
    await send(
        scenario_bot,
        view_click(scenario_bot, "U0BOB", approve, {"release_id": 2, "message_ts": status.ts}),
    )
    refusals = [
        t for t in scenario_bot.replies_to("U0BOB") if "did not come from release #1's" in t
    ]
    assert len(refusals) == 2 and all("nothing was changed" in t for t in refusals)
    assert "waiting for approval" in scenario_bot.status_message().text
    rows = await export_rows(scenario_bot.runtime.db)
    refused = [r for r in rows if r["rule"] == "button.unverified"]
    assert len(refused) == 2
    assert all(r["outcome"] == "refused" and r["actor_id"] == "U0BOB" for r in refused)

    # A view of ours naming this release and its message: the click is checked and counts.
    ours = {"release_id": 1, "channel": status.channel, "message_ts": status.ts}
    await send(scenario_bot, view_click(scenario_bot, "U0BOB", approve, ours))
    await scenario_bot.advance(3)
    assert "waiting for approval" not in scenario_bot.status_message().text
    rows = await export_rows(scenario_bot.runtime.db)
    assert any(r["action"] == "click.approve" and r["outcome"] == "ok" for r in rows)
