"""chat.*: post, update, ephemeral, delete, permalink."""

from __future__ import annotations

from typing import Any

from bot.emulator.blockkit import validate_blocks
from bot.emulator.methods.common import ApiContext, Handler, resolve_channel
from bot.emulator.records import Message
from bot.emulator.spec import ApiError


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    errors = validate_blocks(blocks)
    if errors:
        raise ApiError("invalid_blocks", errors)
    return blocks


def _metadata(args: dict[str, Any]) -> dict[str, Any] | None:
    metadata = args.get("metadata")
    if not metadata:
        return None
    if not (isinstance(metadata.get("event_type"), str) and metadata.get("event_type")) or (
        not isinstance(metadata.get("event_payload", {}), dict)
    ):
        raise ApiError("invalid_metadata_schema")
    return {
        "event_type": metadata["event_type"],
        "event_payload": metadata.get("event_payload", {}),
    }


def _text(args: dict[str, Any]) -> str:
    return args.get("text") or args.get("markdown_text") or ""


def post_message(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    channel = resolve_channel(ctx, args["channel"], allow_user=True)
    if channel.is_private and ws.bot_user_id not in channel.members:
        # Slack hides private channels the app is not in: chat:write.public does not reach them.
        raise ApiError("channel_not_found")
    blocks = _blocks(args)
    metadata = _metadata(args)
    msg = ctx.state.post_message(
        channel.id,
        ws.bot_user_id,
        _text(args),
        blocks,
        thread_ts=args.get("thread_ts"),
        metadata=metadata,
        attachments=args.get("attachments"),
        reply_broadcast=bool(args.get("reply_broadcast")),
    )
    return {
        "ok": True,
        "channel": channel.id,
        "ts": msg.ts,
        "message": msg.to_slack(ws, include_metadata=True),
    }


def _own_message(ctx: ApiContext, args: dict[str, Any], not_own: str) -> Message:
    channel = resolve_channel(ctx, args["channel"])
    msg = ctx.state.find_message(channel.id, args["ts"])
    if msg is None:
        if ctx.state.find_ephemeral(channel.id, args["ts"]) is not None:
            raise ApiError(not_own)
        raise ApiError("message_not_found")
    if msg.user != ctx.state.workspace.bot_user_id:
        raise ApiError(not_own)
    return msg


def update(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    msg = _own_message(ctx, args, "cant_update_message")
    blocks = _blocks(args)
    metadata = _metadata(args)
    if "text" in args or "markdown_text" in args:
        msg.text = _text(args)
    if "blocks" in args:
        msg.blocks = state.with_block_ids(blocks)
    if "attachments" in args:
        msg.attachments = args["attachments"]
    if "metadata" in args:
        msg.metadata = metadata
    state.mark_edited(msg)
    return {
        "ok": True,
        "channel": msg.channel,
        "ts": msg.ts,
        "text": msg.text,
        "message": msg.to_slack(state.workspace),
    }


def post_ephemeral(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(ctx, args["channel"])
    user = args["user"]
    if ctx.state.workspace.user(user) is None:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    blocks = _blocks(args)
    eph = ctx.state.post_ephemeral(
        channel.id, user, _text(args), blocks, args.get("thread_ts"), args.get("attachments")
    )
    return {"ok": True, "message_ts": eph.ts}


def delete(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    msg = _own_message(ctx, args, "cant_delete_message")
    ctx.state.delete_message(msg)
    return {"ok": True, "channel": msg.channel, "ts": msg.ts}


def get_permalink(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(ctx, args["channel"])
    msg = ctx.state.find_message(channel.id, args["message_ts"])
    if msg is None:
        raise ApiError("message_not_found")
    link = f"{ctx.base_url}/archives/{channel.id}/p{msg.ts.replace('.', '')}"
    if msg.thread_ts:
        link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
}
