"""The names the web pages show: each person's newest name in the audit trail."""

from __future__ import annotations

from bot.core.audit import AuditEvent
from bot.core.clock import ManualClock
from bot.storage.audit_reader import SqlAuditEvents
from bot.storage.database import session_factory
from bot.storage.unit_of_work import SqlUnitOfWork

CLOCK = ManualClock()


async def test_each_person_is_named_as_they_last_acted(engine):
    acts = [("U0BOB", "bob"), ("U0CAROL", "carol"), ("U0BOB", "robert"), ("U0DAVE", "")]
    for actor_id, actor_name in acts:
        async with SqlUnitOfWork(session_factory(engine), CLOCK) as work:
            event = AuditEvent(at=CLOCK.now(), actor_id=actor_id, actor_name=actor_name, action="x")
            await work.audit.append(event)
            await work.commit()
    names = await SqlAuditEvents(engine).names({"U0BOB", "U0CAROL", "U0DAVE", "U0NOBODY"})
    assert names == {"U0BOB": "robert", "U0CAROL": "carol"}
    assert await SqlAuditEvents(engine).names(set()) == {}
