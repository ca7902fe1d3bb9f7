"""The fault suite: real `releasebot serve` processes in HTTP mode, the Slack stand-in and a
deploy script as processes of their own, a fresh PostgreSQL database; broken for real with
SIGKILL, SIGTERM, Slack 5xx pages, Slack hanging, 429 storms, pg_terminate_backend and two
replicas at once. Each case then checks every promise (bot/chaos/checks.py): every
acknowledged command got its release or its answer, no release is stuck, the audit trail
verifies, nothing was posted twice, every thread is complete and in order, every status
message shows its release's final state, no message was given up and no stage ran twice.

These are CI's small sizes; `releasebot chaos` runs the full ones and prints the figures."""

from __future__ import annotations

import pytest

from bot.chaos.scenarios import SCENARIOS, Sizes, run
from tests.support.peers import POSTGRES_URL, missing, postgres_available

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_nothing_acknowledged_is_lost_and_every_promise_holds(scenario, tmp_path):
    if (why := postgres_available()) is not None:
        missing(why)
    report = await run(scenario, Sizes.small(), tmp_path, POSTGRES_URL)
    print(report.text())
    assert report.ok, "\n" + report.text() + f"\n(process logs: {tmp_path / scenario})"
    assert report.figures["commands acknowledged"] > 0
