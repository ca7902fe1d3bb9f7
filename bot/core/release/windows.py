"""A rollout meets the end of its deploy window: it pauses until the next one opens, or goes on
to the end, as the catalog says (`when_window_closes`), and says so in its thread."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.core.release.events import WindowClosed, WindowOpened
from bot.core.release.facts import Fact
from bot.core.release.model import InvalidTransition, Release, State
from bot.core.release.moves import require
from bot.core.wording import slack_time


def _window_closed(r: Release, e: WindowClosed, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.RUNNING}, "act on its deploy window closing")
    if r.window_noted:
        raise InvalidTransition(f"Release {r.ref} was told its deploy window closed already.")
    if not e.pause:
        summary = (
            "The deploy window closed; the rollout goes on to its end (when_window_closes: finish)"
        )
        return replace(r, window_noted=True), [Fact("release.window_closed", summary)]
    until = (
        f"until the next opens {slack_time(e.next_opens)}"
        if e.next_opens
        else "and no window opens within a week: resume it by hand"
    )
    paused = replace(
        r,
        state=State.PAUSED,
        paused_by=None,
        window_noted=True,
        window_paused=True,
        due_at=e.next_opens,
    )
    return paused, [Fact("release.window_closed", f"The deploy window closed; paused {until}")]


def _window_opened(r: Release, e: WindowOpened, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.PAUSED}, "resume it as its window opens")
    if not r.window_paused:
        raise InvalidTransition(f"Release {r.ref} was paused by a person; it waits for them.")
    resumed = replace(r, state=State.RUNNING, window_paused=False, due_at=now)
    return resumed, [Fact("release.window_opened", "A deploy window opened; resuming")]


HANDLERS: dict[type, Any] = {WindowClosed: _window_closed, WindowOpened: _window_opened}
