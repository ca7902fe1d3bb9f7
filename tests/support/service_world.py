"""The services on their own: the use cases, the stage runner and the simulated backends over the
in-memory unit of work and a manual clock. No HTTP, no Slack, no database: a release goes from
/deploy to live in milliseconds.

Tests speak as people do (`command`, `click`) and read what the bot owes them: the messages in
the outbox, rendered as Slack would show them, the releases and the audit trail. What the wire
adds (signatures, acks, retries, Slack's answers) is tested in tests/scenarios.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.audit import AuditRecord
from bot.core.catalog import Catalog
from bot.core.clock import ManualClock
from bot.core.ports import InboxItem
from bot.core.release import Release
from bot.emulator.workspace import default_workspace
from bot.engine.stage_runner import StageRunner
from bot.services.audit_exports import AuditExports
from bot.services.commands import CommandRouter
from bot.services.deploys import Deploys
from bot.services.facts import FactsFinder
from bot.services.inbox import Inbound, InboxProcessor
from bot.services.policy_actions import PolicyActions
from bot.services.progress import Progress
from bot.services.queries import Queries
from bot.services.releases import Releases
from bot.services.requests import Request
from bot.slack.render import SlackRenderer
from bot.storage.memory import MemoryDatabase, MemoryReleaseTimers
from integrations.base import BackendContext, MemoryOperations
from integrations.registry import Registry
from tests.support.harness import CHANNEL, visible_text

PEOPLE = {user.id: user.name for user in default_workspace().users}
ZONES = {user.id: user.tz for user in default_workspace().users}
GROUPS = {g.id: frozenset(g.users) for g in default_workspace().usergroups}
STATUS_REFRESH_S = 15.0  # serve's default


class Zones:
    """The PeopleDirectory as the stand-in's users.info answers it."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones

    async def time_zone(self, user_id: str) -> str | None:
        return self.zones.get(user_id)


class NoExports:
    """An AuditExporter for worlds whose tests ask for no audit file."""

    async def export(self, filters, fmt, directory):  # pragma: no cover - never asked
        raise AssertionError("this world writes no audit files")


