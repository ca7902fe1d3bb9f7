"""Fault injection over HTTP (/_faults), seen by slack_sdk's real AsyncWebClient."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulator.faults import FaultError, FaultSchedule

TOKEN = "xoxb-test-token"  # the harness fixture's bot token


async def add_fault(harness, **fault: Any) -> dict[str, Any]:
    status, answer = await harness.request("POST", "/_faults", fault)
    assert status == 200 and answer["ok"], answer
    return answer["fault"]


def client(harness, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=f"{harness.base}/api/", **kwargs)


async def post_fails(harness, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await client(harness, **kwargs).chat_postMessage(channel="C0DEPLOYS", text="hello")
    return caught.value


# -- what each mode looks like to a client ----------------------------------------------------


async def test_ratelimit_answers_429_with_retry_after_and_posts_nothing(harness):
    fault = await add_fault(
        harness, methods=["chat.postMessage"], mode="ratelimit", seconds=30, retry_after=2
    )
    assert fault["ends_at"] == harness.clock() + 30 and fault["retry_after"] == 2
    err = await post_fails(harness)
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "2"
    assert err.response["error"] == "ratelimited"
    assert harness.emu.messages("C0DEPLOYS") == []
    [call] = harness.emu.calls_to("chat.postMessage")
    assert (call.status, call.fault, call.args["text"]) == (429, fault["id"], "hello")
    assert (await harness.client.auth_test())["ok"]  # a method not named is untouched


async def test_error5xx_answers_a_load_balancer_page(harness):
    await add_fault(harness, methods=["*"], mode="error5xx", seconds=30)
    err = await post_fails(harness)
    # AsyncWebClient drops a body that is not JSON: data is {} and only the status tells
    assert err.response.status_code == 503 and err.response.data == {}
    status, page = await harness.request("POST", "/api/chat.postMessage", {"text": "x"})
    assert status == 503 and "<h1>503 Service Unavailable</h1>" in page
    assert harness.emu.messages("C0DEPLOYS") == []
    assert [c.status for c in harness.emu.calls] == [503, 503]


async def test_error5xx_as_plain_text_reaches_slack_sdk_as_a_string(harness):
    await add_fault(
        harness, methods=["chat.postMessage"], mode="error5xx", status=502,
        content_type="text/plain", seconds=30,
    )  # fmt: skip
    err = await post_fails(harness)
    assert err.response.status_code == 502
    assert isinstance(err.response.data, str) and "502 Bad Gateway" in err.response.data


@pytest.mark.slow
async def test_hang_times_a_client_out_while_other_calls_are_answered(harness):
    await add_fault(harness, methods=["chat.postMessage"], mode="hang", seconds=30)
    hung = asyncio.create_task(post_fails(harness, timeout=0.5))
    await harness.emu.wait_for(lambda: harness.emu.calls_to("chat.postMessage"))
    assert (await harness.client.auth_test())["ok"] and not hung.done()
    with pytest.raises(TimeoutError):
        await hung
    assert harness.emu.messages("C0DEPLOYS") == []
    assert harness.emu.calls_to("chat.postMessage")[0].status == 504


async def test_a_held_call_is_answered_504_when_the_window_ends(harness):
    await add_fault(harness, methods=["chat.update"], mode="hang", seconds=30)
    held = asyncio.create_task(harness.request("POST", "/api/chat.update", {"ts": "1.0"}))
    await harness.emu.wait_for(lambda: harness.emu.calls_to("chat.update"))
    harness.clock.advance(30)
    status, page = await asyncio.wait_for(held, 2)
    assert status == 504 and "504 Gateway Timeout" in page


async def test_removing_a_hang_releases_the_held_calls(harness):
    fault = await add_fault(harness, methods=["chat.update"], mode="hang", seconds=30)
    held = asyncio.create_task(harness.request("POST", "/api/chat.update", {"ts": "1.0"}))
    await harness.emu.wait_for(lambda: harness.emu.calls_to("chat.update"))
    assert await harness.request("DELETE", f"/_faults/{fault['id']}") == (
        200,
        {"ok": True, "removed": 1},
    )
    assert (await asyncio.wait_for(held, 1))[0] == 504


@pytest.mark.slow
async def test_reset_drops_the_connection_without_an_answer(harness):
    await add_fault(harness, methods=["chat.postMessage"], mode="reset", seconds=30)
    with pytest.raises(aiohttp.ClientConnectionError):
        await client(harness, retry_handlers=[]).chat_postMessage(channel="C0DEPLOYS", text="x")
    assert [c.status for c in harness.emu.calls_to("chat.postMessage")] == [0]
    # slack_sdk's default handlers retry a reset once: a second attempt at the same post
    with pytest.raises(aiohttp.ClientConnectionError):
        await client(harness).chat_postMessage(channel="C0DEPLOYS", text="x")
    assert len(harness.emu.calls_to("chat.postMessage")) == 3
    assert harness.emu.messages("C0DEPLOYS") == []


async def test_response_url_posts_can_fail_too(harness):
    delivered = await harness.emu.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout")
    await add_fault(harness, methods=["*"], mode="error5xx", seconds=30)  # "*": Web API only
    answer = {"text": "queued"}
    url = delivered.response_url
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=answer) as resp:
            assert resp.status == 200
        await add_fault(harness, methods=["response_url"], mode="error5xx", seconds=30)
        async with session.post(url, json=answer) as resp:
            assert resp.status == 503 and resp.content_type == "text/html"
    assert [e.text for e in harness.emu.ephemerals("U0ALICE")] == ["queued"]
    assert [(c.status, c.fault) for c in harness.emu.calls_to("response_url")] == [
        (200, None),
        (503, "f2"),
    ]


# -- the schedule: windows, counts, chance ---------------------------------------------------


async def test_a_window_ends_by_itself(harness):
    await add_fault(harness, methods=["chat.postMessage"], mode="ratelimit", seconds=30)
    await post_fails(harness)
    harness.clock.advance(29.9)
    _, listed = await harness.request("GET", "/_faults")
    assert listed["faults"][0]["seconds_left"] == pytest.approx(0.1)
    harness.clock.advance(0.1)
    assert (await harness.request("GET", "/_faults"))[1] == {"ok": True, "faults": []}
    assert (await harness.client.chat_postMessage(channel="C0DEPLOYS", text="hello"))["ok"]
    assert [m.text for m in harness.emu.messages("C0DEPLOYS")] == ["hello"]


async def test_times_limits_the_faulted_calls(harness):
    fault = await add_fault(harness, methods=["chat.postMessage"], mode="error5xx", times=2)
    assert fault["ends_at"] is None and fault["times"] == 2
    await post_fails(harness)
    await post_fails(harness)
    assert (await harness.client.chat_postMessage(channel="C0DEPLOYS", text="third"))["ok"]


async def test_rate_limit_shortcut_is_a_counted_fault(harness):
    harness.emu.rate_limit("chat.update", retry_after_seconds=7.4, times=1)
    [fault] = harness.emu.faults.active()
    assert (fault.mode, fault.retry_after, fault.times, fault.methods) == (
        "ratelimit",
        7,
        1,
        ("chat.update",),
    )


def test_probability_is_deterministic_for_a_seed():
    def pattern(seed: int) -> list[bool]:
        schedule = FaultSchedule(lambda: 0.0, {"chat.update"})
        schedule.add(["chat.update"], "error5xx", 60, probability=0.5, seed=seed)
        return [schedule.pick("chat.update") is not None for _ in range(40)]

    assert pattern(7) == pattern(7) != pattern(8)
    assert 8 < sum(pattern(7)) < 32


def test_the_oldest_covering_fault_answers_and_star_skips_response_url():
    schedule = FaultSchedule(lambda: 0.0, {"chat.update", "chat.postMessage"})
    first = schedule.add(["chat.update"], "reset", 10)
    anything = schedule.add(["*"], "ratelimit", 10)
    assert schedule.pick("chat.update") is first
    assert schedule.pick("chat.postMessage") is anything
    assert schedule.pick("response_url") is None


def test_the_python_api_refuses_what_http_refuses():
    schedule = FaultSchedule(lambda: 0.0, {"chat.update"})
    with pytest.raises(FaultError, match="unknown method 'chat.updat'"):
        schedule.add(["chat.updat"], "reset", 10)
    assert schedule.active() == []


# -- the HTTP API ------------------------------------------------------------------------------


async def test_list_remove_and_clear(harness):
    one = await add_fault(harness, methods=["chat.update"], mode="reset", seconds=10)
    two = await add_fault(harness, methods=["*"], mode="ratelimit", seconds=20, probability=0.5)
    _, listed = await harness.request("GET", "/_faults")
    assert [f["id"] for f in listed["faults"]] == [one["id"], two["id"]]
    assert listed["faults"][1] == {
        "id": two["id"],
        "methods": ["*"],
        "mode": "ratelimit",
        "seconds": 20,
        "times": None,
        "retry_after": 1,
        "probability": 0.5,
        "seed": 0,
        "started_at": harness.clock(),
        "ends_at": harness.clock() + 20,
        "seconds_left": 20,
        "hits": 0,
    }
    assert await harness.request("DELETE", f"/_faults/{one['id']}") == (
        200,
        {"ok": True, "removed": 1},
    )
    status, missing = await harness.request("DELETE", f"/_faults/{one['id']}")
    assert status == 404 and one["id"] in missing["error"]
    assert await harness.request("DELETE", "/_faults") == (200, {"ok": True, "removed": 1})
    assert harness.emu.faults.active() == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "JSON object"),
        ([1], "JSON object"),
        ({"mode": "reset", "seconds": 1}, "`methods` is required"),
        ({"methods": ["*"], "seconds": 1}, "`mode` is required"),
        ({"methods": ["*"], "mode": "slow", "seconds": 1}, "mode must be one of"),
        ({"methods": "chat.update", "mode": "reset", "seconds": 1}, "list of method names"),
        ({"methods": [1], "mode": "reset", "seconds": 1}, "list of method names"),
        ({"methods": [], "mode": "reset", "seconds": 1}, "must not be empty"),
        ({"methods": ["chat.postMesage"], "mode": "reset", "seconds": 1}, "unknown method"),
        ({"methods": ["*"], "mode": "reset"}, "give `seconds`"),
        ({"methods": ["*"], "mode": "hang", "times": 1}, "a hang needs `seconds`"),
        ({"methods": ["*"], "mode": "reset", "seconds": 0}, "seconds must be in"),
        ({"methods": ["*"], "mode": "reset", "seconds": -5}, "seconds must be in"),
        ({"methods": ["*"], "mode": "reset", "seconds": 10**9}, "seconds must be in"),
        ({"methods": ["*"], "mode": "reset", "seconds": "30"}, "seconds must be a number"),
        ({"methods": ["*"], "mode": "reset", "seconds": True}, "seconds must be a number"),
        ({"methods": ["*"], "mode": "reset", "times": 0}, "times must be between"),
        ({"methods": ["*"], "mode": "reset", "times": 1.5}, "times must be a whole number"),
        ({"methods": ["*"], "mode": "error5xx", "seconds": 1, "retry_after": 2}, "retry_after"),
        ({"methods": ["*"], "mode": "ratelimit", "seconds": 1, "status": 503}, "status"),
        ({"methods": ["*"], "mode": "ratelimit", "seconds": 1, "retry_after": 0}, "retry_after"),
        ({"methods": ["*"], "mode": "error5xx", "seconds": 1, "status": 404}, "status must be"),
        ({"methods": ["*"], "mode": "error5xx", "seconds": 1, "content_type": "a/b"}, "content"),
        ({"methods": ["*"], "mode": "reset", "seconds": 1, "probability": 0}, "probability"),
        ({"methods": ["*"], "mode": "reset", "seconds": 1, "probability": 1.5}, "probability"),
        ({"methods": ["*"], "mode": "reset", "seconds": 1, "seed": "x"}, "seed must be"),
        ({"methods": ["*"], "mode": "reset", "seconds": 1, "window": 3}, "unknown field 'window'"),
    ],
)
async def test_bad_fault_input_is_a_400_that_says_why(harness, body, says):
    json_type = {"Content-Type": "application/json"}  # anything else is a 415 (test_emulator_guard)
    kwargs = {"data": body, "headers": json_type} if isinstance(body, str) else {"json": body}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{harness.base}/_faults", **kwargs) as resp,
    ):
        assert resp.status == 400
        answer = await resp.json()
    assert answer["ok"] is False and says in answer["error"]
    assert harness.emu.faults.active() == []
