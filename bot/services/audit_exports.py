"""`/release export`: an auditor (or admin) asks for the audit trail of a period; the file and
its signed manifest arrive in a direct message. The request is checked and recorded here;
the outbox does the export and the upload, so a slow export never holds up Slack's ack."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.core.access import holdings
from bot.core.audit import format_time
from bot.core.catalog import Catalog
from bot.core.commands import ExportAudit
from bot.core.durations import format_duration
from bot.core.policy_config import Role
from bot.core.ports import AuditExporter, AuditFiles, Clock, Outbound, UnitOfWork
from bot.services.facts import FactsFinder
from bot.services.outcome import Outcome
from bot.services.recorder import Recorder
from bot.services.requests import Request

MAY_EXPORT = {Role.AUDITOR, Role.ADMIN}
REFUSAL = "Only auditors and admins may export the audit trail."


def export_filters(command: ExportAudit, now: datetime) -> dict[str, str | None]:
    return {
        "since": format_time(now - timedelta(seconds=command.window_s)),
        "until": format_time(now),
        "service": command.service,
        "environment": command.environment,
    }


class AuditExports:
    def __init__(
        self,
        catalog: Catalog,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
        facts: FactsFinder,
        exporter: AuditExporter,
    ) -> None:
        self._catalog = catalog
        self._uow = unit_of_work
        self._clock = clock
        self._facts = facts
        self._exporter = exporter

    def may_export(self, user_id: str) -> bool:
        return any(
            h.role in MAY_EXPORT for h in holdings(self._catalog, user_id, self._facts.groups())
        )

    async def download(
        self, user_id: str, command: ExportAudit, directory: Path
    ) -> AuditFiles | None:
        """An export made at once for the web page; None when `user_id` may not (refused and
        audited, as in Slack)."""
        filters = export_filters(command, self._clock.now())
        return await self.export_now(user_id, filters, command.fmt, directory, via="web")

    async def export_now(
        self,
        user_id: str,
        filters: dict[str, str | None],
        fmt: str,
        directory: Path,
        *,
        via: str,
        details: dict[str, Any] | None = None,
    ) -> AuditFiles | None:
        """The export written to `directory` now (the web page, the HTTP API), recorded as
        `{via}.export`; None when `user_id` may not export (refused and audited)."""
        allowed = self.may_export(user_id)
        async with self._uow() as uow:
            await Recorder(uow, self._clock.now()).audit(
                None,
                f"{via}.export",
                actor=user_id,
                outcome="ok" if allowed else "refused",
                rule="rbac.export",
                reason="" if allowed else REFUSAL,
                service=filters.get("service") or "",
                environment=filters.get("environment") or "",
                details={"filters": filters, "format": fmt, **(details or {})},
            )
            await uow.commit()
        if not allowed:
            return None
        return await self._exporter.export(filters, fmt, directory)

    async def request(self, uow: UnitOfWork, request: Request, command: ExportAudit) -> Outcome:
        now = self._clock.now()
        filters = export_filters(command, now)
        allowed = self.may_export(request.user_id)
        record = Recorder(uow, now)
        if not allowed:
            await record.refuse(
                request,
                f"{request.via}.export",
                rule="rbac.export",
                reason=REFUSAL,
                service=command.service or "",
                environment=command.environment or "",
            )
            return Outcome(False, "refused")
        await record.audit(
            request,
            f"{request.via}.export",
            rule="rbac.export",
            service=command.service or "",
            environment=command.environment or "",
            details={"filters": filters, "format": command.fmt},
        )
        await record.reply(
            request,
            "export_started",
            {"window": format_duration(command.window_s), "fmt": command.fmt},
        )
        await uow.outbox.enqueue(
            Outbound(
                "upload",
                f"upload:{request.key}:{uuid.uuid4().hex[:8]}",
                "export_ready",
                {"filters": filters, "format": command.fmt},
                user=request.user_id,
            )
        )
        return Outcome(True, "export queued")
