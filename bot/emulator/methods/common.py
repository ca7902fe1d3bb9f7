"""What every method handler shares: its context, lookups and cursor paging."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.emulator.spec import ApiError
from bot.emulator.state import SlackState
from bot.emulator.triggers import TriggerRegistry
from bot.emulator.workspace import Channel, User

T = TypeVar("T")


@dataclass
class ApiContext:
    state: SlackState
    triggers: TriggerRegistry
    base_url: str


Handler = Callable[[ApiContext, dict[str, Any]], dict[str, Any]]


def resolve_channel(ctx: ApiContext, value: str, *, allow_user: bool = False) -> Channel:
    ws = ctx.state.workspace
    if allow_user and ws.user(value) is not None:
        return ws.im_with(value)
    channel = ctx.state.channel(value)
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def resolve_user(ctx: ApiContext, value: str) -> User:
    ws = ctx.state.workspace
    if value == ws.bot_user_id:
        return ws.bot_user()
    user = ws.user(value)
    if user is None:
        raise ApiError("user_not_found")
    return user


def paginate(
    items: Sequence[T], args: dict[str, Any], *, default: int, maximum: int
) -> tuple[list[T], dict[str, Any]]:
    """Slice items per `limit` and opaque `cursor`; return (page, response_metadata)."""
    limit = int(args.get("limit") or default)
    if limit < 1:
        limit = default
    limit = min(limit, maximum)
    start = _decode_cursor(args.get("cursor"))
    page = list(items[start : start + limit])
    end = start + len(page)
    next_cursor = _encode_cursor(end) if end < len(items) else ""
    return page, {"next_cursor": next_cursor}


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(str(cursor), validate=True).decode().partition(":")
        if kind != "next":
            raise ValueError(kind)
        return int(offset)
    except ValueError:
        raise ApiError("invalid_cursor") from None


def user_to_slack(ctx: ApiContext, user: User) -> dict[str, Any]:
    ws = ctx.state.workspace
    is_bot = user.id == ws.bot_user_id
    profile: dict[str, Any] = {
        "title": user.title,
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "status_text": "",
        "status_emoji": "",
        "avatar_hash": "",
        "team": ws.team_id,
    }
    if is_bot:
        profile.update(bot_id=ws.bot_id, api_app_id=ws.app_id, always_active=True)
    else:
        profile["email"] = f"{user.name}@{ws.team_domain}.example"
    return {
        "id": user.id,
        "team_id": ws.team_id,
        "name": user.name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": user.real_name,
        **_time_zone(user.tz, ctx.state.clock()),
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 0,
    }


def channel_to_slack(
    ctx: ApiContext, channel: Channel, *, include_num_members: bool = False
) -> dict[str, Any]:
    ws = ctx.state.workspace
    if channel.is_im:
        other = next(m for m in channel.members if m != ws.bot_user_id)
        return {
            "id": channel.id,
            "created": 0,
            "is_im": True,
            "is_org_shared": False,
            "user": other,
            "is_user_deleted": False,
            "priority": 0,
        }
    out: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "created": 0,
        "is_archived": False,
        "is_general": False,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_ext_shared": False,
        "is_pending_ext_shared": False,
        "is_member": ws.bot_user_id in channel.members,
        "creator": "",
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "previous_names": [],
        "context_team_id": ws.team_id,
    }
    if include_num_members:
        out["num_members"] = len(channel.members)
    return out


def _time_zone(name: str, now: float) -> dict[str, Any]:
    """users.info's tz fields: the zone's name, its abbreviation now, its offset in seconds."""
    local = datetime.fromtimestamp(now, ZoneInfo(name))
    offset = local.utcoffset()
    return {
        "tz": name,
        "tz_label": local.tzname() or name,
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }
