"""The emulator's aiohttp routes: Web API, response_url, file upload/download, console, faults
(/_faults) and the control API for tests in other processes (/_control)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import BodyPartReader, web

from bot.emulator import console, control, faults
from bot.emulator.guard import local_only
from bot.emulator.records import RecordedCall
from bot.emulator.response_urls import ResponseUrlError, apply_response

if TYPE_CHECKING:
    from bot.emulator.emulator import Emulator


def build_app(emu: Emulator) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[local_only])
    app.router.add_route("*", "/api/{method}", emu.api.handle)
    app.router.add_post("/response/{token}", _response_url(emu))
    app.router.add_post("/upload/{file_id}", _upload(emu))
    app.router.add_get("/files/{file_id}", _download(emu))
    app.router.add_get("/archives/{channel}/{pts}", _archive_link)
    console.add_routes(app, emu)
    faults.add_routes(app, emu.faults, emu.clock)
    control.add_routes(app, emu)

    async def open_long_polls(_: web.Application) -> None:
        emu.closing = False
        emu.faults.closing = False

    async def wake_long_polls(_: web.Application) -> None:
        emu.closing = True
        emu.state.changed()
        emu.faults.release()  # held (hanging) calls are answered so shutdown does not wait

    app.on_startup.append(open_long_polls)
    app.on_shutdown.append(wake_long_polls)
    return app


def _response_url(emu: Emulator):
    async def handle(request: web.Request) -> web.Response:
        emu._request_base(request, f"/response/{request.match_info['token']}")
        raw = await request.text()
        body: dict = {}
        try:
            parsed = json.loads(raw or "{}")
            if isinstance(parsed, dict):
                body = parsed
        except ValueError:
            pass
        fault = emu.faults.pick(faults.RESPONSE_URL)
        if fault is not None:
            return await faults.play(emu.faults, fault, request, emu.state, "response_url", body)
        try:
            if not body and raw.strip():
                raise ResponseUrlError(400, "invalid_payload")
            target = emu.response_urls.check(request.match_info["token"])
            apply_response(emu.state, target, body)
            target.uses += 1
            status, answer = 200, {"ok": True}
        except ResponseUrlError as exc:
            status, answer = exc.status, {"ok": False, "error": exc.error}
            if exc.messages:
                answer["response_metadata"] = {"messages": exc.messages}
        # The token is not part of what the bot sent; it is recorded (as `_token`) so a test
        # can tell which command or click an answer belongs to.
        recorded = {**body, "_token": request.match_info["token"]}
        emu.state.record(RecordedCall("response_url", recorded, answer, emu.clock(), status))
        return web.json_response(answer, status=status)

    return handle


def _upload(emu: Emulator):
    async def handle(request: web.Request) -> web.Response:
        file = emu.state.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            part = await reader.next()
            data = await part.read() if isinstance(part, BodyPartReader) else b""
        else:
            data = await request.read()
        file.content = bytes(data)
        emu.state.changed()
        return web.Response(text=f"OK - {len(data)}")

    return handle


def _download(emu: Emulator):
    async def handle(request: web.Request) -> web.Response:
        file = emu.state.files.get(request.match_info["file_id"])
        if file is None or file.content is None:
            raise web.HTTPNotFound()
        disposition = f'attachment; filename="{file.name}"'
        return web.Response(body=file.content, headers={"Content-Disposition": disposition})

    return handle


async def _archive_link(request: web.Request) -> web.Response:
    pts = request.match_info["pts"].removeprefix("p")
    ts = f"{pts[:-6]}.{pts[-6:]}" if len(pts) > 6 else pts
    channel = request.match_info["channel"]
    raise web.HTTPFound(f"../../?channel={channel}&ts={ts}")
