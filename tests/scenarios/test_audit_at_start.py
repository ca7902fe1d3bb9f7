"""The audit trail's integrity at start, with `releasebot serve` as a real process: a database
whose append-only trigger was dropped is refused, naming it, until `releasebot migrate` puts
it back; a database with an edited row starts, but /readyz says not ready, a metric says where
the chain breaks, and the log says it in words an alert can match."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.core.audit import AuditEvent
from bot.core.clock import ManualClock
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.audit import tamper
from tests.support.network import free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
FOREIGN = re.compile(r"^(SLACK_|RELEASEBOT_|DATABASE_URL$|PORT$)")


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not FOREIGN.match(k)}


async def seeded(database_url: str, events: int = 3):
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    clock = ManualClock()
    for n in range(events):
        async with SqlUnitOfWork(session_factory(engine), clock) as work:
            await work.audit.append(
                AuditEvent(at=clock.now(), actor_id="U0BOB", actor_name="bob", action=f"t.{n}")
            )
            await work.commit()
    return engine


async def releasebot(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=REPO, env=environment(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def finished(*args: str) -> tuple[int, str]:
    process = await releasebot(*args)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


def drop_statement(database_url: str) -> tuple[str, str]:
    if database_url.startswith("postgresql"):
        return "DROP TRIGGER audit_events_no_update_delete ON audit_events", (
            "audit_events_no_update_delete"
        )
    return "DROP TRIGGER audit_events_no_update", "audit_events_no_update"


async def test_serve_refuses_a_dropped_trigger_until_migrate_recreates_it(database_url):
    engine = await seeded(database_url)
    statement, name = drop_statement(database_url)
    async with engine.begin() as connection:
        await connection.execute(text(statement))
    await engine.dispose()
    port = str(free_port())

    code, output = await finished("serve", "--database-url", database_url, "--port", port)
    assert code == 1, output
    assert f"trigger {name} on audit_events is missing, disabled or changed" in output
    assert "releasebot migrate" in output and "Traceback" not in output

    code, output = await finished("migrate", "--database-url", database_url)
    assert code == 0, output
    assert f"recreated the audit trail's append-only trigger {name}" in output
    code, output = await finished("audit", "verify", "--database-url", database_url)
    assert code == 0 and "audit chain ok: 3 records" in output, output


async def test_an_edited_row_starts_not_ready_with_a_metric_and_a_log_line(database_url):
    engine = await seeded(database_url)
    await tamper(engine, "UPDATE audit_events SET actor_id = 'U0EVE' WHERE seq = 2")
    await engine.dispose()
    port = free_port()
    process = await releasebot("serve", "--database-url", database_url, "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    told = asyncio.Event()

    async def read_log() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line.decode())
            if "audit trail broken at sequence 2" in lines[-1]:
                told.set()

    reader = asyncio.ensure_future(read_log())
    try:
        await asyncio.wait_for(told.wait(), 60)
        status, body = await get(f"{base}/readyz")
        assert status == 503, body
        _, metrics = await get(f"{base}/metrics")
        assert "releasebot_audit_intact 0.0" in metrics
        assert "releasebot_audit_broken_at_sequence 2.0" in metrics
        assert (await get(f"{base}/healthz"))[0] == 200, "alive, only not ready"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        reader.cancel()
    log = "".join(lines)
    assert "ERROR bot.services.audit_watch: audit trail broken at sequence 2: " in log
