"""The console page's JSON API and static files."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from tests.emulator.conftest import button_block

BUTTON_BLOCKS = [button_block()]


async def get(harness, path):
    async with aiohttp.ClientSession() as s, s.get(f"{harness.base}/{path}") as r:
        return r.status, (
            await r.json() if r.content_type == "application/json" else await r.text()
        )


async def post(harness, path, body):
    async with aiohttp.ClientSession() as s, s.post(f"{harness.base}/{path}", json=body) as r:
        return r.status, await r.json()


async def test_page_and_static_files_are_served_under_the_mount(harness):
    status, html = await get(harness, "")
    assert status == 200 and '<base href="/emulator/">' in html
    assert 'data-testid="command-input"' in html
    for name in ("console.js", "console.css"):
        status, body = await get(harness, f"static/{name}")
        assert status == 200 and body


async def test_bootstrap_lists_people_with_roles(harness):
    status, boot = await get(harness, "console/api/bootstrap")
    assert status == 200 and boot["team"]["id"] == "T0RELEASE"
    bob = next(u for u in boot["users"] if u["id"] == "U0BOB")
    assert bob["real_name"] == "Bob Approver" and "approver" in bob["title"]
    assert boot["bot"]["user_id"] == "U0RELBOT"


async def test_state_snapshot_is_per_user(harness):
    await harness.client.chat_postMessage(channel="C0DEPLOYS", text="public", blocks=BUTTON_BLOCKS)
    await harness.client.chat_postEphemeral(channel="C0DEPLOYS", user="U0ALICE", text="secret")
    await harness.client.chat_postMessage(channel="U0BOB", text="dm to bob")
    _, alice = await get(harness, "console/api/state?user=U0ALICE")
    _, bob = await get(harness, "console/api/state?user=U0BOB")
    assert [m["text"] for m in alice["messages"]["C0DEPLOYS"]] == ["public"]
    assert [e["text"] for e in alice["ephemerals"]] == ["secret"] and bob["ephemerals"] == []
    assert "D0BOB" in bob["messages"] and "D0BOB" not in alice["messages"]
    assert alice["version"] == harness.emu.version


async def test_long_poll_returns_on_change(harness):
    _, first = await get(harness, "console/api/state?user=U0ALICE")
    since = first["version"]
    pending = asyncio.create_task(
        get(harness, f"console/api/state?user=U0ALICE&since={since}&wait=20")
    )
    for _ in range(100_000):  # yield to the loop until the server handler is parked
        if harness.emu.state.waiting:
            break
        await asyncio.sleep(0)
    assert harness.emu.state.waiting == 1
    await harness.client.chat_postMessage(channel="C0DEPLOYS", text="news")
    _, snap = await asyncio.wait_for(pending, 5)
    assert snap["version"] > since
    assert snap["messages"]["C0DEPLOYS"][0]["text"] == "news"


async def test_shutdown_releases_pending_long_polls(harness):
    pending = asyncio.create_task(
        get(harness, f"console/api/state?user=U0ALICE&since={harness.emu.version}&wait=25")
    )
    for _ in range(100_000):
        if harness.emu.state.waiting:
            break
        await asyncio.sleep(0)
    await asyncio.wait_for(harness.runner.cleanup(), 5)
    status, _ = await asyncio.wait_for(pending, 5)
    assert status == 200


async def test_command_click_and_message_endpoints_drive_the_bot(harness):
    async def respond(got):
        if got.payload is None:
            await harness.client.chat_postMessage(
                channel=got.form["channel_id"], text="r1", blocks=BUTTON_BLOCKS
            )
        else:
            await harness.client.chat_update(
                channel=got.payload["channel"]["id"],
                ts=got.payload["container"]["message_ts"],
                text="promoted",
                blocks=[],
            )
        return web.Response()

    harness.bot.responder = respond
    status, answer = await post(
        harness,
        "console/api/command",
        {"user": "U0ALICE", "channel": "C0DEPLOYS", "text": "/deploy checkout canary 10%"},
    )
    assert status == 200 and answer["delivery"]["status"] == 200
    assert harness.bot.received[0].form["command"] == "/deploy"
    assert harness.bot.received[0].form["text"] == "checkout canary 10%"
    [msg] = harness.emu.messages("C0DEPLOYS")
    status, answer = await post(
        harness,
        "console/api/click",
        {"user": "U0BOB", "channel": "C0DEPLOYS", "ts": msg.ts, "action_id": "promote"},
    )
    assert status == 200 and answer["ok"]
    assert msg.text == "promoted" and msg.edited
    status, answer = await post(
        harness,
        "console/api/command",
        {"user": "U0CAROL", "channel": "C0DEPLOYS", "text": "lgtm", "thread_ts": msg.ts},
    )
    assert status == 200 and msg.replies[0].text == "lgtm" and msg.replies[0].user == "U0CAROL"
    status, answer = await post(
        harness,
        "console/api/click",
        {"user": "U0BOB", "channel": "C0DEPLOYS", "ts": msg.ts, "action_id": "gone"},
    )
    assert status == 400 and "gone" in answer["error"]


async def test_modal_submit_close_home_and_dismiss_endpoints(harness):
    emu = harness.emu
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Reason"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    view = (await harness.client.views_open(trigger_id=emu.triggers.issue("U0BOB"), view=modal))[
        "view"
    ]
    _, snap = await get(harness, "console/api/state?user=U0BOB")
    assert snap["modal"]["id"] == view["id"]
    status, _ = await post(
        harness,
        "console/api/submit",
        {"user": "U0BOB", "view_id": view["id"], "values": {"reason": {"text": "ok"}}},
    )
    assert status == 200 and emu.modal("U0BOB") is None
    assert (
        harness.bot.received[-1].payload["view"]["state"]["values"]["reason"]["text"]["value"]
        == "ok"
    )
    view = (await harness.client.views_open(trigger_id=emu.triggers.issue("U0BOB"), view=modal))[
        "view"
    ]
    await post(harness, "console/api/close", {"user": "U0BOB", "view_id": view["id"]})
    assert emu.modal("U0BOB") is None
    await post(harness, "console/api/home", {"user": "U0BOB"})
    assert harness.bot.received[-1].json["event"]["type"] == "app_home_opened"
    emu.state.add_banner("U0BOB", "oops")
    eph = emu.state.post_ephemeral("C0DEPLOYS", "U0BOB", "note")
    await post(
        harness, "console/api/dismiss", {"user": "U0BOB", "banner_id": 1, "ephemeral_ts": eph.ts}
    )
    assert emu.banners("U0BOB") == [] and emu.ephemerals("U0BOB") == []
