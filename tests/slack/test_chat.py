"""The Chat port over slack_sdk, against the stand-in's Web API (built from Slack's spec)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.ports import ChatError, ChatMessage
from bot.emulator import create_emulator
from bot.slack.chat import SlackChat
from tests.support.harness import free_port

TOKEN = "xoxb-test"
HELLO = ChatMessage("hello", [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}])


@pytest.fixture
async def slack() -> AsyncIterator[tuple]:
    emulator = create_emulator(signing_secret="s", bot_token=TOKEN)
    runner = web.AppRunner(emulator.web_app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    emulator.public_base_url = f"http://127.0.0.1:{port}"
    client = AsyncWebClient(
        token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/", retry_handlers=[]
    )
    try:
        yield emulator, SlackChat(client)
    finally:
        await runner.cleanup()


async def test_post_update_and_find_a_message_by_its_key(slack):
    emulator, chat = slack
    ts = await chat.post("C0DEPLOYS", HELLO, thread_ts=None, key="release-1-status")
    reply = await chat.post("C0DEPLOYS", ChatMessage("in thread"), thread_ts=ts, key="thread-1")
    await chat.update("C0DEPLOYS", ts, ChatMessage("bye"))
    assert emulator.message("C0DEPLOYS", ts).text == "bye"
    assert await chat.find_posted("C0DEPLOYS", "release-1-status", thread_ts=None) == ts
    assert await chat.find_posted("C0DEPLOYS", "thread-1", thread_ts=ts) == reply
    assert await chat.find_posted("C0DEPLOYS", "release-2-status", thread_ts=None) is None


async def test_rate_limits_carry_retry_after(slack):
    emulator, chat = slack
    emulator.rate_limit("chat.postMessage", retry_after_seconds=12)
    with pytest.raises(ChatError) as caught:
        await chat.post("C0DEPLOYS", HELLO, thread_ts=None, key="k")
    assert caught.value.retry_after_s == 12
    assert emulator.messages("C0DEPLOYS") == []


async def test_documented_errors_are_permanent_or_not(slack):
    _, chat = slack
    with pytest.raises(ChatError) as missing:
        await chat.post("C0NOPE", HELLO, thread_ts=None, key="k")
    assert str(missing.value) == "chat.postMessage: channel_not_found"
    assert missing.value.permanent and missing.value.method == "chat.postMessage"
    with pytest.raises(ChatError) as stale:
        await chat.update("C0DEPLOYS", "1.000", HELLO)
    assert str(stale.value) == "chat.update: message_not_found" and stale.value.permanent


async def test_unreachable_slack_is_retryable_and_not_retried_inside():
    client = AsyncWebClient(
        token=TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/", retry_handlers=[]
    )
    with pytest.raises(ChatError, match="Slack did not answer") as caught:
        await SlackChat(client).post("C0DEPLOYS", HELLO, thread_ts=None, key="k")
    assert not caught.value.permanent and caught.value.retry_after_s is None


async def test_ephemeral_and_response_url(slack):
    emulator, chat = slack
    await chat.post_ephemeral("C0DEPLOYS", "U0ALICE", HELLO)
    assert [e.text for e in emulator.ephemerals("U0ALICE")] == ["hello"]
    with pytest.raises(ChatError):
        await chat.respond(
            f"{emulator.public_base_url}/response/not-a-token", HELLO, replace_original=False
        )
