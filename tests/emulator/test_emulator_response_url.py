"""response_url, posted to with slack_sdk's AsyncWebhookClient as bolt's respond() does."""

from __future__ import annotations

from aiohttp import web
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.emulator.conftest import button_block

BUTTONS = [button_block("approve", "Approve")]


async def command_response_url(harness, user="U0ALICE") -> str:
    await harness.emu.slash_command(user, "C0DEPLOYS", "/deploy", "checkout")
    return harness.bot.received[-1].form["response_url"]


async def test_default_is_an_ephemeral_to_the_invoker(harness):
    url = await command_response_url(harness)
    assert url.startswith(f"{harness.base}/response/")
    resp = await AsyncWebhookClient(url).send(text="Only you can see this")
    assert resp.status_code == 200
    assert [e.text for e in harness.emu.ephemerals("U0ALICE")] == ["Only you can see this"]
    assert harness.emu.ephemerals("U0BOB") == [] and harness.emu.messages("C0DEPLOYS") == []
    [call] = harness.emu.calls_to("response_url")
    token = url.rsplit("/", 1)[1]
    assert call.args == {"text": "Only you can see this", "_token": token}
    assert call.status == 200


async def test_in_channel_posts_as_the_bot(harness):
    url = await command_response_url(harness)
    await AsyncWebhookClient(url).send(text="Deploying", response_type="in_channel", blocks=BUTTONS)
    [msg] = harness.emu.messages("C0DEPLOYS")
    assert msg.user == "U0RELBOT" and msg.blocks[0]["elements"][0]["action_id"] == "approve"


async def test_replace_and_delete_the_clicked_message(harness):
    posted = await harness.client.chat_postMessage(channel="C0DEPLOYS", text="r1", blocks=BUTTONS)
    await harness.emu.click("U0BOB", "C0DEPLOYS", posted["ts"], "approve")
    url = harness.bot.received[-1].payload["response_url"]
    hook = AsyncWebhookClient(url)
    await hook.send(text="Approved by bob", replace_original=True)
    [msg] = harness.emu.messages("C0DEPLOYS")
    assert msg.ts == posted["ts"] and msg.text == "Approved by bob" and msg.blocks == []
    assert msg.edited
    await hook.send(delete_original=True)
    assert harness.emu.messages("C0DEPLOYS") == []


async def test_replace_original_works_on_ephemeral_messages(harness):
    eph = await harness.client.chat_postEphemeral(
        channel="C0DEPLOYS", user="U0CAROL", text="Roll back?", blocks=BUTTONS
    )
    await harness.emu.click("U0CAROL", "C0DEPLOYS", eph["message_ts"], "approve")
    payload = harness.bot.received[-1].payload
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    await AsyncWebhookClient(payload["response_url"]).send(
        text="Rolled back", replace_original=True
    )
    [eph_now] = harness.emu.ephemerals("U0CAROL")
    assert eph_now.ts == eph["message_ts"] and eph_now.text == "Rolled back"
    assert eph_now.blocks == []


async def test_five_uses_then_used_url(harness):
    hook = AsyncWebhookClient(await command_response_url(harness))
    for i in range(5):
        assert (await hook.send(text=f"update {i}")).status_code == 200
    sixth = await hook.send(text="one too many")
    assert sixth.status_code == 404 and "used_url" in sixth.body
    assert len(harness.emu.ephemerals("U0ALICE")) == 5


async def test_expires_after_thirty_minutes(harness, clock):
    hook = AsyncWebhookClient(await command_response_url(harness))
    clock.advance(30 * 60)
    assert (await hook.send(text="just in time")).status_code == 200
    clock.advance(1)
    late = await hook.send(text="too late")
    assert late.status_code == 404 and "expired_url" in late.body


async def test_bad_bodies_are_refused_and_do_not_count(harness):
    hook = AsyncWebhookClient(await command_response_url(harness))
    empty = await hook.send_dict({"response_type": "ephemeral"})
    assert empty.status_code == 400 and "no_text" in empty.body
    bad = await hook.send(text="x", blocks=[{"type": "section"}])
    assert bad.status_code == 400 and "invalid_blocks" in bad.body
    for i in range(5):
        assert (await hook.send(text=f"ok {i}")).status_code == 200


async def test_ack_body_of_a_slash_command_is_shown_as_ephemeral(harness):
    async def respond(got):
        return web.json_response({"text": "Starting checkout…", "response_type": "ephemeral"})

    harness.bot.responder = respond
    result = await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout")
    assert result.status == 200 and result.json["text"] == "Starting checkout…"
    assert [e.text for e in harness.emu.ephemerals("U0ALICE")] == ["Starting checkout…"]

    async def respond_text(got):
        return web.Response(text="Usage: /deploy <service> <strategy>")

    harness.bot.responder = respond_text
    await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "")
    assert harness.emu.ephemerals("U0ALICE")[-1].text == "Usage: /deploy <service> <strategy>"
