"""A web process and an engine process on one PostgreSQL (RELEASEBOT_ROLE): the web process
acks once a command is written down; the engine, woken by PostgreSQL's NOTIFY rather than its
tick, carries it out at once, and its stages start without waiting for the tick either."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.chaos.cluster import Cluster
from tests.support.peers import POSTGRES_URL, missing, postgres_available

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def test_the_engine_process_handles_what_the_web_process_acked_at_once(tmp_path):
    if (why := postgres_available()) is not None:
        missing(why)
    async with Cluster(
        tmp_path, roles=("web", "engine"), tick_s=30, admin_url=POSTGRES_URL
    ) as cluster:
        sent = await cluster.command("U0ALICE", "/deploy", "svc001 v1.0.1 to staging")
        assert sent.acked
        began = time.monotonic()
        while not await cluster.query(
            "SELECT 1 FROM audit_events WHERE action = 'release.versions_resolved'"
        ):
            assert time.monotonic() - began < 5, "the engine slept until its 30 s tick"
            await asyncio.sleep(0.05)
        ((waiting,),) = await cluster.query("SELECT count(*) FROM inbox WHERE done_at IS NULL")
        assert waiting == 0
        await cluster.signal(1, 9)  # without an engine, the web process still acks...
        later = await cluster.command("U0BOB", "/release", "status")
        assert later.acked
        ((waiting,),) = await cluster.query("SELECT count(*) FROM inbox WHERE done_at IS NULL")
        assert waiting == 1, "...and only writes it down: the work waits for an engine"
        await cluster.start_replica(1)  # an engine back: it takes up what waited, at once
        began = time.monotonic()
        while (await cluster.pending())[0]:
            assert time.monotonic() - began < 5, "the request waited for the engine's tick"
            await asyncio.sleep(0.05)
