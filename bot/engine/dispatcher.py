"""Sends what the outbox owes to chat, exactly once as far as chat allows, and never gives a
message up while it may still go out.

- A release's status message is posted once (its ts stored with the row marked sent) and then
  only updated: at most once per update interval per message (a trailing throttle kept in the
  database), always rendering the release as it is now, so the last update shows the latest
  state. Its thread is posted in order; both rules hold across replicas (OutboxQueue).
- A rate limit (429 + Retry-After) pauses that method for every replica, through the
  database; the wait is not an attempt. A chat service that does not answer, or answers with
  a 5xx page, is tried again with a growing pause up to the kind's deadline (hours for status
  messages and threads); a named error (channel_not_found, ...) is final.
- A row whose earlier try may have reached chat (no answer came) is first looked up by its
  key, so it is not posted twice.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.catalog import Catalog
from bot.core.deployments import deployment_state
from bot.core.ports import (
    Adapters,
    AuditExporter,
    Chat,
    ChatError,
    Clock,
    DeploymentRecord,
    IntegrationError,
    OutboxItem,
    OutboxQueue,
    Renderer,
    Sent,
    StorageUnavailable,
    Target,
)
from bot.core.release import Release
from bot.engine.backoff import backoff_s
from bot.services.progress import Progress

log = logging.getLogger(__name__)

HOUR = 3600
# How long a row is tried again after failures, by kind (a rate-limit wait counts for nothing).
DEADLINES_S = {
    "status": 12 * HOUR,
    "thread": 12 * HOUR,
    "post": 12 * HOUR,
    "mirror": 12 * HOUR,
    "upload": HOUR,
    "respond": 30 * 60,  # a response_url works for 30 minutes
    "ephemeral": 30 * 60,
    "modal": 3,  # a trigger_id works for 3 seconds
}
BACKOFF_CAP_S = 30
BUDGET_BURST = 10  # calls a budget allows at once, after a quiet moment
UNREACHABLE_PAUSE_S = 2
READS = {"status", "thread"}  # kinds of row that render their release
# Which chat method a kind of row calls (None: not a chat call), for rate-limit pauses.
METHODS = {
    "thread": "chat.postMessage",
    "post": "chat.postMessage",
    "ephemeral": "chat.postEphemeral",
    "respond": "response_url",
    "upload": "files.uploadV2",
    "modal": "views.open",
}


@dataclass
class _Pass:
    """What one dispatch pass knows: the holds in force, and whether chat stopped answering."""

    holds: dict[str, datetime]
    unreachable: bool = False
    marks: list[Sent] = field(default_factory=list)
    releases: dict[int, Release] = field(default_factory=dict)  # read once for the pass
    spent: dict[str, datetime] = field(default_factory=dict)  # budgets found spent, until
    over_budget: dict[str, int] = field(default_factory=dict)  # rows deferred, by budget

    def sent(self, mark: Sent) -> None:
        """Marked sent with the others of its wave, in one transaction (`flush`)."""
        self.marks.append(mark)

    def until(self, scope: str, now: datetime) -> datetime | None:
        until = self.holds.get(scope)
        return until if until is not None and until > now else None


class _Deferred(Exception):
    """The row waits (a hold, a missing status message): handled, not failed."""


class OutboxDispatcher:
    def __init__(
        self,
        claims: OutboxQueue,
        progress: Progress,
        chat: Chat,
        renderer: Renderer,
        clock: Clock,
        *,
        update_interval_s: float,
        catalog: Catalog,
        adapters_for: Callable[[str], Adapters],
        exporter: AuditExporter,
        budgets: dict[str, float],
        batch: int = 40,
        concurrency: int = 8,
    ) -> None:
        """`budgets`: calls a minute a workspace may make of a method, e.g. chat.update (a
        method without one, or with 0, is not budgeted)."""
        self._claims = claims
        self._progress = progress
        self._chat = chat
        self._renderer = renderer
        self._clock = clock
        self._interval = timedelta(seconds=update_interval_s)
        self._catalog = catalog
        self._adapters_for = adapters_for
        self._exporter = exporter
        self.batch = batch
        self.concurrency = concurrency
        self._budgets = budgets

    async def dispatch_due(self) -> int:
        """Send what is due. Returns how many rows were claimed. A database outage leaves as
        StorageUnavailable (the worker then hands back what this pass still held).

        Rows go out `concurrency` at a time (the claims let only one status row and one
        thread row of a release be out at once), status messages first, so the threads of
        new releases have their parent. The first row goes alone: if chat does not answer
        it, the others wait a moment untried, so an outage costs one call a pass."""
        run = _Pass(await self._claims.holds())
        items = await self._claims.claim_due(self.batch)
        items.sort(key=lambda item: item.kind != "status")  # stable: claim order otherwise
        run.releases = await self._progress.load_many(
            list({item.release_id for item in items if item.release_id and item.kind in READS})
        )
        limit = asyncio.Semaphore(self.concurrency)

        async def deliver(item: OutboxItem) -> None:
            async with limit:
                if run.unreachable and item.kind != "mirror":
                    await self._claims.retry_at(
                        item, self._after(UNREACHABLE_PAUSE_S), "chat unreachable", attempt=False
                    )
                    return
                await self._deliver(item, run)

        async def deliver_in_turn(group: list[OutboxItem]) -> None:
            for item in group:
                await deliver(item)

        async def flush() -> None:
            marks, run.marks = run.marks, []
            await self._claims.sent_all(marks)

        try:
            if items:
                await deliver(items[0])
                await flush()
            statuses = [item for item in items[1:] if item.kind == "status"]
            await _all(deliver(item) for item in statuses)
            await flush()  # a thread needs its status message's ts stored
            await _all(deliver_in_turn(group) for group in _in_turn(items[1 + len(statuses) :]))
        finally:
            await flush()  # what went out is marked, even when the database failed meanwhile
        return len(items)

    async def _deliver(self, item: OutboxItem, run: _Pass) -> None:
        try:
            await self._send(item, run)
        except _Deferred:
            pass
        except ChatError as exc:
            await self._chat_failed(item, exc, run)
        except IntegrationError as exc:
            await self._backend_failed(item, exc)
        except StorageUnavailable:
            raise
        except Exception as exc:  # a bug in one row must not hold up the others
            log.exception("outbox %s (%s) failed to render or send", item.id, item.kind)
            await self._claims.give_up(item, f"{type(exc).__name__}: {exc}")

    async def _send(self, item: OutboxItem, run: _Pass) -> None:
        method = METHODS.get(item.kind)
        if method is not None:
            await self._wait_for(item, run, f"method:{method}")
        match item.kind:
            case "status":
                await self._status(item, run)
            case "thread":
                await self._thread(item, run)
            case "ephemeral":
                message = self._renderer.render(item.template, item.context)
                await self._chat.post_ephemeral(item.channel, item.user_id, message)
                run.sent(Sent(item))
            case "post":
                message = self._renderer.render(item.template, item.context)
                ts = await self._find_earlier(item, item.channel, item.key, None)
                if ts is None:
                    ts = await self._chat.post(item.channel, message, thread_ts=None, key=item.key)
                run.sent(Sent(item, ts))
            case "respond":
                message = self._renderer.render(item.template, item.context)
                await self._chat.respond(
                    item.response_url, message, replace_original=item.replace_original
                )
                run.sent(Sent(item))
            case "modal":
                await self._modal(item, run)
            case "mirror":
                await self._mirror(item, run)
            case "upload":
                await self._upload(item, run)
            case _:
                await self._claims.give_up(item, f"unknown outbox kind {item.kind!r}")

    async def _wait_for(self, item: OutboxItem, run: _Pass, scope: str) -> None:
        until = run.until(scope, self._clock.now())
        if until is not None:
            await self._claims.retry_at(item, until, f"waiting: {scope}", attempt=False)
            raise _Deferred

    # -- status messages and threads ------------------------------------------------------

    async def _status(self, item: OutboxItem, run: _Pass) -> None:
        release = await self._release(item, run)
        message = self._renderer.status(release)
        if release.message_ts is None:
            await self._wait_for(item, run, "method:chat.postMessage")
            key = f"release-{release.id}-status"
            ts = await self._find_earlier(item, release.channel, key, None, release.created_at)
            if ts is None:
                ts = await self._chat.post(release.channel, message, thread_ts=None, key=key)
            else:  # an earlier try reached Slack: bring that message up to date
                await self._chat.update(release.channel, ts, message)
            hold = self._throttle(release.channel, ts)
            run.sent(Sent(item, ts, hold, release.id))
            return
        await self._wait_for(item, run, "method:chat.update")
        await self._wait_for(item, run, _message_scope(release.channel, release.message_ts))
        await self._within_budget(item, "chat.update", run)
        await self._chat.update(release.channel, release.message_ts, message)
        hold = self._throttle(release.channel, release.message_ts)
        run.sent(Sent(item, release.message_ts, hold))

    async def _within_budget(self, item: OutboxItem, method: str, run: _Pass) -> None:
        """Slack allows a workspace about `per_minute` calls of `method` (chat.update: Tier 3,
        about 50 a minute). Over budget, the row waits, untried: a newer status row then
        supersedes it, so the updates coalesce and the message still ends up as it is.

        Once a pass finds the budget spent it asks no more, and the rows it defers come back
        one budget interval apart rather than all at the moment the budget allows one."""
        per_minute = self._budgets.get(method)
        if not per_minute:
            return
        scope, interval = f"budget:{method}", timedelta(minutes=1) / per_minute
        later = run.spent.get(scope)
        if later is None:
            later = await self._claims.take_budget(scope, interval, BUDGET_BURST)
            if later is None:
                return
            run.spent[scope] = later
        waiting = run.over_budget.get(scope, 0)
        run.over_budget[scope] = waiting + 1
        await self._claims.retry_at(
            item, later + interval * waiting, f"waiting: {method} budget", attempt=False
        )
        raise _Deferred

    def _throttle(self, channel: str, ts: str) -> tuple[str, datetime] | None:
        """The message is not updated again before the update interval is over."""
        if not self._interval:
            return None
        return _message_scope(channel, ts), self._clock.now() + self._interval

    async def _thread(self, item: OutboxItem, run: _Pass) -> None:
        release = await self._release(item, run)
        if release.message_ts is None:
            if await self._claims.failed_status_posts(release.id):
                await self._claims.give_up(item, "the release's status message was never posted")
            else:
                await self._claims.retry_at(
                    item,
                    self._after(UNREACHABLE_PAUSE_S),
                    "waiting for the status message",
                    attempt=False,
                )
            return
        message = self._renderer.render(item.template, {**item.context, "release_ref": release.ref})
        ts = await self._find_earlier(item, release.channel, item.key, release.message_ts)
        if ts is None:
            ts = await self._chat.post(
                release.channel, message, thread_ts=release.message_ts, key=item.key
            )
        run.sent(Sent(item, ts))

    async def _find_earlier(
        self,
        item: OutboxItem,
        channel: str,
        key: str,
        thread_ts: str | None,
        since: datetime | None = None,
    ) -> str | None:
        """A row tried before (attempts > 1) may have reached chat without us hearing back.
        Only a lookup that cannot work at all (no history access) lets it post regardless;
        one that fails for now fails the row for now."""
        if item.attempts <= 1:
            return None
        try:
            return await self._chat.find_posted(
                channel, key, thread_ts=thread_ts, since=since or item.created_at
            )
        except ChatError as exc:
            if not exc.permanent:
                raise
            log.warning("could not look for an earlier post in %s: %s", channel, exc)
            return None

    # -- other kinds ----------------------------------------------------------------------

    async def _modal(self, item: OutboxItem, run: _Pass) -> None:
        expires = datetime.fromisoformat(item.context["expires_at"])
        if self._clock.now() >= expires:
            raise ChatError(
                "views.open: the click is more than 3 seconds old, too late to open a box",
                permanent=True,
                method="views.open",
            )
        view = self._renderer.view(item.template, item.context["view"])
        await self._chat.open_view(item.context["trigger_id"], view)
        run.sent(Sent(item))

    async def _mirror(self, item: OutboxItem, run: _Pass) -> None:
        """Record the release's new state in the deployment system of record, if any."""
        release = await self._release(item)
        adapters = self._adapters_for(release.service)
        if adapters.deployments is None:
            run.sent(Sent(item))
            return
        # The state now, not the one the row was written for: a row retried late must not
        # record "queued" after "success".
        recorded = deployment_state(release)
        if recorded is not None:
            state, description = recorded
            repository = self._catalog.services[release.service].repository
            await adapters.deployments.record(
                DeploymentRecord(
                    target=Target(release.service, release.environment, repository),
                    release_id=release.id,
                    version=release.version_to,
                    state=state,
                    description=description,
                )
            )
        run.sent(Sent(item))

    async def _upload(self, item: OutboxItem, run: _Pass) -> None:
        """Export what an auditor asked for and send it to them, with its manifest."""
        if item.user_id is None:
            await self._claims.give_up(item, "an export with nobody to send it to")
            return
        with tempfile.TemporaryDirectory(prefix="releasebot-export-") as directory:
            files = await self._exporter.export(
                item.context["filters"], item.context["format"], Path(directory)
            )
            message = self._renderer.render(
                item.template, {**item.context, "count": files.count, "signed": files.signed}
            )
            await self._chat.send_files(item.user_id, [files.export, files.manifest], message.text)
        run.sent(Sent(item))

    async def _release(self, item: OutboxItem, run: _Pass | None = None) -> Release:
        """The release as the pass read it, or as it is now when the pass read it before its
        status message was posted (a thread row needs the message's ts)."""
        release = run.releases.get(item.release_id) if run and item.release_id else None
        if release is None or (release.message_ts is None and item.kind != "status"):
            release = await self._progress.load(item.release_id) if item.release_id else None
        if release is None:
            await self._claims.give_up(item, "release not found")
            raise _Deferred
        return release

    # -- failures -------------------------------------------------------------------------

    async def _chat_failed(self, item: OutboxItem, exc: ChatError, run: _Pass) -> None:
        now = self._clock.now()
        if exc.retry_after_s is not None:
            scope = f"method:{exc.method or METHODS.get(item.kind, 'chat')}"
            until = now + timedelta(seconds=exc.retry_after_s)
            run.holds[scope] = max(until, run.holds.get(scope, until))
            await self._claims.retry_at(item, until, str(exc), attempt=False, hold=(scope, until))
            return
        if exc.permanent or self._past_deadline(item, now):
            log.error("outbox %s (%s) given up: %s", item.id, item.kind, exc)
            await self._claims.give_up(item, str(exc))
            await self._tell_requester(item, exc)
            return
        run.unreachable = True
        await self._try_again_later(item, exc)

    async def _backend_failed(self, item: OutboxItem, exc: IntegrationError) -> None:
        if not exc.retryable or self._past_deadline(item, self._clock.now()):
            log.error("outbox %s (%s) given up: %s", item.id, item.kind, exc)
            await self._claims.give_up(item, str(exc))
            return
        await self._try_again_later(item, exc)

    async def _try_again_later(self, item: OutboxItem, exc: Exception) -> None:
        delay = backoff_s(item.attempts, base=1, cap=BACKOFF_CAP_S)
        await self._claims.retry_at(item, self._after(delay), str(exc))

    def _past_deadline(self, item: OutboxItem, now: datetime) -> bool:
        deadline = timedelta(seconds=DEADLINES_S.get(item.kind, HOUR))
        return now - item.created_at >= deadline

    def _after(self, seconds: float) -> datetime:
        return self._clock.now() + timedelta(seconds=seconds)

    async def _tell_requester(self, item: OutboxItem, exc: ChatError) -> None:
        """Say what could not be delivered to the person it concerns, the other way: a status
        message that cannot be posted in a direct message (the channel itself is what failed),
        a reject box that could not open through the click's response_url."""
        try:
            if item.kind == "modal" and item.response_url:
                await self._chat.respond(
                    item.response_url,
                    self._renderer.render(
                        "modal_failed", {"error": str(exc), "ref": item.context["view"]["ref"]}
                    ),
                    replace_original=False,
                )
                return
            if item.kind != "status" or item.release_id is None:
                return
            if await self._claims.failed_status_posts(item.release_id) > 1:
                return  # told already, when its first status post failed
            release = await self._progress.load(item.release_id)
            if release is None:
                return
            message = self._renderer.render(
                "post_failed", {"channel": release.channel, "error": str(exc), "ref": release.ref}
            )
            await self._chat.post(
                release.requested_by,
                message,
                thread_ts=None,
                key=f"release-{release.id}-post-failed",
            )
        except ChatError:
            log.exception("could not tell the requester about outbox %s", item.id)


def _in_turn(items: list[OutboxItem]) -> list[list[OutboxItem]]:
    """Rows of one kind for one release go one after the other, in claim order (the states a
    deployment system records, for instance); the groups go concurrently."""
    groups: dict[object, list[OutboxItem]] = {}
    for item in items:
        key = (item.kind, item.release_id) if item.release_id is not None else item.id
        groups.setdefault(key, []).append(item)
    return list(groups.values())


async def _all(calls) -> None:
    """Await them together; the first failure (StorageUnavailable) is raised once all ended."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _message_scope(channel: str, ts: str) -> str:
    return f"message:{channel}:{ts}"
