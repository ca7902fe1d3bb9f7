"""The catalog block of a webhook backend, read and checked (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from yarl import URL

from bot.core.durations import parse_duration
from bot.core.webhook_signature import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from integrations.base import SettingsProblem, reject_unknown, required, secret

Mode = Literal["sync", "callback"]
MANAGED_HEADERS = frozenset(
    name.lower() for name in (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, "Content-Type")
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
KNOWN_SETTINGS = frozenset(
    {
        "url",
        "secret_env",
        "secret_file",
        "mode",
        "timeout_s",
        "callback_timeout_s",
        "version_url",
        "health_url",
        "headers",
    }
)


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: bytes = field(repr=False)
    mode: Mode = "sync"
    timeout_s: float = 10.0
    callback_timeout_s: float = 1800.0
    version_url: str | None = None
    health_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_catalog(cls, settings: Mapping[str, Any], env: Mapping[str, str]) -> WebhookSettings:
        reject_unknown(settings, KNOWN_SETTINGS, "webhook backend")
        return cls(
            url=_http_url("url", required(settings, "url", "webhook")),
            secret=_signing_secret(settings, env),
            mode=_mode(settings),
            timeout_s=_seconds(settings, "timeout_s", 10.0),
            callback_timeout_s=_seconds(settings, "callback_timeout_s", 1800.0),
            version_url=_optional_url(settings, "version_url"),
            health_url=_optional_url(settings, "health_url"),
            headers=_extra_headers(settings),
        )


def _signing_secret(settings: Mapping[str, Any], env: Mapping[str, str]) -> bytes:
    value = secret(settings, "secret", env)
    if not value:
        raise SettingsProblem(
            "a webhook backend needs `secret_env` or `secret_file`: the key it signs requests "
            "with and checks callbacks against"
        )
    return value.encode()


def _mode(settings: Mapping[str, Any]) -> Mode:
    mode = settings.get("mode", "sync")
    if mode not in ("sync", "callback"):
        raise SettingsProblem(f"webhook `mode` is {mode!r}; use sync or callback")
    return mode


def _http_url(name: str, value: Any) -> str:
    parsed = URL(str(value)) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise SettingsProblem(f"webhook `{name}` must be an http:// or https:// URL")
    if parsed.user or parsed.password:
        raise SettingsProblem(
            f"webhook `{name}` must not carry credentials; the request is signed with the "
            "secret from `secret_env` / `secret_file`"
        )
    return value


def _optional_url(settings: Mapping[str, Any], name: str) -> str | None:
    value = settings.get(name)
    return None if value in (None, "") else _http_url(name, value)


def _seconds(settings: Mapping[str, Any], name: str, default: float) -> float:
    value = settings.get(name, default)
    try:
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        seconds = 0
    if isinstance(value, bool) or seconds <= 0:
        raise SettingsProblem(f"webhook `{name}` must be a positive number of seconds")
    return seconds


def _extra_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    headers = settings.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise SettingsProblem("webhook `headers` must map header names to strings")
    for header in headers:
        if header.lower() in SECRET_HEADERS:
            raise SettingsProblem(
                f"webhook `headers` must not set {header}: the catalog holds no secrets; the "
                "signature made with `secret_env` / `secret_file` authenticates the bot"
            )
        if header.lower() in MANAGED_HEADERS:
            raise SettingsProblem(f"webhook `headers` must not set {header}: the bot sets it")
    return dict(headers)
