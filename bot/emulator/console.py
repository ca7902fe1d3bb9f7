"""The console page and its JSON API (/console/api/*): a person's view of the workspace.

GET  /console/api/bootstrap                      team, users, channels
GET  /console/api/state?user=U&since=V&wait=S    snapshot for U once version > V (long-poll)
POST /console/api/command {user, channel, text, thread_ts?}   "/cmd args" or a plain message
POST /console/api/click   {user, channel, ts, action_id, value?} | {user, view_id, action_id}
POST /console/api/submit  {user, view_id, values}
POST /console/api/close   {user, view_id}
POST /console/api/home    {user}                  app_home_opened to the bot
POST /console/api/dismiss {user, banner_id? , ephemeral_ts?}
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.jsonapi import (
    bad_request,
    deliver,
    ephemeral_json,
    json_object,
    message_json,
    require,
)

if TYPE_CHECKING:
    from bot.emulator.emulator import Emulator

STATIC_DIR = Path(__file__).parent / "static"
MAX_WAIT_S = 25.0


def add_routes(app: web.Application, emu: Emulator) -> None:
    api = ConsoleApi(emu)
    app.router.add_get("/", api.index)
    app.router.add_static("/static", STATIC_DIR)
    app.router.add_get("/console/api/bootstrap", api.bootstrap)
    app.router.add_get("/console/api/state", api.state)
    app.router.add_post("/console/api/command", api.command)
    app.router.add_post("/console/api/click", api.click)
    app.router.add_post("/console/api/submit", api.submit)
    app.router.add_post("/console/api/close", api.close)
    app.router.add_post("/console/api/home", api.home)
    app.router.add_post("/console/api/dismiss", api.dismiss)


class ConsoleApi:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    async def index(self, request: web.Request) -> web.Response:
        self.emu._request_base(request, "/")
        base = request.path if request.path.endswith("/") else request.path + "/"
        html = (STATIC_DIR / "index.html").read_text().replace("{{BASE}}", base)
        return web.Response(text=html, content_type="text/html")

    async def bootstrap(self, request: web.Request) -> web.Response:
        ws = self.emu.workspace
        return web.json_response(
            {
                "team": {"id": ws.team_id, "name": ws.team_name, "domain": ws.team_domain},
                "bot": {"user_id": ws.bot_user_id, "name": ws.bot_name},
                "users": [
                    {"id": u.id, "name": u.name, "real_name": u.real_name, "title": u.title}
                    for u in ws.users
                ],
                "usergroups": [
                    {"id": g.id, "handle": g.handle, "name": g.name} for g in ws.usergroups
                ],
            }
        )

    async def state(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        try:
            since = int(request.query.get("since", "-1") or -1)
            wait = min(float(request.query.get("wait", "0") or 0), MAX_WAIT_S)
        except ValueError:
            return bad_request("since and wait must be numbers")
        if wait > 0 and self.emu.state.version <= since and not self.emu.closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.emu.state.next_change(), wait)
        return web.json_response(self.snapshot(user))

    def snapshot(self, user: str) -> dict[str, Any]:
        emu, ws = self.emu, self.emu.workspace
        channels = [c for c in ws.channels if not c.is_im or user in c.members]
        modal = emu.modal(user)
        home = emu.home(user)
        return {
            "version": emu.state.version,
            "user": user,
            "channels": [
                {"id": c.id, "name": c.name, "is_im": c.is_im, "is_member": user in c.members}
                for c in channels
            ],
            "messages": {
                c.id: [message_json(m, emu.files) for m in emu.state.visible_history(c.id)]
                for c in channels
            },
            "ephemerals": [ephemeral_json(e) for e in emu.ephemerals(user)],
            "modal": {**modal.to_slack(ws), "errors": modal.errors} if modal else None,
            "home": home.to_slack(ws) if home else None,
            "banners": [{"id": b.id, "text": b.text, "at": b.at} for b in emu.banners(user)],
        }

    async def _deliver(self, delivery: Any) -> web.Response:
        return await deliver(
            delivery, lambda result: {"ok": True, "delivery": result and result.to_json()}
        )

    async def command(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user")
        text = str(body.get("text", "")).strip()
        if not text:
            return bad_request("empty")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            return await self._deliver(
                self.emu.slash_command(body["user"], body.get("channel", ""), command, rest.strip())
            )
        try:
            msg = self.emu.post_user_message(
                body["user"], body.get("channel", ""), text, body.get("thread_ts")
            )
        except LookupError as exc:
            return bad_request(str(exc))
        return web.json_response({"ok": True, "ts": msg.ts})

    async def click(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user", "action_id")
        value = body.get("value")
        if body.get("view_id"):
            return await self._deliver(
                self.emu.click_view(body["user"], body["view_id"], body["action_id"], value=value)
            )
        require(body, "channel", "ts")
        return await self._deliver(
            self.emu.click(
                body["user"], body["channel"], body["ts"], body["action_id"], value=value
            )
        )

    async def submit(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user", "view_id")
        return await self._deliver(
            self.emu.submit_view(body["user"], body["view_id"], body.get("values") or {})
        )

    async def close(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user", "view_id")
        return await self._deliver(self.emu.close_view(body["user"], body["view_id"]))

    async def home(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user")
        return await self._deliver(self.emu.open_home(body["user"]))

    async def dismiss(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user")
        state = self.emu.state
        state.banners = [
            b
            for b in state.banners
            if not (b.user == body["user"] and b.id == body.get("banner_id"))
        ]
        state.ephemerals = [
            e
            for e in state.ephemerals
            if not (e.user == body["user"] and e.ts == body.get("ephemeral_ts"))
        ]
        state.changed()
        return web.json_response({"ok": True})
