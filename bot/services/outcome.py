"""What came of a use case: done or refused, in a sentence, and the release it was about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""
    release_id: int | None = None
