"""The Web API face, driven by slack_sdk's real AsyncWebClient over loopback HTTP."""

from __future__ import annotations

import json

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulator import Channel, User, Workspace, create_emulator
from bot.emulator.spec import INVALID_ARGUMENTS
from tests.emulator.conftest import button_block

TOKEN = "xoxb-test-token"  # the harness fixture's bot token

BUTTON = button_block()


@pytest.fixture(autouse=True)
async def _errors_are_documented(harness):
    """Every error the emulator answered is one Slack documents for that method."""
    yield
    for call in harness.emu.calls:
        error = call.response.get("error")
        if error and call.method in harness.emu.specs:
            documented = harness.emu.specs[call.method].errors | {INVALID_ARGUMENTS}
            assert error in documented, (call.method, error)


async def api_error(coro) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await coro
    return info.value


async def raw(harness, method, *, data=None, json_body=None, params=None, headers=None, get=False):
    url = f"{harness.base}/api/{method}"
    async with aiohttp.ClientSession() as session:
        call = session.get if get else session.post
        async with call(url, data=data, json=json_body, params=params, headers=headers) as resp:
            return resp.status, await resp.json()


# -- transport and auth ---------------------------------------------------------------------


async def test_auth_test_answers_the_bot_identity(harness):
    resp = await harness.client.auth_test()
    assert resp["user_id"] == "U0RELBOT"
    assert resp["bot_id"] == "B0RELBOT"
    assert resp["team_id"] == "T0RELEASE"


async def test_missing_and_wrong_tokens(harness):
    assert await raw(harness, "auth.test") == (200, {"ok": False, "error": "not_authed"})
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=f"{harness.base}/api/")
    assert (await api_error(wrong.auth_test())).response["error"] == "invalid_auth"


async def test_unknown_method(harness):
    status, body = await raw(harness, "chat.fly", data={"token": TOKEN})
    assert (status, body["error"]) == (200, "unknown_method")


@pytest.mark.parametrize("style", ["get", "form", "multipart", "json", "bearer+form"])
async def test_every_request_encoding_is_accepted(harness, style):
    fields = {"channel": "C0DEPLOYS", "text": f"via {style}", "blocks": json.dumps([BUTTON])}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    if style == "get":
        result = await raw(harness, "chat.postMessage", params={**fields, "token": TOKEN}, get=True)
    elif style == "form":
        result = await raw(harness, "chat.postMessage", data={**fields, "token": TOKEN})
    elif style == "multipart":
        form = aiohttp.FormData()
        for key, value in {**fields, "token": TOKEN}.items():
            form.add_field(key, value)
        form._is_multipart = True
        result = await raw(harness, "chat.postMessage", data=form)
    elif style == "json":
        body = {**fields, "blocks": [BUTTON]}
        result = await raw(harness, "chat.postMessage", json_body=body, headers=bearer)
    else:
        result = await raw(harness, "chat.postMessage", data=fields, headers=bearer)
    status, body = result
    assert status == 200 and body["ok"], body
    [msg] = harness.emu.messages("C0DEPLOYS")
    assert msg.text == f"via {style}"
    assert msg.blocks[0]["elements"][0]["action_id"] == "promote"
    call = harness.emu.calls_to("chat.postMessage")[-1]
    assert call.args["blocks"][0]["type"] == "actions"  # decoded, not a JSON string
    assert "token" not in call.args


# -- chat.* -------------------------------------------------------------------------------


async def test_post_message_answer_shape(harness):
    resp = await harness.client.chat_postMessage(channel="#deploys", text="hello", blocks=[BUTTON])
    assert resp["channel"] == "C0DEPLOYS"
    message = resp["message"]
    assert message["ts"] == resp["ts"]
    assert message["bot_id"] == "B0RELBOT" and message["user"] == "U0RELBOT"
    assert message["blocks"][0]["block_id"]  # Slack fills in block ids
    assert message["text"] == "hello"


