"""How a flag's strategies in one Unleash environment are read: which one the bot manages, and
what percent of users the environment lets in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ROLLOUT_STRATEGY = "flexibleRollout"


def managed_strategy(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The environment's first flexibleRollout strategy: the one the bot widens."""
    candidates = [s for s in state.get("strategies") or [] if s.get("name") == ROLLOUT_STRATEGY]
    candidates.sort(key=lambda s: s.get("sortOrder") or 0)
    return as_dict(candidates[0]) if candidates else None


def current_percent(state: Mapping[str, Any]) -> int | None:
    if not state.get("enabled"):
        return None
    strategy = managed_strategy(state)
    if strategy is not None and not strategy.get("disabled"):
        return percent_of(strategy)
    active = [s for s in state.get("strategies") or [] if not s.get("disabled")]
    return 100 if not active or any(_lets_everyone_in(s) for s in active) else 0


def _lets_everyone_in(strategy: Mapping[str, Any]) -> bool:
    return strategy.get("name") == "default" and not strategy.get("constraints")


def percent_of(strategy: Mapping[str, Any]) -> int | None:
    try:
        return int(float(as_dict(strategy.get("parameters")).get("rollout", 100)))
    except (TypeError, ValueError):
        return None


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
