"""Releases in memory, kept as the rows SQL would keep (release_codec), so what reads back is
what SQL would give."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from bot.core import dora
from bot.core.ports import ConcurrentUpdate, LockHeld
from bot.core.release import ACTIVE_STATES, Release, State
from bot.storage import release_codec
from bot.storage.memory.tables import Tables


def decode(row: dict[str, Any]) -> Release:
    return release_codec.from_row(SimpleNamespace(**row))


class MemoryReleases:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._revisions: dict[int, int] = {}

    async def add(self, release: Release) -> Release:
        values = release_codec.row_values(release)
        self._check_lock(None, values)
        new_id = self._tables.new_id("releases")
        self._tables.releases[new_id] = {
            **values,
            "id": new_id,
            "revision": 0,
            "attempts": 0,
            "claimed": False,
        }
        self._revisions[new_id] = 0
        return replace(release, id=new_id)

    async def get(self, release_id: int, *, for_update: bool = False) -> Release | None:
        return self._read(self._tables.releases.get(release_id))

    async def get_many(self, release_ids: Sequence[int]) -> dict[int, Release]:
        found = (self._read(self._tables.releases.get(i)) for i in release_ids)
        return {release.id: release for release in found if release and release.id}

    async def save(self, release: Release) -> None:
        assert release.id is not None
        revision = self._revisions.get(release.id)
        if revision is None:
            raise ConcurrentUpdate(f"release {release.ref} was saved without being read first")
        stored = self._tables.releases.get(release.id)
        if stored is None or stored["revision"] != revision:
            raise ConcurrentUpdate(f"release {release.ref} changed while it was being updated")
        values = release_codec.row_values(release)
        values.pop("message_ts")  # the outbox owns it once posted (as in SqlReleases.save)
        self._check_lock(release.id, values)
        self._tables.releases[release.id] = {**stored, **values, "revision": revision + 1}
        self._revisions[release.id] = revision + 1

    async def active_for(self, service: str, environment: str) -> Release | None:
        return self._newest(
            lambda r: (
                r["service"] == service
                and r["environment"] == environment
                and State(r["state"]) in ACTIVE_STATES
            )
        )

    async def latest_for(self, service: str, environment: str) -> Release | None:
        return self._newest(
            lambda r: (
                r["service"] == service
                and r["environment"] == environment
                and r["state"] != State.REJECTED.value
            )
        )

    async def has_succeeded(self, service: str, environment: str, version: str) -> bool:
        return any(
            r["service"] == service
            and r["environment"] == environment
            and r["version_to"] == version
            and r["state"] == State.SUCCEEDED.value
            for r in self._tables.releases.values()
        )

    async def deployed_for(self, service: str, environment: str) -> Release | None:
        return self._newest(
            lambda r: (
                r["service"] == service and r["environment"] == environment and r["moved_traffic"]
            )
        )

    async def active(self) -> Sequence[Release]:
        return self._select(lambda r: State(r["state"]) in ACTIVE_STATES)

    async def history(
        self, service: str | None, environment: str | None, limit: int
    ) -> Sequence[Release]:
        matching = self._select(
            lambda r: (
                (not service or r["service"] == service)
                and (not environment or r["environment"] == environment)
            )
        )
        return matching[::-1][:limit]

    async def finished_in(
        self, environments: Sequence[str], since: datetime, service: str | None
    ) -> Sequence[Release]:
        return self._select(
            lambda r: (
                r["environment"] in environments
                and r["finished_at"] is not None
                and r["finished_at"] >= since
                and (not service or r["service"] == service)
            )
        )

    async def dora_totals(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> dora.DoraTotals:
        return dora.totals(self._facts(environments), since=since, until=until, service=service)

    async def dora_weeks(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> list[dict]:
        facts = [f for f in self._facts(environments) if not service or f.service == service]
        return dora.weeks(facts, since, until)

    async def last_good_version(self, service: str, environment: str) -> str | None:
        succeeded = [
            r
            for r in self._tables.releases.values()
            if r["service"] == service
            and r["environment"] == environment
            and r["state"] == State.SUCCEEDED.value
        ]
        newest = max(succeeded, key=_finish_order, default=None)
        return newest["version_to"] if newest else None

    def _facts(self, environments: Sequence[str]) -> list[dora.ReleaseFacts]:
        rows = self._tables.releases.values()
        return [dora.ReleaseFacts.of(decode(r)) for r in rows if r["environment"] in environments]

    def _check_lock(self, release_id: int | None, values: dict[str, Any]) -> None:
        key = values["lock_key"]
        if key is None:
            return
        for other in self._tables.releases.values():
            if other["id"] != release_id and other["lock_key"] == key:
                raise LockHeld(key)

    def _select(self, where: Callable[[dict[str, Any]], bool]) -> list[Release]:
        return [self._read(r) for r in sorted_rows(self._tables) if where(r)]  # type: ignore[misc]

    def _newest(self, where: Callable[[dict[str, Any]], bool]) -> Release | None:
        for row in reversed(sorted_rows(self._tables)):
            if where(row):
                return self._read(row)
        return None

    def _read(self, row: dict[str, Any] | None) -> Release | None:
        if row is None:
            return None
        self._revisions[row["id"]] = row["revision"]
        return decode(row)


def _finish_order(row: dict[str, Any]) -> tuple:
    return (row["finished_at"], row["id"])  # a succeeded release has always finished


def sorted_rows(tables: Tables) -> list[dict[str, Any]]:
    return [tables.releases[i] for i in sorted(tables.releases)]
