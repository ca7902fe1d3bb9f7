"""The catalog block of an unleash backend, read and checked.

Catalog block:
  backends:
    flags:
      type: unleash
      settings:
        url: https://unleash.example.com     # the base URL (not the SDKs' .../api URL)
        token_env: UNLEASH_ADMIN_TOKEN       # or token_file: an admin or personal API token
        project: default                     # the Unleash project holding the flags
        environments: {staging: development} # bot environment -> Unleash environment
                                             #   (unmapped ones keep their own name)
        create_missing: false                # true: create an absent flag as a "release" flag
        stickiness: default                  # for the strategies the bot creates
        timeout_s: 10
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.ports import Target
from integrations.base import SettingsProblem, reject_unknown, secret, text_setting

NAME = "unleash"
KNOWN_SETTINGS = frozenset(
    {
        "url",
        "project",
        "token_env",
        "token_file",
        "environments",
        "create_missing",
        "stickiness",
        "timeout_s",
    }
)


@dataclass(frozen=True)
class UnleashSettings:
    url: str
    token: str = field(repr=False)  # never in logs
    project: str = "default"
    environments: Mapping[str, str] = field(default_factory=dict)
    create_missing: bool = False
    stickiness: str = "default"
    timeout_s: float = 10.0

    def environment_for(self, target: Target) -> str:
        return self.environments.get(target.environment, target.environment)


def parse(settings: Mapping[str, Any], env: Mapping[str, str]) -> UnleashSettings:
    """SettingsProblem when the catalog's settings cannot work."""
    reject_unknown(settings, KNOWN_SETTINGS, NAME)
    return UnleashSettings(
        url=_url(settings),
        token=_token(settings, env),
        project=_text(settings, "project", "default"),
        environments=_environments(settings),
        create_missing=_flag(settings, "create_missing"),
        stickiness=_text(settings, "stickiness", "default"),
        timeout_s=_timeout(settings),
    )


def _url(settings: Mapping[str, Any]) -> str:
    if not settings.get("url"):
        raise SettingsProblem(f"an {NAME} backend needs `url` in its settings: Unleash's base URL")
    url = str(settings["url"]).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise SettingsProblem(f"{NAME} `url` must start with http:// or https://, not {url!r}")
    return url


def _token(settings: Mapping[str, Any], env: Mapping[str, str]) -> str:
    token = secret(settings, "token", env)
    if not token:
        raise SettingsProblem(
            f"an {NAME} backend needs `token_env` or `token_file`: an admin or personal API token"
        )
    return token


def _text(settings: Mapping[str, Any], name: str, default: str) -> str:
    return text_setting(settings, name, default, NAME)


def _environments(settings: Mapping[str, Any]) -> dict[str, str]:
    mapping = settings.get("environments") or {}
    if not isinstance(mapping, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in mapping.items()
    ):
        raise SettingsProblem(
            f"{NAME} `environments` maps bot environments to Unleash environment names, "
            "e.g. {staging: development}"
        )
    return {k: v.strip() for k, v in mapping.items()}


def _flag(settings: Mapping[str, Any], name: str) -> bool:
    value = settings.get(name, False)
    if not isinstance(value, bool):
        raise SettingsProblem(f"{NAME} `{name}` must be true or false")
    return value


def _timeout(settings: Mapping[str, Any]) -> float:
    value = settings.get("timeout_s", 10)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SettingsProblem(f"{NAME} `timeout_s` must be a positive number of seconds")
    return float(value)
