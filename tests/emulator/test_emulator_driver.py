"""The driver acts as Slack toward a tiny signed bot: bodies, signatures, payload shapes."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.emulator.signing import compute_signature

SECRET = "test-signing-secret"  # the harness fixture's signing secret

SLASH_FIELDS = {
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "response_url",
    "trigger_id",
    "is_enterprise_install",
}

RELEASE_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*checkout* canary 10%"}},
    {
        "type": "actions",
        "block_id": "release-r1",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Promote"},
                "action_id": "promote",
                "value": "r1",
                "style": "primary",
            },
            {
                "type": "static_select",
                "action_id": "pause_for",
                "placeholder": {"type": "plain_text", "text": "Pause for…"},
                "options": [
                    {"text": {"type": "plain_text", "text": "1 hour"}, "value": "1h"},
                    {"text": {"type": "plain_text", "text": "1 day"}, "value": "1d"},
                ],
            },
        ],
    },
]


async def test_slash_command_is_a_signed_form_post_with_slacks_fields(harness, clock):
    result = await harness.emu.slash_command(
        "U0ALICE", "C0DEPLOYS", "/deploy", "checkout canary 10%"
    )
    assert result.status == 200 and harness.bot.rejected == 0
    [got] = harness.bot.received
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert got.headers["X-Slack-Request-Timestamp"] == str(int(clock()))
    assert SignatureVerifier(SECRET, clock=clock).is_valid_request(got.raw, got.headers)
    assert set(got.form) == SLASH_FIELDS
    assert got.form["command"] == "/deploy" and got.form["text"] == "checkout canary 10%"
    assert got.form["user_id"] == "U0ALICE" and got.form["user_name"] == "alice"
    assert got.form["channel_name"] == "deploys" and got.form["team_id"] == "T0RELEASE"
    assert got.form["api_app_id"] == "A0RELBOT" and got.form["is_enterprise_install"] == "false"
    assert got.form["response_url"].startswith(harness.base + "/response/")


async def test_retry_resends_the_same_body_with_retry_headers(harness, clock):
    await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout")
    clock.advance(3)
    await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout", retry_num=1)
    first, retry = harness.bot.received
    assert retry.raw == first.raw
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert retry.headers["X-Slack-Request-Timestamp"] == str(int(clock()))
    assert "X-Slack-Retry-Num" not in first.headers
    assert harness.bot.rejected == 0


async def test_bad_signature_and_stale_timestamp_are_rejected_by_the_bot(harness, clock):
    body = b"token=x&command=%2Fdeploy&text="
    form = "application/x-www-form-urlencoded"
    assert (await harness.emu.send_signed(body, form)).status == 200
    forged = await harness.emu.send_signed(body, form, signature="v0=" + "0" * 64)
    assert forged.status == 401
    stale = await harness.emu.send_signed(body, form, timestamp=int(clock()) - 301)
    assert stale.status == 401
    tampered = await harness.emu.slash_command(
        "U0ALICE", "C0DEPLOYS", "/deploy", "x", headers_override={"X-Slack-Signature": "v0=bad"}
    )
    assert tampered.status == 401
    assert harness.bot.rejected == 3


async def test_block_actions_payload_shape(harness, clock):
    posted = await harness.client.chat_postMessage(
        channel="C0DEPLOYS", text="r1", blocks=RELEASE_BLOCKS
    )
    clock.advance(1)
    result = await harness.emu.click("U0BOB", "C0DEPLOYS", posted["ts"], "promote")
    assert result.ok
    got = harness.bot.received[-1]
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert list(got.form) == ["payload"]
    p = got.payload
    assert p["type"] == "block_actions"
    assert p["user"] == {"id": "U0BOB", "username": "bob", "name": "bob", "team_id": "T0RELEASE"}
    assert p["api_app_id"] == "A0RELBOT" and p["token"]
    assert p["team"]["id"] == "T0RELEASE" and p["channel"] == {"id": "C0DEPLOYS", "name": "deploys"}
    assert p["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0DEPLOYS",
        "is_ephemeral": False,
    }
    assert (
        p["message"]["ts"] == posted["ts"] and p["message"]["blocks"] == posted["message"]["blocks"]
    )
    assert p["response_url"].startswith(harness.base + "/response/")
    [action] = p["actions"]
    assert action == {
        "action_id": "promote",
        "block_id": "release-r1",
        "type": "button",
        "action_ts": f"{clock():.6f}",
        "text": {"type": "plain_text", "text": "Promote"},
        "value": "r1",
        "style": "primary",
    }
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Why?"}, "blocks": []}
    assert (await harness.client.views_open(trigger_id=p["trigger_id"], view=modal))["ok"]


async def test_click_value_override_select_and_thread_container(harness):
    c, emu = harness.client, harness.emu
    parent = await c.chat_postMessage(channel="C0DEPLOYS", text="r1")
    reply = await c.chat_postMessage(
        channel="C0DEPLOYS", text="r1", blocks=RELEASE_BLOCKS, thread_ts=parent["ts"]
    )
    await emu.click("U0BOB", "C0DEPLOYS", reply["ts"], "promote", value="r999")
    p = harness.bot.received[-1].payload
    assert p["actions"][0]["value"] == "r999"
    assert p["container"]["thread_ts"] == parent["ts"]
    await emu.click("U0BOB", "C0DEPLOYS", reply["ts"], "pause_for", value="1d")
    action = harness.bot.received[-1].payload["actions"][0]
    assert action["type"] == "static_select"
    assert action["selected_option"] == {
        "text": {"type": "plain_text", "text": "1 day"},
        "value": "1d",
    }
    with pytest.raises(LookupError):
        await emu.click("U0BOB", "C0DEPLOYS", reply["ts"], "no_such_action")
    with pytest.raises(LookupError):
        await emu.click("U0BOB", "C0DEPLOYS", "1.000001", "promote")


async def test_someone_elses_ephemeral_cannot_be_clicked(harness):
    eph = await harness.client.chat_postEphemeral(
        channel="C0DEPLOYS", user="U0ALICE", text="x", blocks=RELEASE_BLOCKS
    )
    with pytest.raises(LookupError):
        await harness.emu.click("U0BOB", "C0DEPLOYS", eph["message_ts"], "promote")


async def test_bot_failures_become_banners(harness):
    async def broken(got):
        return web.Response(status=500, text="boom")

    harness.bot.responder = broken
    result = await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "x")
    assert result.status == 500 and not result.ok
    [banner] = harness.emu.banners("U0ALICE")
    assert banner.text.startswith('/deploy failed with the error "http_service_error')
    assert harness.emu.banners("U0BOB") == []


async def test_unreachable_bot_and_ack_timeout(harness):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    real_url = harness.emu.bot_events_url
    harness.emu.bot_events_url = f"http://127.0.0.1:{free_port}/slack/events"
    result = await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "x")
    assert result.status == 0 and result.error.startswith("dispatch_failed")
    harness.emu.bot_events_url = real_url

    never = asyncio.Event()

    async def stuck(got):
        await never.wait()
        return web.Response()

    harness.bot.responder = stuck
    harness.emu.ack_timeout = 0.2
    try:
        late = await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "y")
    finally:
        never.set()
    assert late.error == "operation_timeout"
    assert 'failed with the error "operation_timeout"' in harness.emu.banners("U0ALICE")[-1].text


MODAL = {
    "type": "modal",
    "callback_id": "approve_release",
    "private_metadata": '{"release": "r1"}',
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "Approve r1"},
    "submit": {"type": "plain_text", "text": "Approve"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "window",
            "optional": True,
            "label": {"type": "plain_text", "text": "Window"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "Now"}, "value": "now"},
                    {"text": {"type": "plain_text", "text": "Tonight"}, "value": "tonight"},
                ],
            },
        },
    ],
}


async def open_modal(harness, user="U0BOB") -> str:
    trigger = harness.emu.triggers.issue(user)
    return (await harness.client.views_open(trigger_id=trigger, view=MODAL))["view"]["id"]


async def test_view_submission_payload_and_close_on_empty_ack(harness):
    view_id = await open_modal(harness)
    values = {"reason": {"text": "CI green, low risk"}, "window": {"pick": "tonight"}}
    result = await harness.emu.submit_view("U0BOB", view_id, values)
    assert result.ok
    p = harness.bot.received[-1].payload
    assert p["type"] == "view_submission" and p["user"]["id"] == "U0BOB"
    assert p["trigger_id"] and p["response_urls"] == []
    view = p["view"]
    assert view["id"] == view_id and view["callback_id"] == "approve_release"
    assert view["private_metadata"] == '{"release": "r1"}'
    assert view["state"]["values"] == {
        "reason": {"text": {"type": "plain_text_input", "value": "CI green, low risk"}},
        "window": {
            "pick": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Tonight"},
                    "value": "tonight",
                },
            }
        },
    }
    assert harness.emu.modal("U0BOB") is None


async def test_view_submission_response_actions(harness):
    emu = harness.emu
    view_id = await open_modal(harness)
    answers = iter(
        [
            web.json_response(
                {"response_action": "errors", "errors": {"reason": "Say why, please"}}
            ),
            web.json_response(
                {
                    "response_action": "update",
                    "view": {**MODAL, "title": {"type": "plain_text", "text": "Thanks"}},
                }
            ),
            web.json_response({"response_action": "clear"}),
        ]
    )

    async def respond(got):
        return next(answers)

    harness.bot.responder = respond
    await emu.submit_view("U0BOB", view_id, {"reason": {"text": "-"}})
    assert emu.modal("U0BOB").errors == {"reason": "Say why, please"}
    await emu.submit_view("U0BOB", view_id, {"reason": {"text": "because"}})
    assert emu.modal("U0BOB").title["text"] == "Thanks" and emu.modal("U0BOB").errors == {}
    await emu.submit_view("U0BOB", view_id, {"reason": {"text": "because"}})
    assert emu.modal("U0BOB") is None


async def test_required_inputs_and_unknown_inputs_are_refused_like_the_client(harness):
    view_id = await open_modal(harness)
    with pytest.raises(ValueError, match="reason"):
        await harness.emu.submit_view("U0BOB", view_id, {})
    with pytest.raises(LookupError):
        await harness.emu.submit_view("U0BOB", view_id, {"nope": {"x": "y"}})
    with pytest.raises(LookupError):
        await harness.emu.submit_view("U0ALICE", view_id, {"reason": {"text": "x"}})
    assert harness.bot.received == []


async def test_close_sends_view_closed_when_asked(harness):
    view_id = await open_modal(harness)
    await harness.emu.close_view("U0BOB", view_id)
    p = harness.bot.received[-1].payload
    assert p["type"] == "view_closed" and p["view"]["id"] == view_id and p["is_cleared"] is False
    assert harness.emu.modal("U0BOB") is None


async def test_app_home_opened_event_and_home_clicks(harness):
    home = {
        "type": "home",
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Refresh"},
                        "action_id": "refresh_home",
                    }
                ],
            }
        ],
    }
    view = (await harness.client.views_publish(user_id="U0ERIN", view=home))["view"]
    result = await harness.emu.open_home("U0ERIN")
    assert result.ok
    got = harness.bot.received[-1]
    assert got.headers["Content-Type"] == "application/json"
    assert got.json["type"] == "event_callback" and got.json["api_app_id"] == "A0RELBOT"
    event = got.json["event"]
    assert event["type"] == "app_home_opened" and event["user"] == "U0ERIN"
    assert event["tab"] == "home" and event["view"]["id"] == view["id"]
    await harness.emu.click_view("U0ERIN", view["id"], "refresh_home")
    p = harness.bot.received[-1].payload
    assert p["container"] == {"type": "view", "view_id": view["id"]}
    assert p["view"]["id"] == view["id"] and "response_url" not in p
    retried = await harness.emu.send_event({"type": "app_mention", "text": "hi"}, retry_num=2)
    assert retried.ok and harness.bot.received[-1].headers["X-Slack-Retry-Num"] == "2"


async def test_wait_for_wakes_on_state_changes_and_times_out(harness):
    emu = harness.emu

    async def respond(got):
        form = got.form
        await harness.client.chat_postMessage(channel=form["channel_id"], text=form["text"])
        return web.Response()

    harness.bot.responder = respond
    task = asyncio.create_task(emu.slash_command("U0ALICE", "C0DEPLOYS", "/echo", "hello"))
    msgs = await emu.wait_for(lambda: emu.messages("C0DEPLOYS"))
    assert msgs[0].text == "hello"
    await task
    with pytest.raises(TimeoutError, match="condition not met"):
        await emu.wait_for(lambda: emu.messages("C0RELEASES"), timeout=0.05)


def test_signature_helper_matches_slack_sdk():
    body = b"payload=%7B%7D"
    sig = compute_signature(SECRET, 1700000000, body)
    verifier = SignatureVerifier(SECRET)
    assert sig == verifier.generate_signature(timestamp="1700000000", body=body)
