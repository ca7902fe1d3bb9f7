"""The catalog's `notify:` plan: which channels hear which of a release's events."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")

Event = Literal[
    "requested", "scheduled", "approved", "started", "succeeded", "failed", "rolled_back", "refused"
]
EVENTS: tuple[str, ...] = Event.__args__  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelRule(_Strict):
    channel: str  # a Slack channel ID
    events: tuple[Event, ...] = Field(min_length=1)

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, channel: str) -> str:
        if not CHANNEL_ID.match(channel):
            raise ValueError(
                f"{channel!r} is not a Slack channel ID like C0123ABCD (a channel's details "
                "show it at the bottom)"
            )
        return channel


class NotifyPlan(_Strict):
    """`notify:` of an environment, or a service's own per environment."""

    channels: tuple[ChannelRule, ...] = ()

    def announcements(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(channel, events) pairs, as a release keeps them."""
        return tuple((rule.channel, tuple(rule.events)) for rule in self.channels)