async def test_post_message_refusals(harness):
    c = harness.client
    no_text = c.api_call("chat.postMessage", json={"channel": "C0DEPLOYS", "text": ""})
    assert (await api_error(no_text)).response["error"] == "no_text"
    empty = c.api_call("chat.postMessage", json={"channel": "C0DEPLOYS", "text": "", "blocks": []})
    assert (await api_error(empty)).response["error"] == "no_text"
    missing = c.chat_postMessage(channel="C0NOPE", text="x")
    assert (await api_error(missing)).response["error"] == "channel_not_found"
    status, body = await raw(harness, "chat.postMessage", data={"token": TOKEN, "text": "x"})
    assert body["error"] == "channel_not_found"
    bad = c.chat_postMessage(channel="C0DEPLOYS", text="x", blocks=[{"type": "nope"}])
    err = (await api_error(bad)).response
    assert err["error"] == "invalid_blocks"
    assert err["response_metadata"]["messages"][0].startswith("[ERROR] unknown block type")
    status, body = await raw(
        harness,
        "chat.postMessage",
        data={"token": TOKEN, "channel": "C0DEPLOYS", "text": "x", "blocks": "[{oops"},
    )
    assert body["error"] == "invalid_blocks_format"
    too_many = c.chat_postMessage(channel="C0DEPLOYS", text="x", blocks=[{"type": "divider"}] * 51)
    assert (await api_error(too_many)).response["error"] == "invalid_blocks"
    assert harness.emu.messages("C0DEPLOYS") == []


