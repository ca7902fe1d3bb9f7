"""`releasebot bench-verify`: how fast `audit verify` checks a large valid chain, on SQLite
(a scratch file) or PostgreSQL (a scratch schema), beside (with --baseline) the
record-by-record check it replaced. The chain is sealed by the core like the bot's own, with
plain events (unique details per row, as bench-export's)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

from bot.benchmarks.scratch import scratch_database
from bot.benchmarks.trail import write_chain
from bot.services.audit_trail import verify_records, verify_rows
from bot.storage import migrate
from bot.storage.audit_reader import iter_records, iter_rows
from bot.storage.database import create_engine


@dataclass(frozen=True)
class VerifyBench:
    backend: str
    events: int
    verify_s: float
    ok: bool
    baseline_s: float | None

    def report(self) -> str:
        lines = [
            f"{self.events:,} audit events on {self.backend}",
            f"audit verify: {self.verify_s:.1f} s, {self.events / self.verify_s:,.0f} events/s, "
            f"chain {'ok' if self.ok else 'BROKEN'}",
        ]
        if self.baseline_s is not None:
            lines.append(
                f"before (an AuditRecord per row): {self.baseline_s:.1f} s, "
                f"{self.events / self.baseline_s:,.0f} events/s; "
                f"ratio {self.baseline_s / self.verify_s:.1f}x"
            )
        return "\n".join(lines)


async def run_verify_bench(database_url: str, events: int, baseline: bool = False) -> VerifyBench:
    postgres = database_url.startswith("postgres")
    async with scratch_database(database_url) as scratch:
        engine = create_engine(scratch.url)
        try:
            await migrate.upgrade(engine)
            await write_chain(engine, events, varied=False)
            if postgres:
                async with engine.begin() as connection:
                    await connection.execute(text("ANALYZE audit_events"))
            began = time.perf_counter()
            made = await verify_rows(iter_rows(engine))
            verify_s = time.perf_counter() - began
            baseline_s = None
            if baseline:
                began = time.perf_counter()
                before = await verify_records(iter_records(engine))
                baseline_s = time.perf_counter() - began
                assert before == made, "the reference disagrees"
            return VerifyBench(
                "PostgreSQL" if postgres else "SQLite", events, verify_s, made.ok, baseline_s
            )
        finally:
            await engine.dispose()
