"""The Chat port over slack_sdk, against the stand-in's Web API (built from Slack's spec).

Faults are the stand-in's own (`emulator.faults`): real HTTP answers (429s, load balancers'
5xx pages, hangs, resets) that slack_sdk turns into its errors, and `SlackChat` into ChatError:
a rate limit carries Retry-After, a page or no answer is retryable, a named error is final."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.clock import ManualClock
from bot.core.ports import ChatError, ChatMessage
from bot.emulator import Emulator, create_emulator
from bot.emulator.methods import HANDLERS
from bot.emulator.spec import ApiError
from bot.slack.chat import SlackChat, chat_error
from tests.support.harness import free_port

TOKEN = "xoxb-test"
HELLO = ChatMessage("hello", [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}])


@dataclass
class StandIn:
    """The stand-in on a loopback port, on a manual clock (fault windows end when it moves)."""

    emulator: Emulator
    clock: ManualClock
    base_url: str

    def chat(self, timeout_s: float = 5.0) -> SlackChat:
        client = AsyncWebClient(
            token=TOKEN, base_url=f"{self.base_url}/api/", timeout=timeout_s, retry_handlers=[]
        )
        return SlackChat(client, response_timeout_s=timeout_s)

    def response_url(self, user: str = "U0ALICE", channel: str = "C0DEPLOYS") -> str:
        return f"{self.base_url}/response/{self.emulator.response_urls.issue(user, channel)}"


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    clock = ManualClock()
    emulator = create_emulator(
        signing_secret="s", bot_token=TOKEN, clock=lambda: clock.now().timestamp()
    )
    runner = web.AppRunner(emulator.web_app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    emulator.public_base_url = f"http://127.0.0.1:{port}"
    try:
        yield StandIn(emulator, clock, emulator.public_base_url)
    finally:
        emulator.faults.clear()  # a held call is answered, so the server stops at once
        await runner.cleanup()


@pytest.fixture
async def slack(stand_in: StandIn) -> tuple[Emulator, SlackChat]:
    return stand_in.emulator, stand_in.chat()


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


# -- what an outage looks like at the boundary -------------------------------------------------


def assert_retryable(error: ChatError, method: str) -> None:
    """Worth trying again, now or soon: neither final nor a rate limit's pause."""
    assert not error.permanent, f"{error} was taken as final"
    assert error.retry_after_s is None, f"{error} was taken as a rate limit"
    assert error.method == method


async def test_a_load_balancer_html_page_is_retryable_and_names_the_status(stand_in: StandIn):
    """Slack's outage page (503, text/html: slack_sdk's data is {}) is not an answer from
    Slack: the call may be tried again, and the error says which HTTP status came back."""
    stand_in.emulator.faults.add(["*"], "error5xx", seconds=30, status=503)
    with pytest.raises(ChatError) as caught:
        await stand_in.chat().post("C0DEPLOYS", HELLO, thread_ts=None, key="k")
    assert_retryable(caught.value, "chat.postMessage")
    assert "HTTP 503" in str(caught.value)
    (call,) = stand_in.emulator.calls_to("chat.postMessage")
    assert call.status == 503 and call.fault is not None, "the fault did not answer the call"
    assert stand_in.emulator.messages("C0DEPLOYS") == []


async def test_a_plain_text_gateway_error_is_retryable_too(stand_in: StandIn):
    """A 502 in text/plain reaches slack_sdk as a *string* body (not a dict): still a page,
    not Slack's answer, so retryable and named by its status; no AttributeError on the way."""
    stand_in.emulator.faults.add(
        ["chat.update"], "error5xx", seconds=30, status=502, content_type="text/plain"
    )
    with pytest.raises(ChatError) as caught:
        await stand_in.chat().update("C0DEPLOYS", "1.000", HELLO)
    assert_retryable(caught.value, "chat.update")
    assert "HTTP 502" in str(caught.value)
    assert isinstance(caught.value.__cause__, SlackApiError)
    assert isinstance(caught.value.__cause__.response.data, str), "the fault was not text/plain"


async def test_a_hung_call_is_retryable_once_the_client_gives_up(stand_in: StandIn):
    """Slack holds the connection and says nothing: after the client's timeout the call is
    "Slack did not answer", retryable (the post may or may not have happened). The hang's
    window then ends on the stand-in's clock, so the held request is answered (504)."""
    stand_in.emulator.faults.add(["chat.postMessage"], "hang", seconds=60)
    with pytest.raises(ChatError, match="chat.postMessage: Slack did not answer") as caught:
        await stand_in.chat(timeout_s=0.3).post("C0DEPLOYS", HELLO, thread_ts=None, key="k")
    assert_retryable(caught.value, "chat.postMessage")
    stand_in.clock.advance(60)
    assert stand_in.emulator.faults.active() == []
    (call,) = stand_in.emulator.calls_to("chat.postMessage")
    assert call.status == 504 and stand_in.emulator.messages("C0DEPLOYS") == []