@dataclass
class ServiceWorld:
    catalog: Catalog
    clock: ManualClock
    db: MemoryDatabase
    processor: InboxProcessor
    runner: StageRunner
    registry: Registry
    renderer: SlackRenderer
    groups: dict[str, frozenset[str]] = field(default_factory=lambda: dict(GROUPS))
    _keys: Any = field(default_factory=itertools.count)

    @classmethod
    def of(cls, catalog: Catalog, *, env: dict[str, str] | None = None) -> ServiceWorld:
        clock = ManualClock()
        db = MemoryDatabase(clock)
        groups = dict(GROUPS)
        context = BackendContext(clock=clock, env=env or {}, operations=MemoryOperations())
        registry = Registry(catalog, context)
        facts = FactsFinder(catalog, lambda: groups)
        progress = Progress(db.unit_of_work, clock, STATUS_REFRESH_S, facts)
        releases = Releases(catalog, clock, facts)
        router = CommandRouter(
            catalog,
            clock,
            Deploys(catalog, clock, facts),
            releases,
            Queries(catalog, clock),
            PolicyActions(catalog, clock, facts),
            AuditExports(catalog, db.unit_of_work, clock, facts, NoExports()),
            registry,
            Zones(dict(ZONES)),
        )
        processor = InboxProcessor(db.unit_of_work, clock, router, releases)
        timers = MemoryReleaseTimers(db)
        runner = StageRunner(catalog, registry.adapters_for, progress, timers, clock)
        return cls(catalog, clock, db, processor, runner, registry, SlackRenderer(clock), groups)

    async def close(self) -> None:
        await self.registry.close()

    # What people do

    async def command(self, user: str, line: str, channel: str = CHANNEL) -> None:
        """`line` as typed in Slack, e.g. "/deploy checkout canary 10%"; then let the bot settle."""
        command, _, text = line.partition(" ")
        await self._handle(
            Inbound("command", self.request(user, channel, "command"), command, text)
        )

    async def click(
        self, user: str, act: str, release_id: int | None = None, *, reason: str = ""
    ) -> None:
        """A button on a release's status message (`approve`, `reject`, `rollback`...); a reject
        comes with its reason, as the modal submits it."""
        release = self.release(release_id)
        request = self.request(user, release.channel, "click", message_ts=release.message_ts)
        kind = "submission" if reason else "click"
        await self._handle(Inbound(kind, request, act=act, release_id=release.id, reason=reason))

    async def settle(self) -> None:
        """Run the stage runner until nothing is due now; status messages owed are posted
        (their ts stored, as the outbox does), so buttons on them can be clicked."""
        while await self.runner.run_due():
            pass
        await self._post_status_messages()

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        remaining = seconds
        while remaining > 0:
            delta = min(step, remaining)
            self.clock.advance(delta)
            remaining -= delta
            await self.settle()

    async def run_until(
        self, predicate: Callable[[], bool], limit_s: float = 600, step: float = 1.0
    ) -> None:
        waited = 0.0
        while not predicate():
            if waited >= limit_s:
                raise AssertionError(f"condition not met after {limit_s}s of bot time")
            await self.advance(step, step)
            waited += step

    # What the bot shows and keeps

    def releases(self) -> list[Release]:
        return self.db.releases()

    def release(self, release_id: int | None = None) -> Release:
        """Release `release_id`, or the newest."""
        made = self.releases()
        assert made, "no release was made"
        if release_id is None:
            return made[-1]
        return next(r for r in made if r.id == release_id)

    def status(self, release_id: int | None = None) -> str:
        """The release's status message as Slack would show it: its text and blocks' words."""
        message = self.renderer.status(self.release(release_id))
        return f"{message.text}\n{visible_text(message.blocks)}"

    def thread(self, release_id: int | None = None) -> list[str]:
        number = self.release(release_id).id
        return [
            self._text(e.message.template, e.message.context)
            for e in self.db.outbox
            if e.message.kind == "thread" and e.message.release_id == number
        ]

    def posts(self, channel: str = CHANNEL) -> list[str]:
        """Notices posted in the channel (not status messages nor their threads)."""
        return [
            self._text(e.message.template, e.message.context)
            for e in self.db.outbox
            if e.message.kind == "post" and e.message.channel == channel
        ]

    def replies_to(self, user: str) -> list[str]:
        """What the user saw privately (ephemerals and response_url answers)."""
        return [
            self._text(e.message.template, e.message.context)
            for e in self.db.outbox
            if e.message.kind in ("ephemeral", "respond") and e.message.user == user
        ]

    def audit(self, action: str | None = None) -> list[AuditRecord]:
        return [r for r in self.db.audit if action is None or r.event.action == action]

    # Inside

    def request(self, user: str, channel: str, via: str, **more: Any) -> Request:
        key = f"{via}:{next(self._keys)}"
        return Request(user, PEOPLE.get(user, user), channel, key, via=via, **more)

    async def _handle(self, inbound: Inbound) -> None:
        item_id = await self.db.receive(inbound.request.key)
        assert item_id is not None
        now = self.clock.now()
        await self.processor.process(
            InboxItem(item_id, inbound.request.key, inbound.to_payload(), now, 1)
        )
        await self.settle()

    async def _post_status_messages(self) -> None:
        owed = {e.message.release_id for e in self.db.outbox if e.message.kind == "status"}
        async with self.db.turn() as tables:
            for release_id in owed:
                row = tables.releases.get(release_id)
                if row is not None and row["message_ts"] is None:
                    ts = f"{1_700_000_000 + release_id}.000100"
                    tables.releases[release_id] = {**row, "message_ts": ts}

    def _text(self, template: str, context: dict[str, Any]) -> str:
        message = self.renderer.render(template, context)
        return visible_text(message.blocks) or message.text
