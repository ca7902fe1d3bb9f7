"""Writes an audit export and its manifest to files, as `releasebot audit export` does, for
the exports people ask for in Slack (the AuditExporter port)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audit import format_time
from bot.core.audit_manifest import Manifest
from bot.core.ports import AuditFiles, Clock
from bot.services.audit_manifests import make_checkpoint, make_manifest
from bot.services.audit_signing import Signer, signer_from_environment
from bot.services.audit_trail import ExportSummary, HashingWriter, write_export_rows
from bot.storage import audit_checkpoints
from bot.storage.audit_reader import AuditFilter, iter_rows


async def export_with_manifest(
    engine: AsyncEngine,
    where: AuditFilter,
    fmt: str,
    out: TextIO,
    *,
    file_name: str,
    filters: dict[str, Any],
    now: datetime,
    signer: Signer | None,
) -> tuple[Manifest, ExportSummary]:
    """Streams the export to `out` and describes it in a manifest, signed when `signer` is
    given; the chain head is then kept as a signed checkpoint too. What `audit export`, the
    web page and `/release export` all do."""
    summary = ExportSummary()
    head = await audit_checkpoints.head(engine)
    writer = HashingWriter(out)
    await write_export_rows(iter_rows(engine, where), fmt, writer, summary)
    manifest = make_manifest(
        fmt=fmt,
        filters=filters,
        summary=summary,
        head=head,
        file_name=file_name,
        file_sha256=writer.sha256,
        file_bytes=writer.size,
        now=now,
        signer=signer,
    )
    if signer is not None and head.seq:
        await audit_checkpoints.add(engine, make_checkpoint(head, now, signer))
    return manifest, summary


class DatabaseAuditExporter:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def export(self, filters: dict[str, Any], fmt: str, directory: Path) -> AuditFiles:
        signer = signer_from_environment(os.environ)
        now = self._clock.now()
        where = AuditFilter(
            since=_time(filters.get("since")),
            until=_time(filters.get("until")),
            service=filters.get("service"),
            environment=filters.get("environment"),
            actor=filters.get("actor"),
            action=filters.get("action"),
        )
        stamp = format_time(now)[:19].replace(":", "").replace("-", "")
        export = directory / f"releasebot-audit-{stamp}.{fmt}"
        with export.open("w", newline="", encoding="utf-8") as handle:
            manifest, summary = await export_with_manifest(
                self._engine,
                where,
                fmt,
                handle,
                file_name=export.name,
                filters=filters,
                now=now,
                signer=signer,
            )
        manifest_path = directory / f"{export.name}.manifest.json"
        manifest_path.write_text(manifest.to_json())
        return AuditFiles(export, manifest_path, summary.count, signer is not None)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
