"""Acting as Slack toward the bot: signed commands, clicks, submissions and events over HTTP.

The console and tests both go through here, so local runs exercise the production path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp

from bot.emulator import payloads
from bot.emulator.blockkit import validate_blocks, validate_view
from bot.emulator.records import View
from bot.emulator.response_urls import ResponseUrlRegistry
from bot.emulator.signing import signed_headers
from bot.emulator.state import SlackState
from bot.emulator.triggers import TriggerRegistry

FORM = "application/x-www-form-urlencoded"


@dataclass
class DeliveryResult:
    """The bot's HTTP answer (status 0 with `error` when there was none)."""

    status: int
    body_text: str
    json: Any = None
    error: str | None = None
    request_body: bytes = b""
    request_headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0  # from sending to the bot's full answer (or giving up)
    trigger_id: str | None = None  # what the payload carried, for opening modals
    response_url: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ok": self.ok,
            "body_text": self.body_text,
            "json": self.json,
            "error": self.error,
            "elapsed_ms": self.elapsed_ms,
            "trigger_id": self.trigger_id,
            "response_url": self.response_url,
        }


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text.strip()[:1] in ("{", "[") else None
    except ValueError:
        return None


class Driver:
    def __init__(
        self,
        state: SlackState,
        triggers: TriggerRegistry,
        response_urls: ResponseUrlRegistry,
        signing_secret: str,
        events_url: Callable[[], str | None],
        base_url: Callable[[], str],
    ) -> None:
        self.state = state
        self.ws = state.workspace
        self.triggers = triggers
        self.response_urls = response_urls
        self.signing_secret = signing_secret
        self.events_url = events_url
        self.base_url = base_url
        self.ack_timeout = 3.0
        self._last_bodies: dict[tuple[str, ...], bytes] = {}
        self._events = 0

    # -- raw ---------------------------------------------------------------------------

    async def send_signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        url = self.events_url()
        if not url:
            raise RuntimeError(
                "emulator.bot_events_url is not set (in a stand-in process: POST /_control/bot)"
            )
        ts = int(self.state.clock()) if timestamp is None else timestamp
        headers = signed_headers(self.signing_secret, body, content_type, ts)
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        fields = dict(parse_qsl(body.decode(errors="replace"))) if content_type == FORM else {}
        interaction = _json_or_none(fields.get("payload", ""))
        carried = interaction if isinstance(interaction, dict) else fields
        started = time.perf_counter()
        result = await self._post(url, body, headers)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        result.request_body, result.request_headers = body, headers
        result.trigger_id = carried.get("trigger_id")
        result.response_url = carried.get("response_url")
        return result

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, data=body, headers=headers) as resp,
            ):
                text = await resp.text()
                status = resp.status
        except TimeoutError:
            return DeliveryResult(0, "", error="operation_timeout")
        except aiohttp.ClientError as exc:
            return DeliveryResult(0, "", error=f"dispatch_failed: {exc}")
        return DeliveryResult(status, text, _json_or_none(text))

    def _retry_headers(self, retry_num: int | None) -> dict[str, str]:
        if retry_num is None:
            return {}
        return {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}

    def _require_user(self, user_id: str) -> None:
        if self.ws.user(user_id) is None:
            raise LookupError(f"no such user {user_id!r}")

    # -- slash commands ----------------------------------------------------------------

    async def slash_command(
        self,
        user_id: str,
        channel_id: str,
        command: str,
        text: str = "",
        retry_num: int | None = None,
        headers_override: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        self._require_user(user_id)
        if self.state.channel(channel_id) is None:
            raise LookupError(f"no such channel {channel_id!r}")
        key = (user_id, channel_id, command, text)
        body = self._last_bodies.get(key) if retry_num else None
        if body is None:
            form = payloads.slash_command_form(
                self.ws,
                user_id=user_id,
                channel_id=channel_id,
                command=command,
                text=text,
                response_url=self._response_url(user_id, channel_id),
                trigger_id=self.triggers.issue(user_id),
            )
            body = urlencode(form).encode()
            self._last_bodies[key] = body
        headers = {**self._retry_headers(retry_num), **(headers_override or {})}
        result = await self.send_signed(body, FORM, extra_headers=headers)
        self._after_command(result, user_id, channel_id, command, text)
        return result

    def _response_url(
        self, user_id: str, channel_id: str, ts: str | None = None, ephemeral: bool = False
    ) -> str:
        token = self.response_urls.issue(user_id, channel_id, ts, ephemeral)
        return f"{self.base_url()}/response/{token}"

    def _after_command(
        self, result: DeliveryResult, user_id: str, channel_id: str, command: str, text: str
    ) -> None:
        """Show the ack as Slack does: its text/blocks as an ephemeral, failures as a banner."""
        if not result.ok:
            reason = result.error or f"http_service_error (HTTP {result.status})"
            self.state.add_banner(user_id, f'{command} failed with the error "{reason}"')
            return
        body = result.json if isinstance(result.json, dict) else None
        if body is None:
            if result.body_text.strip():
                self.state.post_ephemeral(channel_id, user_id, result.body_text.strip())
            return
        reply_text, blocks = body.get("text") or "", body.get("blocks") or []
        if not reply_text and not blocks:
            return
        if not isinstance(blocks, list) or validate_blocks(blocks):
            self.state.add_banner(user_id, f'{command} failed with the error "invalid_blocks"')
            return
        if body.get("response_type") == "in_channel":
            self.state.post_message(channel_id, user_id, f"{command} {text}".strip())
            self.state.post_message(channel_id, self.ws.bot_user_id, reply_text, blocks)
        else:
            self.state.post_ephemeral(channel_id, user_id, reply_text, blocks)

    # -- block_actions -----------------------------------------------------------------

    async def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        value: Any = None,
        retry_num: int | None = None,
    ) -> DeliveryResult:
        self._require_user(user_id)
        msg = self.state.find_message(channel_id, message_ts)
        eph = None
        if msg is None:
            eph = self.state.find_ephemeral(channel_id, message_ts, user_id)
            if eph is None:
                raise LookupError(f"no message {message_ts} in {channel_id} for {user_id}")
        source = msg or eph
        assert source is not None
        block, element = payloads.find_element(source.blocks, action_id)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": eph is not None,
        }
        if msg is not None and msg.thread_ts:
            container["thread_ts"] = msg.thread_ts
        channel = self.state.channel(channel_id)
        payload = payloads.interaction_base(self.ws, "block_actions", user_id)
        payload.update(
            container=container,
            trigger_id=self.triggers.issue(user_id),
            channel={"id": channel_id, "name": channel.name if channel else channel_id},
        )
        if msg is not None:  # Slack sends no `message` for ephemeral messages
            payload["message"] = msg.to_slack(self.ws)
        payload.update(
            state={"values": {}},
            response_url=self._response_url(user_id, channel_id, message_ts, eph is not None),
            actions=[payloads.action(block, element, self._action_ts(), value)],
        )
        return await self._interaction(payload, user_id, retry_num)

    async def click_view(
        self, user_id: str, view_id: str, action_id: str, *, value: Any = None
    ) -> DeliveryResult:
        view = self._users_view(user_id, view_id)
        block, element = payloads.find_element(view.blocks, action_id)
        payload = payloads.interaction_base(self.ws, "block_actions", user_id)
        payload.update(
            container={"type": "view", "view_id": view.id},
            trigger_id=self.triggers.issue(user_id),
            view=view.to_slack(self.ws),
            actions=[payloads.action(block, element, self._action_ts(), value)],
        )
        return await self._interaction(payload, user_id)

    def _action_ts(self) -> str:
        return f"{self.state.clock():.6f}"

    def _users_view(self, user_id: str, view_id: str) -> View:
        self._require_user(user_id)
        view = self.state.views.get(view_id)
        if view is None or view.user != user_id:
            raise LookupError(f"no view {view_id!r} open for {user_id}")
        return view

    async def _interaction(
        self, payload: dict[str, Any], user_id: str, retry_num: int | None = None
    ) -> DeliveryResult:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        result = await self.send_signed(body, FORM, extra_headers=self._retry_headers(retry_num))
        if not result.ok:
            reason = result.error or f"HTTP {result.status}"
            self.state.add_banner(user_id, f"The app did not respond to that action ({reason}).")
        return result

    # -- views -------------------------------------------------------------------------

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, Any]] | None = None
    ) -> DeliveryResult:
        view = self._users_view(user_id, view_id)
        stack = self.state.modal_stacks.get(user_id, [])
        if not stack or stack[-1] != view_id:
            raise LookupError(f"view {view_id!r} is not the modal on top for {user_id}")
        view.state_values = payloads.view_state(view.blocks, values or {})
        payload = payloads.interaction_base(self.ws, "view_submission", user_id)
        payload.update(
            trigger_id=self.triggers.issue(user_id),
            view=view.to_slack(self.ws),
            response_urls=[],
        )
        result = await self._interaction(payload, user_id)
        if result.ok:
            self._after_submission(user_id, view, result)
        return result

    def _after_submission(self, user_id: str, view: View, result: DeliveryResult) -> None:
        body = result.json if isinstance(result.json, dict) else {}
        action = body.get("response_action")
        if action == "errors":
            view.errors = dict(body.get("errors") or {})
            self.state.changed()
        elif action in ("update", "push"):
            problems = validate_view(body.get("view"))
            if problems:
                self.state.add_banner(user_id, f"The app answered an invalid view: {problems[0]}")
            elif action == "update":
                self.state.replace_view(view, body["view"])
            else:
                self.state.push_modal(user_id, body["view"])
        else:
            self.state.pop_modal(user_id, clear=action == "clear")

    async def close_view(self, user_id: str, view_id: str) -> DeliveryResult | None:
        view = self._users_view(user_id, view_id)
        result = None
        if view.definition.get("notify_on_close"):
            payload = payloads.interaction_base(self.ws, "view_closed", user_id)
            payload.update(view=view.to_slack(self.ws), is_cleared=False)
            result = await self._interaction(payload, user_id)
        self.state.pop_modal(user_id)
        return result

    # -- Events API --------------------------------------------------------------------

    async def send_event(
        self, event: dict[str, Any], *, retry_num: int | None = None
    ) -> DeliveryResult:
        self._events += 1
        envelope = payloads.event_callback(
            self.ws, event, f"Ev0EMU{self._events:05d}", int(self.state.clock())
        )
        body = json.dumps(envelope).encode()
        return await self.send_signed(
            body, "application/json", extra_headers=self._retry_headers(retry_num)
        )

    async def open_home(self, user_id: str) -> DeliveryResult:
        self._require_user(user_id)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.ws.im_with(user_id).id,
            "tab": "home",
            "event_ts": self._action_ts(),
        }
        home = self.state.views.get(self.state.homes.get(user_id, ""))
        if home is not None:
            event["view"] = home.to_slack(self.ws)
        return await self.send_event(event)
