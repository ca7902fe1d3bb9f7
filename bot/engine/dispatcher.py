"""Sends what the outbox owes to chat, exactly once as far as chat allows.

Status messages are posted once (their ts stored with the row marked sent) and then only
updated, coalesced per message with a trailing throttle. A row whose earlier attempt may have
reached chat before a crash is first looked up by its key, so it is not posted twice.
"""

from __future__ import annotations

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
    Target,
)
from bot.core.release import Release
from bot.services.progress import Progress

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class OutboxDispatcher:
    def __init__(
        self,
        claims: OutboxQueue,
        progress: Progress,
        chat: Chat,
        renderer: Renderer,
        clock: Clock,
        *,
        update_interval_s: float = 1.0,
        catalog: Catalog | None = None,
        adapters_for: Callable[[str], Adapters] | None = None,
        exporter: AuditExporter | None = None,
    ) -> None:
        self._exporter = exporter
        self._catalog = catalog
        self._adapters_for = adapters_for
        self._claims = claims
        self._progress = progress
        self._chat = chat
        self._renderer = renderer
        self._clock = clock
        self._interval = timedelta(seconds=update_interval_s)
        self._last_update: dict[tuple[str, str], datetime] = {}
        self._paused_until: datetime | None = None

    async def dispatch_due(self) -> int:
        """Send what is due, unless Slack asked us to wait (429 Retry-After): then nothing is
        claimed until the wait is over, so no other row runs into the same limit."""
        if self._paused_until is not None and self._clock.now() < self._paused_until:
            return 0
        items = await self._claims.claim_due()
        for index, item in enumerate(items):
            if self._paused_until is not None and self._clock.now() < self._paused_until:
                for waiting in items[index:]:
                    await self._claims.retry_at(waiting, self._paused_until, "rate limited")
                break
            try:
                await self._send(item)
            except ChatError as exc:
                await self._failed(item, exc)
            except IntegrationError as exc:
                await self._backend_failed(item, exc)
            except Exception as exc:  # a bug in one row must not block the others
                log.exception("outbox %s (%s) failed to render or send", item.id, item.kind)
                await self._claims.give_up(item, f"{type(exc).__name__}: {exc}")
        return len(items)

    async def _send(self, item: OutboxItem) -> None:
        match item.kind:
            case "status":
                await self._status(item)
            case "thread":
                await self._thread(item)
            case "ephemeral":
                message = self._renderer.render(item.template, item.context)
                await self._chat.post_ephemeral(item.channel, item.user_id, message)
                await self._claims.sent(item)
            case "post":
                message = self._renderer.render(item.template, item.context)
                ts = await self._find_earlier(item, item.channel, item.key, None)
                if ts is None:
                    ts = await self._chat.post(item.channel, message, thread_ts=None, key=item.key)
                await self._claims.sent(item, ts)
            case "respond":
                message = self._renderer.render(item.template, item.context)
                await self._chat.respond(
                    item.response_url, message, replace_original=item.replace_original
                )
                await self._claims.sent(item)
            case "mirror":
                await self._mirror(item)
            case "upload":
                await self._upload(item)
            case _:
                await self._claims.give_up(item, f"unknown outbox kind {item.kind!r}")

    async def _mirror(self, item: OutboxItem) -> None:
        """Record the release's new state in the deployment system of record, if any."""
        release = await self._release(item)
        if release is None:
            return
        adapters = self._adapters_for(release.service) if self._adapters_for else None
        if adapters is None or adapters.deployments is None or self._catalog is None:
            await self._claims.sent(item)
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
        await self._claims.sent(item)

    async def _upload(self, item: OutboxItem) -> None:
        """Export what an auditor asked for and send it to them, with its manifest."""
        if self._exporter is None or item.user_id is None:
            await self._claims.give_up(item, "no audit exporter configured")
            return
        with tempfile.TemporaryDirectory(prefix="releasebot-export-") as directory:
            files = await self._exporter.export(
                item.context["filters"], item.context["format"], Path(directory)
            )
            message = self._renderer.render(
                item.template, {**item.context, "count": files.count, "signed": files.signed}
            )
            await self._chat.send_files(item.user_id, [files.export, files.manifest], message.text)
        await self._claims.sent(item)

    async def _backend_failed(self, item: OutboxItem, exc: IntegrationError) -> None:
        if not exc.retryable or item.attempts >= MAX_ATTEMPTS:
            log.error("outbox %s (%s) given up: %s", item.id, item.kind, exc)
            await self._claims.give_up(item, str(exc))
            return
        delay = min(300, 2**item.attempts)
        await self._claims.retry_at(item, self._clock.now() + timedelta(seconds=delay), str(exc))

    async def _status(self, item: OutboxItem) -> None:
        if await self._claims.newer_status_pending(item):
            await self._claims.sent(item)
            return
        release = await self._release(item)
        if release is None:
            return
        message = self._renderer.status(release)
        if release.message_ts is None:
            key = f"release-{release.id}-status"

            async def post_once() -> str:
                # The status key spans rows: an earlier row may have posted before a crash.
                found = await self._find_posted(release.channel, key, None)
                return found or await self._chat.post(
                    release.channel, message, thread_ts=None, key=key
                )

            ts, posted = await self._claims.first_post(release.id, post_once)
            if not posted:  # another replica posted it meanwhile: bring it up to date
                await self._chat.update(release.channel, ts, message)
            await self._claims.sent(item, ts)
            self._last_update[(release.channel, ts)] = self._clock.now()
            return
        slot = (release.channel, release.message_ts)
        now = self._clock.now()
        last = self._last_update.get(slot)
        if last is not None and now - last < self._interval:
            await self._claims.retry_at(item, last + self._interval)
            return
        await self._chat.update(release.channel, release.message_ts, message)
        self._last_update[slot] = now
        await self._claims.sent(item, release.message_ts)

    async def _thread(self, item: OutboxItem) -> None:
        release = await self._release(item)
        if release is None:
            return
        if release.message_ts is None:
            if item.attempts >= MAX_ATTEMPTS:
                await self._claims.give_up(item, "the release's status message was never posted")
                return
            wait = timedelta(seconds=min(60, 2 ** (item.attempts - 1)))
            await self._claims.retry_at(item, self._clock.now() + wait)
            return
        message = self._renderer.render(item.template, {**item.context, "release_ref": release.ref})
        ts = await self._find_earlier(item, release.channel, item.key, release.message_ts)
        if ts is None:
            ts = await self._chat.post(
                release.channel, message, thread_ts=release.message_ts, key=item.key
            )
        await self._claims.sent(item, ts)

    async def _find_earlier(
        self, item: OutboxItem, channel: str, key: str, thread_ts: str | None
    ) -> str | None:
        """A row claimed before (attempts > 1) may have reached Slack before a crash."""
        if item.attempts <= 1:
            return None
        return await self._find_posted(channel, key, thread_ts)

    async def _find_posted(self, channel: str, key: str, thread_ts: str | None) -> str | None:
        try:
            return await self._chat.find_posted(channel, key, thread_ts=thread_ts)
        except ChatError as exc:  # e.g. no history access: posting is still possible
            log.warning("could not look for an earlier post in %s: %s", channel, exc)
            return None

    async def _release(self, item: OutboxItem) -> Release | None:
        release = await self._progress.load(item.release_id) if item.release_id else None
        if release is None:
            await self._claims.give_up(item, "release not found")
        return release

    async def _failed(self, item: OutboxItem, exc: ChatError) -> None:
        now = self._clock.now()
        if exc.retry_after_s is not None:
            self._paused_until = now + timedelta(seconds=exc.retry_after_s)
            await self._claims.retry_at(item, self._paused_until, str(exc))
            return
        if exc.permanent or item.attempts >= MAX_ATTEMPTS:
            log.error("outbox %s (%s) given up: %s", item.id, item.kind, exc)
            await self._claims.give_up(item, str(exc))
            await self._tell_requester(item, exc)
            return
        delay = min(300, 2**item.attempts)
        await self._claims.retry_at(item, now + timedelta(seconds=delay), str(exc))

    async def _tell_requester(self, item: OutboxItem, exc: ChatError) -> None:
        """A status message that cannot be posted is explained to whoever asked, in a direct
        message (the channel itself is what failed)."""
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
        try:
            await self._chat.post(
                release.requested_by,
                message,
                thread_ts=None,
                key=f"release-{release.id}-post-failed",
            )
        except ChatError:
            log.exception("could not tell the requester about outbox %s", item.id)