async def test_threads_and_broadcast(harness):
    c = harness.client
    parent = await c.chat_postMessage(channel="C0DEPLOYS", text="release r1")
    await c.chat_postMessage(channel="C0DEPLOYS", text="stage 1", thread_ts=parent["ts"])
    loud = await c.chat_postMessage(
        channel="C0DEPLOYS", text="done", thread_ts=parent["ts"], reply_broadcast=True
    )
    [msg] = harness.emu.messages("C0DEPLOYS")
    assert msg.reply_count == 2
    assert [r.text for r in msg.replies] == ["stage 1", "done"]
    assert msg.replies[0].thread_ts == parent["ts"]
    history = await c.conversations_history(channel="C0DEPLOYS")
    assert [m["ts"] for m in history["messages"]] == [loud["ts"], parent["ts"]]
    assert history["messages"][1]["reply_count"] == 2
    assert history["messages"][0]["subtype"] == "thread_broadcast"
    replies = await c.conversations_replies(channel="C0DEPLOYS", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["release r1", "stage 1", "done"]
    gone = c.conversations_replies(channel="C0DEPLOYS", ts="1.000001")
    assert (await api_error(gone)).response["error"] == "thread_not_found"


async def test_post_to_a_user_id_opens_the_dm(harness):
    resp = await harness.client.chat_postMessage(channel="U0BOB", text="please approve")
    assert resp["channel"].startswith("D")
    assert harness.emu.messages(resp["channel"])[0].text == "please approve"
    opened = await harness.client.conversations_open(users="U0BOB")
    assert opened["channel"]["id"] == resp["channel"]


async def test_update_keeps_thread_blocks_and_marks_edited(harness):
    c = harness.client
    parent = await c.chat_postMessage(channel="C0DEPLOYS", text="r1", blocks=[BUTTON])
    reply = await c.chat_postMessage(channel="C0DEPLOYS", text="s1", thread_ts=parent["ts"])
    await c.chat_update(channel="C0DEPLOYS", ts=parent["ts"], text="r1 (promoted)")
    [msg] = harness.emu.messages("C0DEPLOYS")
    assert msg.text == "r1 (promoted)" and msg.edited
    assert msg.blocks[0]["elements"][0]["action_id"] == "promote"  # absent blocks are kept
    assert msg.reply_count == 1
    updated = await c.chat_update(channel="C0DEPLOYS", ts=parent["ts"], text="r1", blocks=[])
    assert msg.blocks == [] and updated["message"]["edited"]["user"] == "U0RELBOT"
    await c.chat_update(channel="C0DEPLOYS", ts=reply["ts"], text="s1 done")
    assert msg.replies[0].text == "s1 done" and msg.replies[0].thread_ts == parent["ts"]


async def test_update_refusals(harness):
    c, emu = harness.client, harness.emu
    unknown = c.chat_update(channel="C0DEPLOYS", ts="1700000000.000001", text="x")
    assert (await api_error(unknown)).response["error"] == "message_not_found"
    eph = await c.chat_postEphemeral(channel="C0DEPLOYS", user="U0ALICE", text="psst")
    on_eph = c.chat_update(channel="C0DEPLOYS", ts=eph["message_ts"], text="x")
    assert (await api_error(on_eph)).response["error"] == "cant_update_message"
    human = emu.post_user_message("U0ALICE", "C0DEPLOYS", "my own words")
    theirs = c.chat_update(channel="C0DEPLOYS", ts=human.ts, text="x")
    assert (await api_error(theirs)).response["error"] == "cant_update_message"
    wrong_channel = c.chat_update(channel="C0NOPE", ts=human.ts, text="x")
    assert (await api_error(wrong_channel)).response["error"] == "channel_not_found"


async def test_post_ephemeral(harness, clock):
    ws = Workspace(
        "T1",
        "t",
        "U0BOT",
        "B1",
        "A1",
        users=[User("U1", "ann", "Ann"), User("U2", "ben", "Ben")],
        channels=[Channel("C1", "small", ["U1", "U0BOT"])],
    )
    emu = create_emulator("s", TOKEN, workspace=ws, clock=clock)
    answer = emu.api.call(
        "chat.postEphemeral", {"channel": "C1", "user": "U1", "text": "hi"}, TOKEN, ""
    )
    assert answer.body["ok"] and answer.body["message_ts"]
    assert [e.text for e in emu.ephemerals("U1")] == ["hi"]
    outsider = emu.api.call(
        "chat.postEphemeral", {"channel": "C1", "user": "U2", "text": "x"}, TOKEN, ""
    )
    assert outsider.body["error"] == "user_not_in_channel"
    ghost = emu.api.call(
        "chat.postEphemeral", {"channel": "C1", "user": "U9", "text": "x"}, TOKEN, ""
    )
    assert ghost.body["error"] == "user_not_found"
    assert emu.messages("C1") == []


async def test_delete_and_permalink(harness):
    c = harness.client
    posted = await c.chat_postMessage(channel="C0DEPLOYS", text="bye")
    link = await c.chat_getPermalink(channel="C0DEPLOYS", message_ts=posted["ts"])
    assert link["permalink"] == (
        f"{harness.base}/archives/C0DEPLOYS/p{posted['ts'].replace('.', '')}"
    )
    async with (
        aiohttp.ClientSession() as session,
        session.get(link["permalink"], allow_redirects=False) as resp,
    ):
        assert resp.status == 302
        assert resp.headers["Location"].endswith(f"?channel=C0DEPLOYS&ts={posted['ts']}")
    await c.chat_delete(channel="C0DEPLOYS", ts=posted["ts"])
    assert harness.emu.messages("C0DEPLOYS") == []
    again = c.chat_delete(channel="C0DEPLOYS", ts=posted["ts"])
    assert (await api_error(again)).response["error"] == "message_not_found"
    no_link = c.chat_getPermalink(channel="C0DEPLOYS", message_ts=posted["ts"])
    assert (await api_error(no_link)).response["error"] == "message_not_found"


# -- conversations.* ----------------------------------------------------------------------


async def test_history_order_paging_window_and_metadata(harness, clock):
    c = harness.client
    posted = []
    for i in range(5):
        clock.advance(1)
        meta = {"event_type": "release_status", "event_payload": {"n": i}}
        posted.append(
            (await c.chat_postMessage(channel="C0DEPLOYS", text=f"m{i}", metadata=meta))["ts"]
        )
    first = await c.conversations_history(channel="C0DEPLOYS", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"]
    assert first["has_more"] and "metadata" not in first["messages"][0]
    cursor = first["response_metadata"]["next_cursor"]
    second = await c.conversations_history(channel="C0DEPLOYS", limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    third = await c.conversations_history(
        channel="C0DEPLOYS", limit=2, cursor=second["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in third["messages"]] == ["m0"] and not third["has_more"]
    assert third["response_metadata"]["next_cursor"] == ""
    window = await c.conversations_history(channel="C0DEPLOYS", oldest=posted[1], latest=posted[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = await c.conversations_history(
        channel="C0DEPLOYS", oldest=posted[1], latest=posted[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    with_meta = await c.conversations_history(channel="C0DEPLOYS", include_all_metadata=True)
    assert with_meta["messages"][0]["metadata"] == {
        "event_type": "release_status",
        "event_payload": {"n": 4},
    }
    bad = c.conversations_history(channel="C0DEPLOYS", cursor="garbage!")
    assert (await api_error(bad)).response["error"] == "invalid_cursor"


async def test_metadata_schema_is_checked(harness):
    bad = harness.client.chat_postMessage(
        channel="C0DEPLOYS", text="x", metadata={"event_payload": {}}
    )
    assert (await api_error(bad)).response["error"] == "invalid_metadata_schema"


async def test_update_can_replace_metadata(harness):
    c = harness.client
    meta = {"event_type": "release", "event_payload": {"state": "running"}}
    posted = await c.chat_postMessage(channel="C0DEPLOYS", text="x", metadata=meta)
    done = {"event_type": "release", "event_payload": {"state": "done"}}
    await c.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="y", metadata=done)
    history = await c.conversations_history(channel="C0DEPLOYS", include_all_metadata=True)
    assert history["messages"][0]["metadata"]["event_payload"] == {"state": "done"}


async def test_info_members_open(harness):
    c = harness.client
    info = await c.conversations_info(channel="C0RELEASES", include_num_members=True)
    assert info["channel"]["name"] == "releases" and info["channel"]["is_member"]
    assert info["channel"]["num_members"] == 7
    nope = c.conversations_info(channel="C0NOPE")
    assert (await api_error(nope)).response["error"] == "channel_not_found"
    page = await c.conversations_members(channel="C0DEPLOYS", limit=4)
    rest = await c.conversations_members(
        channel="C0DEPLOYS", cursor=page["response_metadata"]["next_cursor"]
    )
    assert len(page["members"]) == 4 and len(page["members"] + rest["members"]) == 7
    assert "U0RELBOT" in page["members"] + rest["members"]
    no_users = c.api_call("conversations.open", params={})
    assert (await api_error(no_users)).response["error"] == "users_list_not_supplied"


# -- users / usergroups ---------------------------------------------------------------------


async def test_users(harness):
    c = harness.client
    bob = (await c.users_info(user="U0BOB"))["user"]
    assert bob["name"] == "bob" and bob["real_name"] == "Bob Approver"
    assert bob["profile"]["display_name"] == "bob" and not bob["is_bot"]
    assert (await c.users_info(user="U0RELBOT"))["user"]["is_bot"]
    ghost = c.users_info(user="U0GHOST")
    assert (await api_error(ghost)).response["error"] == "user_not_found"
    everyone = await c.users_list()
    names = {m["name"] for m in everyone["members"]}
    assert {"alice", "bob", "carol", "dave", "erin", "frank", "releasebot"} == names


async def test_usergroups(harness):
    c = harness.client
    groups = await c.usergroups_list(include_users=True, include_count=True)
    by_handle = {g["handle"]: g for g in groups["usergroups"]}
    assert by_handle["release-approvers"]["users"] == ["U0BOB", "U0FRANK"]
    assert by_handle["oncall"]["user_count"] == 1
    members = await c.usergroups_users_list(usergroup="S0APPROVERS")
    assert members["users"] == ["U0BOB", "U0FRANK"]
    nope = c.usergroups_users_list(usergroup="S0NOPE")
    assert (await api_error(nope)).response["error"] == "no_such_subteam"


# -- views.* ------------------------------------------------------------------------------

MODAL = {
    "type": "modal",
    "callback_id": "approve",
    "private_metadata": "r1",
    "title": {"type": "plain_text", "text": "Approve r1"},
    "submit": {"type": "plain_text", "text": "Approve"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}


async def test_views_open_with_a_real_trigger(harness):
    triggers = []

    async def respond(got):
        triggers.append(got.form["trigger_id"])
        from aiohttp import web

        return web.Response(status=200)

    harness.bot.responder = respond
    await harness.emu.slash_command("U0BOB", "C0DEPLOYS", "/deploy", "approve r1")
    opened = await harness.client.views_open(trigger_id=triggers[0], view=MODAL)
    view = opened["view"]
    assert view["id"] and view["callback_id"] == "approve" and view["private_metadata"] == "r1"
    assert view["state"] == {"values": {}}
    assert harness.emu.modal("U0BOB").id == view["id"]


async def test_trigger_id_rules(harness, clock):
    c, emu = harness.client, harness.emu
    unknown = c.views_open(trigger_id="123.456.abc", view=MODAL)
    assert (await api_error(unknown)).response["error"] == "invalid_trigger_id"
    trigger = emu.triggers.issue("U0BOB")
    await c.views_open(trigger_id=trigger, view=MODAL)
    twice = c.views_open(trigger_id=trigger, view=MODAL)
    assert (await api_error(twice)).response["error"] == "exchanged_trigger_id"
    late = emu.triggers.issue("U0BOB")
    clock.advance(3.01)
    expired = c.views_open(trigger_id=late, view=MODAL)
    assert (await api_error(expired)).response["error"] == "expired_trigger_id"
    just_in_time = emu.triggers.issue("U0BOB")
    clock.advance(3.0)
    assert (await c.views_open(trigger_id=just_in_time, view=MODAL))["ok"]
    missing = await raw(
        harness,
        "views.open",
        json_body={"view": MODAL},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert missing[1]["error"] == "invalid_arguments"


async def test_invalid_views_are_refused_without_burning_the_trigger(harness):
    c, emu = harness.client, harness.emu
    trigger = emu.triggers.issue("U0BOB")
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}
    err = (await api_error(c.views_open(trigger_id=trigger, view=long_title))).response
    assert err["error"] == "invalid_arguments"
    assert "json-pointer:/view/title/text" in err["response_metadata"]["messages"][0]
    big_meta = {**MODAL, "private_metadata": "m" * 3001}
    assert (await api_error(c.views_open(trigger_id=trigger, view=big_meta))).response[
        "error"
    ] == "invalid_arguments"
    assert (await c.views_open(trigger_id=trigger, view=MODAL))["ok"]


async def test_views_push_update_and_hash(harness):
    c, emu = harness.client, harness.emu
    first = (await c.views_open(trigger_id=emu.triggers.issue("U0BOB"), view=MODAL))["view"]
    pushed = (await c.views_push(trigger_id=emu.triggers.issue("U0BOB"), view=MODAL))["view"]
    assert pushed["previous_view_id"] == first["id"] and pushed["root_view_id"] == first["id"]
    assert [v.id for v in emu.modal_stack("U0BOB")] == [first["id"], pushed["id"]]
    await c.views_push(trigger_id=emu.triggers.issue("U0BOB"), view=MODAL)
    full = c.views_push(trigger_id=emu.triggers.issue("U0BOB"), view=MODAL)
    assert (await api_error(full)).response["error"] == "push_limit_reached"
    retitled = {**MODAL, "title": {"type": "plain_text", "text": "Approved"}}
    updated = (await c.views_update(view_id=first["id"], view=retitled, hash=first["hash"]))["view"]
    assert updated["id"] == first["id"] and updated["hash"] != first["hash"]
    assert emu.views[first["id"]].title["text"] == "Approved"
    stale = c.views_update(view_id=first["id"], view=MODAL, hash=first["hash"])
    assert (await api_error(stale)).response["error"] == "hash_conflict"
    nope = c.views_update(view_id="V0NOPE", view=MODAL)
    assert (await api_error(nope)).response["error"] == "not_found"
    by_external = {**MODAL, "external_id": "release-r1"}
    await c.views_update(view_id=first["id"], view=by_external)
    again = await c.views_update(external_id="release-r1", view=by_external)
    assert again["view"]["id"] == first["id"]


async def test_views_publish_home_per_user(harness):
    c, emu = harness.client, harness.emu
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Your releases*"}}],
    }
    first = (await c.views_publish(user_id="U0ALICE", view=home))["view"]
    second = (await c.views_publish(user_id="U0ALICE", view=home))["view"]
    assert first["id"] == second["id"] and first["type"] == "home"
    assert emu.home("U0ALICE").id == first["id"] and emu.home("U0BOB") is None
    modal_as_home = c.views_publish(user_id="U0ALICE", view=MODAL)
    assert (await api_error(modal_as_home)).response["error"] == "invalid_arguments"
    stale = c.views_publish(user_id="U0ALICE", view=home, hash=first["hash"])
    assert (await api_error(stale)).response["error"] == "hash_conflict"


# -- files --------------------------------------------------------------------------------


async def test_file_upload_v2_stores_bytes_and_shares(harness):
    resp = await harness.client.files_upload_v2(
        channel="C0RELEASES",
        content=b"id,who\n1,alice\n",
        filename="audit.csv",
        title="Audit export",
        initial_comment="Here is the audit export",
    )
    file_id = resp["file"]["id"]
    stored = harness.emu.files[file_id]
    assert stored.content == b"id,who\n1,alice\n" and stored.title == "Audit export"
    [msg] = harness.emu.messages("C0RELEASES")
    assert msg.files == [file_id] and msg.text == "Here is the audit export"
    unknown = harness.client.files_completeUploadExternal(files=[{"id": "F0NOPE"}])
    assert (await api_error(unknown)).response["error"] == "file_not_found"


# -- rate limits --------------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(harness):
    harness.emu.rate_limit("chat.update", retry_after_seconds=7, times=2)
    posted = await harness.client.chat_postMessage(channel="C0DEPLOYS", text="x")
    for _ in range(2):
        err = await api_error(
            harness.client.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="y")
        )
        assert err.response.status_code == 429
        assert err.response.headers["Retry-After"] == "7"
        assert err.response["error"] == "ratelimited"
    assert (await harness.client.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="y"))["ok"]
    assert [c.status for c in harness.emu.calls_to("chat.update")] == [429, 429, 200]
    assert (await harness.client.chat_postMessage(channel="C0DEPLOYS", text="z"))["ok"]
