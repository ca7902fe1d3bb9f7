"""FlagStore for feature-flag releases, against Unleash's Admin API (Unleash 7, open source or
Enterprise): each stage is a real gradual-rollout strategy SDKs evaluate. settings.py holds the
catalog block, flag_store.py what the bot does to a flag, strategies.py how it reads one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.base import BackendContext
from integrations.unleash.flag_store import UnleashFlagStore
from integrations.unleash.settings import UnleashSettings, parse

__all__ = ["UnleashFlagStore", "UnleashSettings", "build"]


def build(settings: Mapping[str, Any], context: BackendContext) -> UnleashFlagStore:
    return UnleashFlagStore(parse(settings, context.env))
