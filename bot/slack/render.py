"""Block Kit from jinja2 templates (bot/slack/templates). Each template renders one JSON object
with `text` (the notification fallback) and `blocks`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.core.ports import ChatMessage, Clock
from bot.core.release import Release
from bot.slack import actions
from bot.slack.status_view import status_view


def template_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.slack", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["epoch"] = lambda iso: int(datetime.fromisoformat(iso).timestamp())
    env.filters["mention"] = lambda user_id: f"<@{user_id}>"
    env.globals["actions"] = actions
    return env


class SlackRenderer:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._env = template_environment()

    def status(self, release: Release) -> ChatMessage:
        return self._message("status", {"view": status_view(release, self._clock.now())})

    def render(self, template: str, context: dict[str, Any]) -> ChatMessage:
        return self._message(template, context)

    def view(self, template: str, context: dict[str, Any]) -> dict[str, Any]:
        """A modal or Home tab view."""
        return json.loads(self._env.get_template(f"{template}.j2").render(**context))

    def _message(self, template: str, context: dict[str, Any]) -> ChatMessage:
        rendered = json.loads(self._env.get_template(f"{template}.j2").render(**context))
        return ChatMessage(text=rendered["text"], blocks=rendered["blocks"])
