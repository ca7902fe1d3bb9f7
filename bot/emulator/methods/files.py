"""files.getUploadURLExternal + files.completeUploadExternal (bytes go to /upload/{file_id})."""

from __future__ import annotations

from typing import Any

from bot.emulator.blockkit import validate_blocks
from bot.emulator.methods.common import ApiContext, Handler, resolve_channel
from bot.emulator.records import File
from bot.emulator.spec import ApiError


def get_upload_url(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    if args["length"] < 1:
        raise ApiError("missing_argument")
    file = File(
        id=ctx.state.new_id("F"),
        name=args["filename"],
        length=int(args["length"]),
        created=int(ctx.state.clock()),
        user=ctx.state.workspace.bot_user_id,
    )
    ctx.state.files[file.id] = file
    return {"ok": True, "upload_url": f"{ctx.base_url}/upload/{file.id}", "file_id": file.id}


def complete_upload(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    files = []
    for item in args["files"]:
        file_id = item.get("id") if isinstance(item, dict) else item
        file = state.files.get(str(file_id))
        if file is None or file.content is None:
            raise ApiError("file_not_found")
        if isinstance(item, dict) and item.get("title"):
            file.title = item["title"]
        files.append(file)
    channel = None
    if args.get("channel_id") or args.get("channels"):
        target = str(args.get("channel_id") or args["channels"]).split(",")[0]
        channel = resolve_channel(ctx, target)
    blocks = args.get("blocks") or []
    errors = validate_blocks(blocks)
    if errors:
        raise ApiError("invalid_blocks", errors)
    for file in files:
        file.completed = True
        if channel is not None and channel.id not in file.channels:
            file.channels.append(channel.id)
    if channel is not None:
        state.post_message(
            channel.id,
            state.workspace.bot_user_id,
            args.get("initial_comment", ""),
            blocks,
            thread_ts=args.get("thread_ts"),
            files=[f.id for f in files],
        )
    state.changed()
    return {"ok": True, "files": [f.to_slack(ctx.base_url) for f in files]}


HANDLERS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
