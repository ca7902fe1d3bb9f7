"""Slack user group members, read through the GroupDirectory port and kept in memory, so a
decision never waits on Slack: the engine refreshes the cache; commands read the snapshot."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from bot.core.ports import Clock, GroupDirectory, IntegrationError

log = logging.getLogger(__name__)


class GroupCache:
    def __init__(
        self, directory: GroupDirectory, groups: Iterable[str], clock: Clock, ttl_s: float = 300
    ) -> None:
        self._directory = directory
        self._groups = tuple(sorted(set(groups)))
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._members: dict[str, frozenset[str]] = {}
        self._read_at: dict[str, datetime] = {}
        self._fetched_at: datetime | None = None
        self.last_error: str | None = None

    def snapshot(self) -> Mapping[str, frozenset[str]]:
        """Members as last read; a group not read for three lifetimes is dropped, so someone
        removed from it in Slack does not keep its grants while Slack is unreachable."""
        oldest = self._clock.now() - 3 * self._ttl
        return {
            group: members
            for group, members in self._members.items()
            if self._read_at[group] >= oldest
        }

    async def refresh(self, *, force: bool = False) -> bool:
        """Re-reads every group when the cache is older than its time to live. A group that
        cannot be read keeps its last known members."""
        now = self._clock.now()
        if not self._groups:
            return False
        if not force and self._fetched_at and now - self._fetched_at < self._ttl:
            return False
        self._fetched_at = now
        errors = []
        for group in self._groups:
            try:
                self._members[group] = await self._directory.members(group)
                self._read_at[group] = now
            except IntegrationError as exc:
                errors.append(f"{group}: {exc}")
        self.last_error = "; ".join(errors) or None
        if errors:
            log.warning("could not read Slack user groups: %s", self.last_error)
        return True
