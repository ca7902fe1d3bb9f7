"""The bot's web pages: release history with filters, one release's timeline, DORA metrics,
and the audit export for auditors and admins. Thin handlers over services.History."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from bot.core.commands import ExportAudit, release_number
from bot.core.export_formats import DEFAULT, FORMATS
from bot.core.ports import AuditFiles
from bot.core.release import State
from bot.services.audit_exports import AuditExports
from bot.services.history import History, HistoryFilter
from bot.web.sessions import Sessions
from bot.web.templating import page as _page
from bot.web.templating import templates

EXPORT_TTL_S = 600


def register_pages(
    app: web.Application,
    history: History,
    exports: AuditExports,
    sessions: Sessions,
) -> None:
    """The pages need someone signed in (bot.web.signin) and send others there."""
    pages = _Pages(history, exports, sessions)
    app.router.add_get("/releases", pages.releases)
    app.router.add_get("/releases/{id:[0-9]+}", pages.release)
    app.router.add_get("/dora", pages.dora)
    app.router.add_get("/audit", pages.audit)
    app.router.add_post("/audit/exports", pages.create_export)
    app.router.add_get("/audit/exports/{id}/{file}", pages.download)


class _Pages:
    def __init__(self, history, exports, sessions) -> None:
        self._history: History = history
        self._audit_exports: AuditExports = exports
        self._sessions: Sessions = sessions
        self._exports: dict[str, tuple[str, AuditFiles, float, Path]] = {}

    def _user(self, request: web.Request) -> str:
        user = self._sessions.user(request)
        if user is None:
            raise web.HTTPSeeOther(f"/signin?{urlencode({'next': request.path_qs})}")
        return user

    # Pages

    async def releases(self, request: web.Request) -> web.Response:
        user = self._user(request)
        where = HistoryFilter(
            service=request.query.get("service") or None,
            environment=request.query.get("environment") or None,
            state=request.query.get("state") or None,
        )
        found = await self._history.releases(where)
        return _page(
            "releases.html",
            user=user,
            may_export=self._audit_exports.may_export(user),
            releases=found.releases,
            names=found.names,
            where=where,
            services=sorted(self._history.catalog.services),
            environments=list(self._history.catalog.environments),
            states=[state.value for state in State],
        )

    async def release(self, request: web.Request) -> web.Response:
        user = self._user(request)
        number = release_number(request.match_info["id"])
        timeline = await self._history.timeline(number) if number is not None else None
        if timeline is None:
            raise web.HTTPNotFound(text="No such release.")
        return _page(
            "release.html",
            user=user,
            may_export=self._audit_exports.may_export(user),
            release=timeline.release,
            events=timeline.events,
            names=timeline.names,
        )

    async def dora(self, request: web.Request) -> web.Response:
        user = self._user(request)
        try:
            days = max(1, min(365, int(request.query.get("days", "30"))))
        except ValueError:
            days = 30
        service = request.query.get("service") or None
        report, weeks = await self._history.dora(days, service)
        return _page(
            "dora.html",
            user=user,
            may_export=self._audit_exports.may_export(user),
            report=report,
            weeks=weeks,
            peak=max([w["succeeded"] + w["failed"] for w in weeks] + [1]),
            days=days,
            service=service,
            services=sorted(self._history.catalog.services),
        )

    # The audit export (auditors and admins)

    async def audit(self, request: web.Request) -> web.Response:
        user = self._require_exporter(request)
        return _page(
            "audit.html",
            user=user,
            may_export=True,
            services=sorted(self._history.catalog.services),
            environments=list(self._history.catalog.environments),
        )

    async def create_export(self, request: web.Request) -> web.Response:
        user = self._user(request)
        form = await request.post()
        command = ExportAudit(
            window_s=_days(str(form.get("days", "30"))) * 86400,
            service=str(form.get("service") or "") or None,
            environment=str(form.get("environment") or "") or None,
            fmt=fmt if (fmt := form.get("format")) in FORMATS else DEFAULT,
        )
        self._forget_old()
        directory = Path(tempfile.mkdtemp(prefix="releasebot-web-export-"))
        files = await self._audit_exports.download(user, command, directory)
        if files is None:
            shutil.rmtree(directory, ignore_errors=True)
            raise self._refused(user)
        export_id = secrets.token_urlsafe(12)
        self._exports[export_id] = (user, files, time.monotonic(), directory)
        raise web.HTTPSeeOther(f"/audit/exports/{export_id}/ready")

    async def download(self, request: web.Request) -> web.StreamResponse:
        user = self._require_exporter(request)
        entry = self._exports.get(request.match_info["id"])
        if entry is None or entry[0] != user:
            raise web.HTTPNotFound(text="This export has expired; make it again.")
        _, files, _, _ = entry
        name = request.match_info["file"]
        if name == "ready":
            return _page("export_ready.html", user=user, may_export=True, files=files,
                         export_id=request.match_info["id"])  # fmt: skip
        path = {files.export.name: files.export, files.manifest.name: files.manifest}.get(name)
        if path is None:
            raise web.HTTPNotFound(text="No such file in this export.")
        return web.FileResponse(
            path, headers={"Content-Disposition": f'attachment; filename="{path.name}"'}
        )

    def _require_exporter(self, request: web.Request) -> str:
        user = self._user(request)
        if not self._audit_exports.may_export(user):
            raise self._refused(user)
        return user

    def _refused(self, user: str) -> web.HTTPForbidden:
        return web.HTTPForbidden(
            text=templates.get_template("refused.html").render(user=user),
            content_type="text/html",
        )

    def _forget_old(self) -> None:
        now = time.monotonic()
        for export_id, (_, _, made, directory) in list(self._exports.items()):
            if now - made > EXPORT_TTL_S:
                shutil.rmtree(directory, ignore_errors=True)
                del self._exports[export_id]


def _days(text: str) -> int:
    """The form's day count, 1 to 365; anything but ASCII digits is the default, 30."""
    if not (text.isascii() and text.isdigit()):
        return 30
    return max(1, min(365, int(text)))
