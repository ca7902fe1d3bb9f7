"""The control API (/_control): drive the stand-in and read what Slack would show, as JSON."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from tests.emulator.conftest import button_block

ALICE_DEPLOYS = {"user": "U0ALICE", "channel": "C0DEPLOYS"}


PROMOTE = [button_block()]


def keyed(key: str) -> dict:
    return {"event_type": "releasebot_message", "event_payload": {"key": key}}


async def test_bot_sets_where_commands_go(harness):
    url = f"{harness.origin}/slack/events"
    harness.emu.bot_events_url = None
    assert await harness.request("POST", "/_control/bot", {"events_url": url}) == (
        200,
        {"ok": True, "events_url": url},
    )
    assert harness.emu.bot_events_url == url
    status, answer = await harness.request("POST", "/_control/bot", {"events_url": "nope"})
    assert status == 400 and "http(s) URL" in answer["error"]


async def test_command_is_signed_and_answers_the_delivery(harness):
    async def ack(_received) -> web.Response:
        return web.json_response({"text": "Deploying checkout to staging…"})

    harness.bot.responder = ack
    status, delivery = await harness.request(
        "POST",
        "/_control/command",
        {**ALICE_DEPLOYS, "command": "/deploy", "text": "checkout to staging"},
    )
    assert status == 200 and delivery["status"] == 200 and delivery["ok"]
    assert delivery["error"] is None and delivery["json"]["text"].startswith("Deploying")
    assert delivery["elapsed_ms"] > 0
    [got] = harness.bot.received
    assert (got.form["command"], got.form["text"]) == ("/deploy", "checkout to staging")
    assert delivery["trigger_id"] == got.form["trigger_id"]
    assert delivery["response_url"] == got.form["response_url"]
    assert delivery["response_url"].startswith(f"{harness.base}/response/")
    _, seen = await harness.request("GET", "/_control/ephemerals?user=U0ALICE&channel=deploys")
    assert [e["text"] for e in seen["ephemerals"]] == ["Deploying checkout to staging…"]
    assert seen["banners"] == []


async def test_a_bot_that_fails_is_a_delivery_not_an_error(harness):
    async def crash(_received) -> web.Response:
        return web.Response(status=500, text="boom")

    harness.bot.responder = crash
    status, delivery = await harness.request(
        "POST", "/_control/command", {**ALICE_DEPLOYS, "command": "/deploy", "retry_num": 1}
    )
    assert status == 200 and (delivery["status"], delivery["ok"]) == (500, False)
    assert harness.bot.received[0].headers["X-Slack-Retry-Num"] == "1"
    _, seen = await harness.request("GET", "/_control/ephemerals?user=U0ALICE")
    assert "failed with the error" in seen["banners"][0]["text"]


async def test_click_sends_block_actions(harness):
    posted = await harness.client.chat_postMessage(
        channel="C0DEPLOYS", text="checkout", blocks=PROMOTE
    )
    status, delivery = await harness.request(
        "POST",
        "/_control/click",
        {"user": "U0BOB", "channel": "C0DEPLOYS", "ts": posted["ts"], "action_id": "promote"},
    )
    assert status == 200 and delivery["ok"] and delivery["trigger_id"]
    payload = harness.bot.received[0].payload
    assert payload["type"] == "block_actions" and payload["actions"][0]["value"] == "r1"
    assert delivery["response_url"] == payload["response_url"]


async def test_messages_show_metadata_replies_and_edits(harness):
    client = harness.client
    top = await client.chat_postMessage(channel="C0DEPLOYS", text="v1", metadata=keyed("s-1"))
    reply = await client.chat_postMessage(
        channel="C0DEPLOYS", text="step", thread_ts=top["ts"], metadata=keyed("t-1")
    )
    for text in ("v2", "v3"):
        await client.chat_update(channel="C0DEPLOYS", ts=top["ts"], text=text)
    harness.emu.post_user_message("U0CAROL", "C0DEPLOYS", "lgtm", thread_ts=top["ts"])
    status, answer = await harness.request("GET", "/_control/messages?channel=deploys")
    assert status == 200 and answer["channel"] == "C0DEPLOYS"
    [message] = answer["messages"]
    assert (message["ts"], message["text"], message["bot_id"]) == (top["ts"], "v3", "B0RELBOT")
    assert message["metadata"] == keyed("s-1")
    assert (message["edited"], message["edits"]) == (True, 2)
    assert [(r["ts"], r["text"], r["metadata"]) for r in message["replies"]] == [
        (reply["ts"], "step", keyed("t-1")),
        (message["replies"][1]["ts"], "lgtm", None),
    ]


async def test_calls_are_listed_with_their_status_and_fault(harness):
    harness.emu.rate_limit("chat.postMessage", retry_after_seconds=3)
    with pytest.raises(Exception, match="ratelimited"):
        await harness.client.chat_postMessage(channel="C0DEPLOYS", text="one")
    await harness.client.chat_postMessage(channel="C0DEPLOYS", text="two")
    await harness.client.auth_test()
    _, answer = await harness.request("GET", "/_control/calls?method=chat.postMessage")
    calls = answer["calls"]
    assert [(c["status"], c["args"]["text"]) for c in calls] == [(429, "one"), (200, "two")]
    assert calls[0]["fault"] == "f1" and calls[1]["fault"] is None
    assert calls[1]["response"]["ok"] and calls[1]["at"] == harness.clock()
    _, everything = await harness.request("GET", "/_control/calls")
    assert [c["method"] for c in everything["calls"]][-1] == "auth.test"


async def test_calls_can_wait_for_a_count(harness):
    async def post_soon() -> None:
        await asyncio.sleep(0.05)
        await harness.client.chat_postMessage(channel="C0DEPLOYS", text="late")

    later = asyncio.create_task(post_soon())
    status, answer = await harness.request(
        "GET", "/_control/calls?method=chat.postMessage&at_least=1&wait=5"
    )
    assert status == 200 and [c["args"]["text"] for c in answer["calls"]] == ["late"]
    await later
    _, short = await harness.request(
        "GET", "/_control/calls?method=chat.update&at_least=1&wait=0.05"
    )
    assert short["calls"] == []


@pytest.mark.parametrize(
    ("verb", "path", "body", "says"),
    [
        ("POST", "/_control/bot", {}, "missing `events_url`"),
        ("POST", "/_control/command", {"user": "U0ALICE"}, "missing `channel`, `command`"),
        ("POST", "/_control/command", {**ALICE_DEPLOYS, "command": "deploy"}, '"/deploy"'),
        ("POST", "/_control/command", {**ALICE_DEPLOYS, "command": "/d", "text": 3}, "string"),
        ("POST", "/_control/command", {**ALICE_DEPLOYS, "command": "/d", "retry_num": -1}, "retry"),
        ("POST", "/_control/command", {"user": "U0NOBODY", "channel": "C0DEPLOYS", "command": "/d"},
         "no such user"),
        ("POST", "/_control/command", {"user": "U0ALICE", "channel": "C0NOPE", "command": "/d"},
         "no such channel"),
        ("POST", "/_control/click", {**ALICE_DEPLOYS, "ts": "1.0"}, "missing `action_id`"),
        ("POST", "/_control/click", {**ALICE_DEPLOYS, "ts": "1.0", "action_id": "x"}, "no message"),
        ("GET", "/_control/calls?at_least=x&wait=1", None, "at_least must be"),
        ("GET", "/_control/messages", None, "no such channel"),
        ("GET", "/_control/messages?channel=nope", None, "no such channel"),
        ("GET", "/_control/ephemerals", None, "no such user"),
        ("GET", "/_control/ephemerals?user=U0ALICE&channel=nope", None, "no such channel"),
    ],
)  # fmt: skip
async def test_bad_control_input_is_a_400_that_says_why(harness, verb, path, body, says):
    status, answer = await harness.request(verb, path, body)
    assert status == 400 and answer["ok"] is False and says in answer["error"], answer
    assert harness.bot.received == []


async def test_without_a_bot_url_a_command_is_refused(harness):
    harness.emu.bot_events_url = None
    status, answer = await harness.request(
        "POST", "/_control/command", {**ALICE_DEPLOYS, "command": "/deploy"}
    )
    assert status == 400 and "POST /_control/bot" in answer["error"]
