"""conversations.*: history, replies, info, members, open."""

from __future__ import annotations

from typing import Any

from bot.emulator.methods.common import (
    ApiContext,
    Handler,
    channel_to_slack,
    paginate,
    resolve_channel,
)
from bot.emulator.records import Message, ts_key
from bot.emulator.spec import ApiError


def _in_window(msg: Message, args: dict[str, Any]) -> bool:
    key = ts_key(msg.ts)
    inclusive = bool(args.get("inclusive"))
    if "oldest" in args:
        oldest = ts_key(args["oldest"])
        if key < oldest or (key == oldest and not inclusive):
            return False
    if "latest" in args:
        latest = ts_key(args["latest"])
        if key > latest or (key == latest and not inclusive):
            return False
    return True


def history(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    channel = resolve_channel(ctx, args["channel"])
    if ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    newest_first = [
        m for m in reversed(ctx.state.visible_history(channel.id)) if _in_window(m, args)
    ]
    page, meta = paginate(newest_first, args, default=100, maximum=999)
    metadata = bool(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [m.to_slack(ws, include_metadata=metadata) for m in page],
        "has_more": bool(meta["next_cursor"]),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": meta,
    }


def replies(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    channel = resolve_channel(ctx, args["channel"])
    msg = ctx.state.find_message(channel.id, args["ts"])
    if msg is None:
        raise ApiError("thread_not_found")
    parent = ctx.state.find_message(channel.id, msg.thread_ts) if msg.thread_ts else msg
    assert parent is not None
    thread = [parent] + [r for r in parent.replies if _in_window(r, args)]
    page, meta = paginate(thread, args, default=1000, maximum=1000)
    metadata = bool(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [m.to_slack(ws, include_metadata=metadata) for m in page],
        "has_more": bool(meta["next_cursor"]),
        "response_metadata": meta,
    }


def info(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(ctx, args["channel"])
    return {
        "ok": True,
        "channel": channel_to_slack(
            ctx, channel, include_num_members=bool(args.get("include_num_members"))
        ),
    }


def members(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(ctx, args["channel"])
    if "limit" in args and not 1 <= int(args["limit"]) <= 1000:
        raise ApiError("invalid_limit")
    page, meta = paginate(channel.members, args, default=100, maximum=1000)
    return {"ok": True, "members": page, "response_metadata": meta}


def open_(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    if "channel" in args:
        channel = resolve_channel(ctx, args["channel"])
    else:
        users = [u.strip() for u in str(args.get("users", "")).split(",") if u.strip()]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 1:  # multi-person DMs are not emulated
            raise ApiError("invalid_user_combination")
        if ws.user(users[0]) is None:
            raise ApiError("user_not_found")
        channel = ws.im_with(users[0])
    body = channel_to_slack(ctx, channel) if args.get("return_im") else {"id": channel.id}
    return {"ok": True, "channel": body}


HANDLERS: dict[str, Handler] = {
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.info": info,
    "conversations.members": members,
    "conversations.open": open_,
}
