"""views.*: modals (open, push, update) and the App Home tab (publish)."""

from __future__ import annotations

from typing import Any

from bot.emulator.blockkit import validate_view
from bot.emulator.methods.common import ApiContext, Handler
from bot.emulator.spec import INVALID_ARGUMENTS, ApiError

MAX_STACK = 3


def _checked_view(ctx: ApiContext, args: dict[str, Any], kind: str | None) -> dict[str, Any]:
    # Slack answers malformed views with invalid_arguments (not invalid_blocks).
    view = args["view"]
    errors = validate_view(view)
    if not errors and kind and view.get("type") != kind:
        errors = [f"[ERROR] must be {kind} [json-pointer:/view/type]"]
    if errors:
        raise ApiError(INVALID_ARGUMENTS, errors)
    external_id = view.get("external_id")
    if external_id:
        clash = ctx.state.find_view(external_id=external_id)
        if clash is not None and clash.id != args.get("view_id"):
            raise ApiError("duplicate_external_id")
    return view


def _trigger(args: dict[str, Any]) -> str:
    return args.get("trigger_id") or args.get("interactivity_pointer") or ""


def open_(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    view = _checked_view(ctx, args, "modal")
    user = ctx.triggers.exchange(_trigger(args))
    opened = ctx.state.open_modal(user, view)
    return {"ok": True, "view": opened.to_slack(ctx.state.workspace)}


def push(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    view = _checked_view(ctx, args, "modal")
    user = ctx.triggers.exchange(_trigger(args))
    if not ctx.state.modal_stacks.get(user):
        raise ApiError("not_found")
    if len(ctx.state.modal_stacks[user]) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    pushed = ctx.state.push_modal(user, view)
    return {"ok": True, "view": pushed.to_slack(ctx.state.workspace)}


def update(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    target = ctx.state.find_view(args.get("view_id"), args.get("external_id"))
    if target is None:
        raise ApiError("not_found")
    view = _checked_view(ctx, {**args, "view_id": target.id}, target.type)
    if args.get("hash") and args["hash"] != target.hash:
        raise ApiError("hash_conflict")
    updated = ctx.state.replace_view(target, view)
    return {"ok": True, "view": updated.to_slack(ctx.state.workspace)}


def publish(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    user = args["user_id"]
    if ctx.state.workspace.user(user) is None:
        raise ApiError(INVALID_ARGUMENTS, ["[ERROR] invalid user_id [json-pointer:/user_id]"])
    current = ctx.state.find_view(ctx.state.homes.get(user, ""))
    view = _checked_view(ctx, {**args, "view_id": current.id if current else None}, "home")
    if args.get("hash") and current is not None and args["hash"] != current.hash:
        raise ApiError("hash_conflict")
    published = ctx.state.publish_home(user, view)
    return {"ok": True, "view": published.to_slack(ctx.state.workspace)}


HANDLERS: dict[str, Handler] = {
    "views.open": open_,
    "views.push": push,
    "views.update": update,
    "views.publish": publish,
}
