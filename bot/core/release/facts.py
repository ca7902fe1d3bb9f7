"""Facts: what a transition found worth telling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fact:
    """Something worth telling: `kind` is stable (the audit action), `summary` is plain English
    (people appear as <@USERID> mentions, which chat and pages render as names), `details`
    carries measured values. `notify` says whether it is worth a line in the release thread."""

    kind: str
    summary: str
    actor: str | None = None
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)
    notify: bool = True
    rule: str = ""  # the policy rule behind it, when one decided it
