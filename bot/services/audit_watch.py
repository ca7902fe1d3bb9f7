"""Watches the audit trail while the bot runs: the append-only triggers are in place, and the
chain holds from the last signed checkpoint to its head. Anything else makes /readyz answer
not ready, sets a metric and is logged once, in words an alert can match."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.audit import GENESIS_HASH
from bot.core.audit_manifest import ChainPoint
from bot.core.ports import AuditIntegrity
from bot.services.audit_manifests import check_checkpoints
from bot.services.audit_signing import Signer
from bot.services.audit_trail import verify_rows

log = logging.getLogger(__name__)


class AuditUnprotected(Exception):
    """The append-only triggers are missing: `serve` does not start on such a database."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    text: str  # "ok", "checking", "broken at sequence N: ...", "not append-only: ..."
    broken_at: int | None = None


CHECKING = Verdict(False, "checking")


def unprotected_message(missing: list[str]) -> str:
    names = ", ".join(missing)
    return (
        f"the audit trail is not append-only: trigger {names} on audit_events is missing, "
        "disabled or changed, so someone with database rights may have edited it. Check it with "
        "`releasebot audit verify`, then recreate the trigger with `releasebot migrate`."
    )


class AuditWatch:
    """`current()` is the verdict, checked again once it is `max_age_s` old: the triggers each
    time, and the chain from where the last check (or the last signed checkpoint) left it, so a
    check costs the rows written since. A broken chain stays broken until a restart."""

    def __init__(
        self,
        source: AuditIntegrity,
        signer: Signer | None,
        *,
        max_age_s: float = 10.0,
        on_verdict: Callable[[Verdict], None] | None = None,
    ) -> None:
        self._source = source
        self._signer = signer
        self._max_age_s = max_age_s
        self._on_verdict = on_verdict
        self._lock = asyncio.Lock()
        self._checked_at: float | None = None
        self._verified: ChainPoint | None = None
        self._broken: Verdict | None = None
        self.verdict = CHECKING

    async def refuse_if_unprotected(self) -> None:
        missing = await self._source.missing_triggers()
        if missing:
            raise AuditUnprotected(unprotected_message(missing))

    async def current(self) -> Verdict:
        async with self._lock:
            fresh = self._checked_at is not None
            if fresh and time.monotonic() - self._checked_at < self._max_age_s:
                return self.verdict
            verdict = await self._check()
            self._checked_at = time.monotonic()
            if verdict != self.verdict:
                self._tell(verdict)
            self.verdict = verdict
            return verdict

    def _tell(self, verdict: Verdict) -> None:
        if verdict.ok:
            log.info("audit trail intact again" if self.verdict != CHECKING else "audit trail ok")
        else:
            log.error("audit trail %s", verdict.text)
        if self._on_verdict is not None:
            self._on_verdict(verdict)

    async def _check(self) -> Verdict:
        missing = await self._source.missing_triggers()
        if missing:
            return Verdict(False, f"not append-only: trigger {', '.join(missing)} missing")
        if self._broken is not None:
            return self._broken
        start = await self._start()
        if isinstance(start, Verdict):
            self._broken = start
            return start
        head = await self._source.head()
        report = await verify_rows(self._source.rows_after(start.seq), (start.seq, start.hash))
        if report.broken is not None:
            self._broken = _broken(report.broken.seq, report.broken.why)
            return self._broken
        if report.head_seq < head.seq:
            self._broken = _broken(
                report.head_seq + 1,
                f"the chain ends at {report.head_seq} but its head says {head.seq}: records "
                "were removed from the end",
            )
            return self._broken
        self._verified = ChainPoint(report.head_seq, report.head_hash)
        return Verdict(True, "ok")

    async def _start(self) -> ChainPoint | Verdict:
        """Where the chain is known good: the last check's end (if its row is unchanged), else
        the last signed checkpoint (if its signature and row hold), else the beginning."""
        if self._verified is not None:
            point = self._verified
            stored = await self._source.hash_at(point.seq) if point.seq else GENESIS_HASH
            if stored != point.hash:
                return _broken(point.seq, "changed or removed since it was last verified")
            return point
        checkpoint = await self._source.last_checkpoint()
        if checkpoint is None:
            return ChainPoint(0, GENESIS_HASH)
        findings = await check_checkpoints([checkpoint], self._signer, self._source.hash_at)
        if findings:
            return _broken(checkpoint.seq, findings[0].why)
        return ChainPoint(checkpoint.seq, checkpoint.hash)


def _broken(seq: int, why: str) -> Verdict:
    return Verdict(False, f"broken at sequence {seq}: {why}", seq)
