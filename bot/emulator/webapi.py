"""The Web API face: parse like Slack, play scheduled faults, authenticate, validate, dispatch,
record."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.emulator import faults
from bot.emulator.faults import FaultSchedule
from bot.emulator.methods import HANDLERS, ApiContext
from bot.emulator.records import RecordedCall
from bot.emulator.spec import ApiError, MethodSpec, validate_args
from bot.emulator.state import SlackState
from bot.emulator.triggers import TriggerRegistry

log = logging.getLogger(__name__)


@dataclass
class ApiAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class WebApi:
    def __init__(
        self,
        state: SlackState,
        specs: dict[str, MethodSpec],
        triggers: TriggerRegistry,
        bot_token: str,
        base_url: Callable[[web.Request, str], str],
        faults: FaultSchedule,
    ) -> None:
        self.state = state
        self.base_url = base_url
        self.specs = specs
        self.triggers = triggers
        self.bot_token = bot_token
        self.faults = faults

    def call(
        self, method: str, raw_args: dict[str, Any], token: str | None, base_url: str
    ) -> ApiAnswer:
        args = dict(raw_args)
        answer = self._answer(method, args, token, base_url)
        self.state.record(
            RecordedCall(method, args, answer.body, self.state.clock(), answer.status)
        )
        return answer

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, base_url: str
    ) -> ApiAnswer:
        spec = self.specs.get(method)
        if spec is None or method not in HANDLERS:
            return ApiAnswer(200, ApiError("unknown_method").body(), {})
        if not token:
            return ApiAnswer(200, ApiError("not_authed").body(), {})
        if token != self.bot_token:
            return ApiAnswer(200, ApiError("invalid_auth").body(), {})
        ctx = ApiContext(self.state, self.triggers, base_url)
        try:
            valid = validate_args(spec, args)
            args.clear()
            args.update(valid)
            return ApiAnswer(200, HANDLERS[method](ctx, valid), {})
        except ApiError as exc:
            return ApiAnswer(200, exc.body(), {})
        except Exception:  # an emulator bug must look like Slack's own failure, not a 500
            log.exception("emulator failed on %s", method)
            return ApiAnswer(200, ApiError("fatal_error").body(), {})

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        base_url = self.base_url(request, f"/api/{method}")
        try:
            args, token = await parse_request(request)
        except ApiError as exc:
            args, token, refused = {}, None, ApiAnswer(200, exc.body(), {})
        else:
            refused = None
        fault = self.faults.pick(method)
        if fault is not None:
            return await faults.play(self.faults, fault, request, self.state, method, args)
        answer = refused or self.call(method, args, token, base_url)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)


async def parse_request(request: web.Request) -> tuple[dict[str, Any], str | None]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text() or "{}")
            except ValueError:
                raise ApiError("invalid_form_data") from None
            if not isinstance(body, dict):
                raise ApiError("invalid_form_data")
            args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key in form:
                value = form[key]
                args[key] = value if isinstance(value, str) else value.file.read().decode()
        elif await request.read():
            raise ApiError("invalid_post_type")
    token = args.pop("token", None)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    return args, token


def mount_url(request: web.Request, relative_path: str) -> str:
    """Absolute URL where the emulator app is mounted, given the handled route's own path."""
    path = request.path
    prefix = path[: len(path) - len(relative_path)] if path.endswith(relative_path) else ""
    return f"{request.url.origin()}{prefix}"
