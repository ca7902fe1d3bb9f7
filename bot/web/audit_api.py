"""The audit export over HTTP, for scripts: `GET /api/v1/audit/export` with an API token
(`Authorization: Bearer rbt_…`, made by `releasebot api-token create`). The answer is a zip
holding the export and its signed manifest; both are written to a temporary directory first,
so memory stays flat however long the period."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.core.audit import format_time
from bot.core.durations import parse_moment
from bot.core.export_formats import DEFAULT, format_problem
from bot.core.ports import AuditFiles, Clock
from bot.services.api_tokens import ApiTokens
from bot.services.audit_exports import REFUSAL, AuditExports

ROUTE = "/api/v1/audit/export"
PARAMETERS = ("format", "since", "until", "service", "environment", "actor", "action")
DEFAULT_SINCE = "30d"
CHUNK = 256 * 1024


def register_audit_api(
    app: web.Application, tokens: ApiTokens, exports: AuditExports, clock: Clock
) -> None:
    api = _AuditApi(tokens, exports, clock)
    app.router.add_get(ROUTE, api.export)


class _AuditApi:
    def __init__(self, tokens: ApiTokens, exports: AuditExports, clock: Clock) -> None:
        self._tokens = tokens
        self._exports = exports
        self._clock = clock

    async def export(self, request: web.Request) -> web.StreamResponse:
        token = await self._tokens.holder(_bearer(request))
        if token is None:
            raise _error(
                web.HTTPUnauthorized,
                "unauthorized",
                "Send a valid API token: Authorization: Bearer rbt_… "
                "(releasebot api-token create makes one).",
                headers={"WWW-Authenticate": 'Bearer realm="releasebot", error="invalid_token"'},
            )
        filters, fmt = self._filters(request)
        directory = Path(tempfile.mkdtemp(prefix="releasebot-api-export-"))
        try:
            files = await self._exports.export_now(
                token.user_id, filters, fmt, directory, via="api", details={"token": token.id}
            )
            if files is None:
                raise _error(web.HTTPForbidden, "forbidden", f"{REFUSAL} ({token.user_id})")
            archive, size = await asyncio.to_thread(_zip, files, directory)
            return await _send(request, archive, size, files)
        finally:
            await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)

    def _filters(self, request: web.Request) -> tuple[dict[str, Any], str]:
        query = request.query
        unknown = sorted(set(query) - set(PARAMETERS))
        if unknown:
            raise _error(
                web.HTTPBadRequest,
                "bad_request",
                f"Unknown parameter {', '.join(unknown)}; use {', '.join(PARAMETERS)}.",
            )
        fmt = query.get("format", DEFAULT)
        if (problem := format_problem(fmt, "format")) is not None:
            raise _error(web.HTTPBadRequest, "bad_request", f"{problem}.")
        now = self._clock.now()
        try:
            since = parse_moment(query.get("since") or DEFAULT_SINCE, now)
            until = parse_moment(query["until"], now) if query.get("until") else None
            filters = {
                "since": format_time(since),
                "until": format_time(until) if until else None,
                **{
                    key: query.get(key) or None
                    for key in ("service", "environment", "actor", "action")
                },
            }
        except (ValueError, OverflowError) as exc:
            raise _error(web.HTTPBadRequest, "bad_request", f"since/until {exc}.") from None
        if until is not None and since >= until:
            raise _error(web.HTTPBadRequest, "bad_request", "since must be before until.")
        return filters, fmt


def _bearer(request: web.Request) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _zip(files: AuditFiles, directory: Path) -> tuple[Path, int]:
    archive = directory / f"{files.export.stem}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.write(files.export, files.export.name)
        out.write(files.manifest, files.manifest.name)
    return archive, archive.stat().st_size


async def _send(
    request: web.Request, archive: Path, size: int, files: AuditFiles
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{archive.name}"',
            "X-Releasebot-Events": str(files.count),
            "X-Releasebot-Signed": "yes" if files.signed else "no",
        }
    )
    response.content_length = size
    await response.prepare(request)
    with open(archive, "rb") as handle:  # noqa: ASYNC230 (each read is in a thread)
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response


def _error(
    kind: type[web.HTTPError], code: str, message: str, headers: dict[str, str] | None = None
) -> web.HTTPError:
    return kind(
        text=json.dumps({"error": code, "message": message}, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )
