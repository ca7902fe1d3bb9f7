"""The bodies Slack sends to an app: slash commands, interactions and Events API callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.emulator.workspace import Workspace

VERIFICATION_TOKEN = "emulator-verification-token"

TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")
ONE_OPTION = ("static_select", "external_select", "radio_buttons", "overflow")
MANY_OPTIONS = ("multi_static_select", "multi_external_select", "checkboxes")
PICKS = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}
INITIAL = {
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "channels_select": "initial_channel",
    "multi_channels_select": "initial_channels",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
    "datetimepicker": "initial_date_time",
}


def user_ref(ws: Workspace, user_id: str) -> dict[str, str]:
    user = ws.user(user_id)
    name = user.name if user else user_id
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def slash_command_form(
    ws: Workspace,
    *,
    user_id: str,
    channel_id: str,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    channel = ws.channel(channel_id)
    user = ws.user(user_id)
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "team_domain": ws.team_domain,
        "channel_id": channel_id,
        "channel_name": ("directmessage" if channel.is_im else channel.name) if channel else "",
        "user_id": user_id,
        "user_name": user.name if user else user_id,
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def iter_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every interactive element, in display order."""
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                yield block, element
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]
        elif block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]


def find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block, element in iter_elements(blocks):
        if element.get("action_id") == action_id:
            return block, element
    raise LookupError(f"no element with action_id {action_id!r}")


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    if element["type"] in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for option in _options(element):
        if option.get("value") == value:
            return option
    raise ValueError(f"{element.get('action_id')!r} has no option with value {value!r}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def initial_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in TEXT_INPUTS:
        return element.get("initial_value")
    if kind in ONE_OPTION:
        return (element.get("initial_option") or {}).get("value")
    if kind in MANY_OPTIONS:
        return [o.get("value") for o in element.get("initial_options") or []]
    if kind in INITIAL:
        return element.get(INITIAL[kind])
    return None


def selection(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """An element's chosen value in Slack's shape (as in actions[] and view.state.values)."""
    kind = element.get("type")
    if kind in TEXT_INPUTS:
        return {"value": None if value is None else str(value)}
    if kind in ONE_OPTION:
        return {"selected_option": None if value is None else _option(element, value)}
    if kind in MANY_OPTIONS:
        return {"selected_options": [_option(element, v) for v in _as_list(value)]}
    if kind in PICKS:
        many = kind.startswith("multi_")
        return {PICKS[kind]: _as_list(value) if many else value}
    if kind == "rich_text_input":
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": value}]}
        return {"rich_text_value": {"type": "rich_text", "elements": [section] if value else []}}
    if kind == "file_input":
        return {"files": _as_list(value)}
    return {"value": value}


def action(
    block: dict[str, Any], element: dict[str, Any], action_ts: str, value: Any
) -> dict[str, Any]:
    kind = element["type"]
    out: dict[str, Any] = {
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
        "type": kind,
        "action_ts": action_ts,
    }
    if kind == "button":
        out["text"] = element.get("text")
        chosen = element.get("value") if value is None else value
        if chosen is not None:
            out["value"] = chosen
        if element.get("style"):
            out["style"] = element["style"]
        if element.get("url"):
            out["url"] = element["url"]
        return out
    if value is None:
        value = initial_value(element)
    out.update(selection(element, value))
    if element.get("placeholder"):
        out["placeholder"] = element["placeholder"]
    return out


def view_state(
    blocks: list[dict[str, Any]], values: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """state.values for a view: every input block, given values first, else initial ones."""
    unknown = {(b, a) for b, actions in values.items() for a in actions} - {
        (blk.get("block_id"), el.get("action_id")) for blk, el in iter_elements(blocks)
    }
    if unknown:
        raise LookupError(f"no such input(s) in the view: {sorted(unknown)}")
    state: dict[str, dict[str, Any]] = {}
    for block, element in iter_elements(blocks):
        block_id, action_id = block.get("block_id"), element.get("action_id")
        given = values.get(block_id, {})
        if block.get("type") != "input" and action_id not in given:
            continue
        value = given[action_id] if action_id in given else initial_value(element)
        if block.get("type") == "input" and not block.get("optional") and value in (None, "", []):
            raise ValueError(f"input {block_id!r} is required")
        state.setdefault(block_id, {})[action_id] = {
            "type": element["type"],
            **selection(element, value),
        }
    return state


def interaction_base(ws: Workspace, kind: str, user_id: str) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user_ref(ws, user_id),
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def event_callback(
    ws: Workspace, event: dict[str, Any], event_id: str, event_time: int
) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "context_team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
