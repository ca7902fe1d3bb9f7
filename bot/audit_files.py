"""Writes an audit export and its manifest to files, as `releasebot audit export` does, for
the exports people ask for in Slack (the AuditExporter port)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audit import format_time
from bot.core.ports import AuditFiles, Clock
from bot.services.audit_manifests import make_checkpoint, make_manifest
from bot.services.audit_signing import signer_from_environment
from bot.services.audit_trail import ExportSummary, HashingWriter, write_export
from bot.storage import audit_checkpoints
from bot.storage.audit_reader import AuditFilter, iter_records


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
        summary = ExportSummary()
        head = await audit_checkpoints.head(self._engine)
        with export.open("w", newline="", encoding="utf-8") as handle:
            writer = HashingWriter(handle)
            await write_export(iter_records(self._engine, where), fmt, writer, summary)
        manifest = make_manifest(
            fmt=fmt,
            filters=filters,
            summary=summary,
            head=head,
            file_name=export.name,
            file_sha256=writer.sha256,
            file_bytes=writer.size,
            now=now,
            signer=signer,
        )
        manifest_path = directory / f"{export.name}.manifest.json"
        manifest_path.write_text(manifest.to_json())
        if signer is not None and head.seq:
            await audit_checkpoints.add(self._engine, make_checkpoint(head, now, signer))
        return AuditFiles(export, manifest_path, summary.count, signer is not None)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
