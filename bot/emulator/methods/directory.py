"""auth.test, users.*, usergroups.*: who is who in the workspace."""

from __future__ import annotations

from typing import Any

from bot.emulator.methods.common import ApiContext, Handler, paginate, resolve_user, user_to_slack
from bot.emulator.spec import ApiError


def auth_test(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "user": user_to_slack(ctx, resolve_user(ctx, args["user"]))}


def users_list(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    everyone = [ws.bot_user(), *ws.users]
    page, meta = paginate(everyone, args, default=1000, maximum=1000)
    return {
        "ok": True,
        "members": [user_to_slack(ctx, u) for u in page],
        "cache_ts": int(ctx.state.clock()),
        "response_metadata": meta,
    }


def usergroups_list(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.state.workspace
    groups = []
    for group in ws.usergroups:
        item: dict[str, Any] = {
            "id": group.id,
            "team_id": ws.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": group.name,
            "description": "",
            "handle": group.handle,
            "is_external": False,
            "date_create": 0,
            "date_update": 0,
            "date_delete": 0,
            "auto_type": None,
            "created_by": "",
            "updated_by": "",
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
        }
        if args.get("include_users"):
            item["users"] = list(group.users)
        if args.get("include_count"):
            item["user_count"] = len(group.users)
        groups.append(item)
    return {"ok": True, "usergroups": groups}


def usergroups_users_list(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    group = ctx.state.workspace.usergroup(args["usergroup"])
    if group is None:
        raise ApiError("no_such_subteam")
    return {"ok": True, "users": list(group.users)}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.list": users_list,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}
