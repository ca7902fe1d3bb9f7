"""`releasebot bench-export`: how fast, and in how little memory, the audit export streams a
large trail, beside PostgreSQL's own `psql \\copy` of the same table.

It makes a scratch schema, generates the events there with one INSERT ... SELECT (the rows
are realistic in size and shape; their hashes are not a valid chain, which an export does
not check), exports them as the CLI does to a file, then runs `psql \\copy` of the same rows
to another, and drops the schema."""

from __future__ import annotations

import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bot.benchmarks.scratch import scratch_database
from bot.services.audit_trail import ExportSummary, HashingWriter, write_export_rows
from bot.storage import migrate
from bot.storage.audit_reader import iter_rows
from bot.storage.database import create_engine

GENERATE = """
INSERT INTO audit_events (seq, event_id, at, actor_id, actor_name, action, outcome, service,
    environment, release_id, version_from, version_to, rule, reason, details, approvers,
    prev_hash, hash)
SELECT n, md5(n::text)::uuid::text, now() - (:rows - n) * interval '1 second',
    'U0' || (n % 50), 'person ' || (n % 50),
    (ARRAY['slack.deploy','release.approved','stage.started','stage.succeeded',
           'analysis.passed','release.succeeded'])[1 + n % 6],
    'ok', (ARRAY['checkout','payments','search','web'])[1 + n % 4],
    (ARRAY['staging','production'])[1 + n % 2], n / 8, 'v1.' || (n / 800), 'v1.' || (n / 800 + 1),
    'rbac.deploy', 'step ' || n || ' of the release, as the bot wrote it',
    json_build_object('stage', (n % 5) * 25 || '%', 'n', n)::json, 'U0BOB',
    md5((n - 1)::text) || md5((n - 1)::text), md5(n::text) || md5(n::text)
FROM generate_series(1, :rows) AS n
"""


@dataclass(frozen=True)
class ExportBench:
    rows: int
    export_s: float
    export_bytes: int
    peak_mib: float
    copy_s: float | None
    copy_bytes: int | None

    def report(self) -> str:
        lines = [
            f"{self.rows:,} audit events on PostgreSQL",
            f"releasebot audit export (csv): {self.export_s:.1f} s, "
            f"{self.rows / self.export_s:,.0f} rows/s, {self.export_bytes / 2**20:.0f} MiB, "
            f"peak resident memory of the whole process {self.peak_mib:.0f} MiB",
        ]
        if self.copy_s is None:
            lines.append("psql \\copy: psql not found")
        else:
            lines.append(
                f"psql \\copy (csv)            : {self.copy_s:.1f} s, "
                f"{self.rows / self.copy_s:,.0f} rows/s, {self.copy_bytes / 2**20:.0f} MiB"
            )
            lines.append(f"ratio to psql \\copy: {self.copy_s / self.export_s:.2f}")
        return "\n".join(lines)


async def run_export_bench(database_url: str, rows: int, workdir: Path) -> ExportBench:
    if not database_url.startswith("postgresql"):
        raise ValueError("the export benchmark runs on PostgreSQL (--database-url postgresql://…)")
    async with scratch_database(database_url) as scratch:
        engine = create_engine(scratch.url)
        assert scratch.schema is not None
        try:
            await migrate.upgrade(engine)
            async with engine.begin() as connection:
                await connection.execute(text(GENERATE), {"rows": rows})
                await connection.execute(text("ANALYZE audit_events"))
            export_s, export_bytes, peak = await _export(engine, workdir / "audit.csv")
            copy_s, copy_bytes = _psql_copy(database_url, scratch.schema, workdir / "copy.csv")
            return ExportBench(rows, export_s, export_bytes, peak, copy_s, copy_bytes)
        finally:
            await engine.dispose()


async def _export(engine, path: Path) -> tuple[float, int, float]:
    """Peak memory is the process's peak resident set size (tracing allocations would slow
    the export several times over)."""
    began = time.perf_counter()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = HashingWriter(handle)
        await write_export_rows(iter_rows(engine), "csv", writer, ExportSummary())
    elapsed = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return elapsed, writer.size, peak_kib / 1024


def _psql_copy(database_url: str, schema: str, path: Path) -> tuple[float | None, int | None]:
    psql = shutil.which("psql")
    if psql is None:
        return None, None
    libpq = database_url.replace("postgresql+psycopg://", "postgresql://")
    command = (
        f'\\copy (SELECT * FROM "{schema}".audit_events ORDER BY seq) '
        f"TO '{path}' WITH (FORMAT csv, HEADER)"
    )
    began = time.perf_counter()
    subprocess.run([psql, libpq, "-q", "-c", command], check=True)
    return time.perf_counter() - began, path.stat().st_size
