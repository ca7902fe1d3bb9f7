"""A real slack_bolt AsyncApp against the emulator: the production path, end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulator import Emulator, create_emulator
from tests.emulator.conftest import button_block

SECRET = "bolt-signing-secret"
TOKEN = "xoxb-bolt"

PROMOTE = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*checkout* canary 10%"}},
    button_block(),
]


def build_bolt(client: AsyncWebClient) -> AsyncApp:
    app = AsyncApp(signing_secret=SECRET, client=client)

    @app.command("/deploy")
    async def deploy(ack, command, say, respond):
        await ack(text=f"Starting {command['text']}…")
        await say(text="checkout canary 10%", blocks=PROMOTE)
        await respond(text="You will be told when the canary is healthy.")

    @app.action("promote")
    async def promote(ack, body, client, respond):
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["container"]["message_ts"],
            text=f"promoted by {body['user']['name']}",
            blocks=[],
        )
        await respond(text="Done.", replace_original=False)

    @app.event("app_home_opened")
    async def home(event, client):
        await client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "divider"}]},
        )

    return app


@pytest.fixture
async def bolt_emulator() -> AsyncIterator[Emulator]:
    emu = create_emulator(SECRET, TOKEN)
    bolt: list[AsyncApp] = []  # built once the port (and so the API URL) is known

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await bolt[0].async_dispatch(await to_bolt_request(request))
        )

    root = web.Application()
    root.router.add_post("/slack/events", events)
    root.add_subapp("/emulator", emu.web_app())
    runner = web.AppRunner(root, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    emu.public_base_url = f"{origin}/emulator"
    emu.bot_events_url = f"{origin}/slack/events"
    bolt.append(build_bolt(AsyncWebClient(token=TOKEN, base_url=f"{emu.public_base_url}/api/")))
    try:
        yield emu
    finally:
        await runner.cleanup()


async def test_bolt_command_action_and_event(bolt_emulator):
    emu = bolt_emulator
    result = await emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout")
    assert result.status == 200 and result.body_text == "Starting checkout…"
    [msg] = await emu.wait_for(lambda: emu.messages("C0DEPLOYS"))
    assert msg.blocks[1]["elements"][0]["action_id"] == "promote"
    await emu.wait_for(lambda: len(emu.ephemerals("U0ALICE")) == 2)
    assert {e.text for e in emu.ephemerals("U0ALICE")} == {
        "Starting checkout…",  # the ack body
        "You will be told when the canary is healthy.",  # respond() via response_url
    }

    clicked = await emu.click("U0BOB", "C0DEPLOYS", msg.ts, "promote")
    assert clicked.status == 200
    await emu.wait_for(lambda: msg.edited and emu.ephemerals("U0BOB"))
    assert msg.text == "promoted by bob" and msg.blocks == []
    assert emu.ephemerals("U0BOB")[0].text == "Done."

    assert (await emu.open_home("U0CAROL")).status == 200
    await emu.wait_for(lambda: emu.home("U0CAROL"))

    forged = await emu.send_signed(
        b"command=%2Fdeploy", "application/x-www-form-urlencoded", signature="v0=00"
    )  # noqa: E501
    assert forged.status == 401
    assert [c.method for c in emu.calls if c.method == "auth.test"]
    assert all(c.response.get("ok") for c in emu.calls)