async def test_a_reset_connection_is_retryable_and_not_retried_inside(stand_in: StandIn):
    """A connection dropped without an answer is retryable, and SlackChat does not try again
    by itself (slack_sdk's default handlers would: a retried post could post twice)."""
    stand_in.emulator.faults.add(["chat.postMessage"], "reset", seconds=30)
    with pytest.raises(ChatError, match="chat.postMessage: Slack did not answer") as caught:
        await stand_in.chat().post("C0DEPLOYS", HELLO, thread_ts=None, key="k")
    assert_retryable(caught.value, "chat.postMessage")
    assert [c.status for c in stand_in.emulator.calls_to("chat.postMessage")] == [0]


async def test_a_rate_limit_carries_its_retry_after_and_method(stand_in: StandIn):
    """429 + Retry-After: 7 is a pause of 7 s for chat.update, not a failure."""
    stand_in.emulator.faults.add(["chat.update"], "ratelimit", seconds=30, retry_after=7)
    with pytest.raises(ChatError) as caught:
        await stand_in.chat().update("C0DEPLOYS", "1.000", HELLO)
    assert caught.value.retry_after_s == 7
    assert caught.value.method == "chat.update" and not caught.value.permanent


async def test_an_error_slack_names_as_temporary_is_retryable(stand_in: StandIn, monkeypatch):
    """Slack answers HTTP 200 `{"ok": false, "error": "internal_error"}`: a named error, but
    one its docs call temporary, so not final; a named error that is not, is final."""

    def internal_error(ctx, args):
        raise ApiError("internal_error")

    monkeypatch.setitem(HANDLERS, "chat.postMessage", internal_error)
    with pytest.raises(ChatError) as caught:
        await stand_in.chat().post("C0DEPLOYS", HELLO, thread_ts=None, key="k")
    assert str(caught.value) == "chat.postMessage: internal_error"
    assert_retryable(caught.value, "chat.postMessage")
    assert stand_in.emulator.calls_to("chat.postMessage")[0].status == 200


def slack_api_error(status: int, data: dict | str, headers: dict | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.update",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("status", "data", "headers", "expected"),
    [
        (200, {"ok": False, "error": "internal_error"}, {}, "retryable"),
        (200, {"ok": False, "error": "fatal_error"}, {}, "retryable"),
        (200, {"ok": False, "error": "service_unavailable"}, {}, "retryable"),
        (200, {"ok": False, "error": "channel_not_found"}, {}, "permanent"),
        (200, {"ok": False, "error": "msg_too_long"}, {}, "permanent"),
        (503, {}, {}, "retryable"),
        (502, "<html>502 Bad Gateway</html>", {}, "retryable"),
        (500, {"ok": False, "error": "invalid_auth"}, {}, "retryable"),  # a 5xx is never final
        (200, {}, {}, "retryable"),  # no error named
        (429, {"ok": False, "error": "ratelimited"}, {"retry-after": ["7"]}, "wait 7"),
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}, "wait 30"),
        (429, {"ok": False, "error": "ratelimited"}, {}, "wait 1"),  # missing: a second
    ],
)
def test_chat_error_sorts_slacks_answers(status, data, headers, expected):
    """The one table of what Slack's answers mean for trying again."""
    error = chat_error("chat.update", slack_api_error(status, data, headers))
    assert error.method == "chat.update"
    if expected.startswith("wait"):
        assert error.retry_after_s == float(expected.split()[1]) and not error.permanent
    else:
        assert error.retry_after_s is None
        assert error.permanent is (expected == "permanent"), str(error)


async def test_a_response_url_answering_503_is_retryable_and_404_is_final(stand_in: StandIn):
    """A response_url's 5xx page may pass: try again. A 404 (expired, used up, unknown) will
    not: final. A hang is retryable like any unanswered call; a 429 carries Retry-After."""
    chat = stand_in.chat(timeout_s=0.3)
    fault = stand_in.emulator.faults.add(["response_url"], "error5xx", seconds=30)
    with pytest.raises(ChatError) as outage:
        await chat.respond(stand_in.response_url(), HELLO, replace_original=False)
    assert_retryable(outage.value, "response_url")
    assert "HTTP 503" in str(outage.value)
    stand_in.emulator.faults.remove(fault.id)

    with pytest.raises(ChatError) as gone:
        await chat.respond(
            f"{stand_in.base_url}/response/not-a-token", HELLO, replace_original=False
        )
    assert gone.value.permanent and gone.value.method == "response_url"
    assert "404" in str(gone.value)

    stand_in.emulator.faults.add(["response_url"], "ratelimit", times=1, retry_after=4)
    with pytest.raises(ChatError) as limited:
        await chat.respond(stand_in.response_url(), HELLO, replace_original=False)
    assert limited.value.retry_after_s == 4 and not limited.value.permanent

    stand_in.emulator.faults.add(["response_url"], "hang", seconds=60)
    with pytest.raises(ChatError, match="response_url: no answer") as hung:
        await chat.respond(stand_in.response_url(), HELLO, replace_original=False)
    assert_retryable(hung.value, "response_url")
    stand_in.clock.advance(60)

    await chat.respond(stand_in.response_url(), HELLO, replace_original=False)
    assert [e.text for e in stand_in.emulator.ephemerals("U0ALICE")] == ["hello"]
