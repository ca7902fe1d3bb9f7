"""A release's status message and its thread, in chat.

The status message is posted once (its ts stored with the row marked sent) and then only
updated: at most once per update interval per message (a trailing throttle kept in the
database), within the workspace's budget of chat.update calls, always rendering the release
as it is now, so the last update shows the latest state. Its thread is posted in order under
it. Both rules hold across replicas (OutboxQueue)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.ports import Chat, Clock, OutboxItem, OutboxQueue, Renderer, Sent
from bot.engine.outbox_pass import UNREACHABLE_PAUSE_S, Deferred, Pass, find_earlier

BUDGET_BURST = 10  # calls a budget allows at once, after a quiet moment


class StatusMessages:
    def __init__(
        self,
        claims: OutboxQueue,
        chat: Chat,
        renderer: Renderer,
        clock: Clock,
        *,
        update_interval_s: float,
        budgets: dict[str, float],
    ) -> None:
        """`budgets`: calls a minute a workspace may make of a method, e.g. chat.update (a
        method without one, or with 0, is not budgeted)."""
        self._claims = claims
        self._chat = chat
        self._renderer = renderer
        self._clock = clock
        self._interval = timedelta(seconds=update_interval_s)
        self._budgets = budgets

    async def status(self, item: OutboxItem, run: Pass) -> None:
        release = await run.release(item)
        message = self._renderer.status(release)
        if release.message_ts is None:
            await run.wait_for(item, "method:chat.postMessage")
            key = f"release-{release.id}-status"
            ts = await find_earlier(
                self._chat, item, release.channel, key, None, release.created_at
            )
            if ts is None:
                ts = await self._chat.post(release.channel, message, thread_ts=None, key=key)
            else:  # an earlier try reached Slack: bring that message up to date
                await self._chat.update(release.channel, ts, message)
            hold = self._throttle(release.channel, ts)
            run.sent(Sent(item, ts, hold, release.id))
            return
        await run.wait_for(item, "method:chat.update")
        await run.wait_for(item, _message_scope(release.channel, release.message_ts))
        await self._within_budget(item, "chat.update", run)
        await self._chat.update(release.channel, release.message_ts, message)
        hold = self._throttle(release.channel, release.message_ts)
        run.sent(Sent(item, release.message_ts, hold))

    async def thread(self, item: OutboxItem, run: Pass) -> None:
        release = await run.release(item)
        if release.message_ts is None:
            if await self._claims.failed_status_posts(release.id):
                await self._claims.give_up(item, "the release's status message was never posted")
            else:
                await self._claims.retry_at(
                    item,
                    self._clock.now() + timedelta(seconds=UNREACHABLE_PAUSE_S),
                    "waiting for the status message",
                    attempt=False,
                )
            return
        message = self._renderer.render(item.template, {**item.context, "release_ref": release.ref})
        ts = await find_earlier(self._chat, item, release.channel, item.key, release.message_ts)
        if ts is None:
            ts = await self._chat.post(
                release.channel, message, thread_ts=release.message_ts, key=item.key
            )
        run.sent(Sent(item, ts))

    async def _within_budget(self, item: OutboxItem, method: str, run: Pass) -> None:
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
        raise Deferred

    def _throttle(self, channel: str, ts: str) -> tuple[str, datetime] | None:
        """The message is not updated again before the update interval is over."""
        if not self._interval:
            return None
        return _message_scope(channel, ts), self._clock.now() + self._interval


def _message_scope(channel: str, ts: str) -> str:
    return f"message:{channel}:{ts}"
