"""Who asked, from where: what every use case needs to know about a command or a click."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    user_id: str
    user_name: str
    channel: str
    key: str
    response_url: str | None = None
    message_ts: str | None = None
    shown_stage: int | None = None  # the stage a clicked button was rendered at
    via: str = "command"

    def describe(self) -> str:
        return f"{self.via} by {self.user_name or self.user_id}"
