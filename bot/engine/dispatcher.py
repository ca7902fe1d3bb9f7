"""Sends what the outbox owes to chat, exactly once as far as chat allows, and never gives a
message up while it may still go out.

- A release's status message is posted once, then updated, throttled and budgeted; its thread
  is posted in order under it (bot/engine/status_messages.py).
- A rate limit (429 + Retry-After) pauses that method for every replica, through the
  database; the wait is not an attempt. A chat service that does not answer, or answers with
  a 5xx page, is tried again with a growing pause up to the kind's deadline (hours for status
  messages and threads); a named error (channel_not_found, ...) is final.
- A row whose earlier try may have reached chat (no answer came) is first looked up by its
  key, so it is not posted twice (bot/engine/outbox_pass.py, with what one pass knows).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
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
from bot.engine.backoff import backoff_s
from bot.engine.outbox_pass import UNREACHABLE_PAUSE_S, Deferred, Pass, find_earlier
from bot.engine.status_messages import StatusMessages
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
        """`update_interval_s` and `budgets` are the status messages' (StatusMessages)."""
        self._claims = claims
        self._progress = progress
        self._chat = chat
        self._renderer = renderer
        self._clock = clock
        self._messages = StatusMessages(
            claims, chat, renderer, clock, update_interval_s=update_interval_s, budgets=budgets
        )
        self._catalog = catalog
        self._adapters_for = adapters_for
        self._exporter = exporter
        self.batch = batch
        self.concurrency = concurrency

    async def dispatch_due(self) -> int:
        """Send what is due. Returns how many rows were claimed. A database outage leaves as
        StorageUnavailable (the worker then hands back what this pass still held).

        Rows go out `concurrency` at a time (the claims let only one status row and one
        thread row of a release be out at once), status messages first, so the threads of
        new releases have their parent. The first row goes alone: if chat does not answer
        it, the others wait a moment untried, so an outage costs one call a pass."""
        run = Pass(self._claims, self._progress, self._clock, await self._claims.holds())
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

    async def _deliver(self, item: OutboxItem, run: Pass) -> None:
        try:
            await self._send(item, run)
        except Deferred:
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

    async def _send(self, item: OutboxItem, run: Pass) -> None:
        method = METHODS.get(item.kind)
        if method is not None:
            await run.wait_for(item, f"method:{method}")
        match item.kind:
            case "status":
                await self._messages.status(item, run)
            case "thread":
                await self._messages.thread(item, run)
            case "ephemeral":
                message = self._renderer.render(item.template, item.context)
                await self._chat.post_ephemeral(item.channel, item.user_id, message)
                run.sent(Sent(item))
            case "post":
                message = self._renderer.render(item.template, item.context)
                ts = await find_earlier(self._chat, item, item.channel, item.key, None)
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

    # -- other kinds ----------------------------------------------------------------------

    async def _modal(self, item: OutboxItem, run: Pass) -> None:
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

    async def _mirror(self, item: OutboxItem, run: Pass) -> None:
        """Record the release's new state in the deployment system of record, if any."""
        release = await run.release(item, now=True)
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

    async def _upload(self, item: OutboxItem, run: Pass) -> None:
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

    # -- failures -------------------------------------------------------------------------

    async def _chat_failed(self, item: OutboxItem, exc: ChatError, run: Pass) -> None:
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
