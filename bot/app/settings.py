"""Runtime settings from the environment. Secrets come from VAR or VAR_FILE, never the catalog,
and their values are never printed: `describe()` says only whether each is set."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bot.storage.defaults import DEFAULT_URL

N = TypeVar("N", int, float)

# The worked example ships inside the package, so `serve` finds it from any directory.
DEFAULT_CATALOG = Path(__file__).resolve().parent / "releasebot.example.yaml"


class SettingsError(ValueError):
    pass


ROLES = {
    "all": "all (answers Slack and works the engine)",
    "web": "web (answers Slack and writes requests down; an engine elsewhere works them)",
    "engine": "engine (works requests, stages and messages; answers HTTP too)",
}


def check_role(settings: Settings) -> None:
    if settings.role not in ROLES:
        raise SettingsError(
            f"RELEASEBOT_ROLE={settings.role!r}: use all (the default), web or engine"
        )
    if settings.role != "all" and settings.database_url.startswith("sqlite"):
        raise SettingsError(
            f"RELEASEBOT_ROLE={settings.role} needs PostgreSQL: SQLite is for one process, "
            "which then does everything (RELEASEBOT_ROLE=all)"
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default=DEFAULT_URL, repr=False)
    catalog_path: Path = DEFAULT_CATALOG
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str = ""
    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_team_id: str | None = None
    oidc_issuer: str = "https://slack.com"
    session_secret: str | None = field(default=None, repr=False)
    tick_seconds: float = 1.0
    update_interval_s: float = 1.0
    chat_updates_per_minute: float = 40.0
    status_refresh_s: float = 15.0
    slack_timeout_s: float = 5.0
    inbox_deadline_s: float = 900.0
    shutdown_grace_s: float = 15.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int = 4000
    replica_id: str = ""
    role: str = "all"
    engine_niceness: int = 10
    log_level: str = "INFO"

    @property
    def mode(self) -> str:
        """local (the stand-in), http (Events API) or socket (Socket Mode)."""
        if self.bot_token and self.app_token:
            return "socket"
        if self.bot_token and self.signing_secret:
            return "http"
        return "local"

    def describe(self) -> dict[str, str]:
        return {
            "mode": self.mode,
            "database": _redact_url(self.database_url),
            "catalog": str(self.catalog_path),
            "listen": f"{self.host}:{self.port}",
            "role": ROLES[self.role],
            "SLACK_BOT_TOKEN": "set" if self.bot_token else "not set",
            "SLACK_SIGNING_SECRET": "set" if self.signing_secret else "not set",
            "SLACK_APP_TOKEN": "set" if self.app_token else "not set",
            "Sign in with Slack": f"on ({self.oidc_issuer})" if self.signs_in_with_slack else "off",
        }

    @property
    def signs_in_with_slack(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)


def from_environment(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    settings = Settings(
        database_url=env.get("DATABASE_URL", DEFAULT_URL),
        catalog_path=Path(env.get("RELEASEBOT_CATALOG", str(DEFAULT_CATALOG))),
        host=env.get("RELEASEBOT_HOST", "127.0.0.1"),
        port=_int(env, "PORT", 3000),
        public_url=env.get("RELEASEBOT_PUBLIC_URL", ""),
        bot_token=_secret(env, "SLACK_BOT_TOKEN"),
        signing_secret=_secret(env, "SLACK_SIGNING_SECRET"),
        app_token=_secret(env, "SLACK_APP_TOKEN"),
        slack_api_url=env.get("SLACK_API_URL") or None,
        slack_client_id=env.get("SLACK_CLIENT_ID") or None,
        slack_client_secret=_secret(env, "SLACK_CLIENT_SECRET"),
        slack_team_id=env.get("SLACK_TEAM_ID") or None,
        oidc_issuer=env.get("RELEASEBOT_OIDC_ISSUER") or "https://slack.com",
        session_secret=_secret(env, "RELEASEBOT_SESSION_SECRET"),
        tick_seconds=float(env.get("RELEASEBOT_TICK_SECONDS", "1")),
        update_interval_s=float(env.get("RELEASEBOT_UPDATE_INTERVAL_SECONDS", "1")),
        chat_updates_per_minute=_per_minute(env, "RELEASEBOT_CHAT_UPDATES_PER_MINUTE", 40.0),
        status_refresh_s=float(env.get("RELEASEBOT_STATUS_REFRESH_SECONDS", "15")),
        slack_timeout_s=_seconds(env, "RELEASEBOT_SLACK_TIMEOUT_SECONDS", 5.0),
        inbox_deadline_s=_seconds(env, "RELEASEBOT_INBOX_DEADLINE_SECONDS", 900.0),
        shutdown_grace_s=_seconds(env, "RELEASEBOT_SHUTDOWN_GRACE_SECONDS", 15.0),
        header_timeout_s=_seconds(env, "RELEASEBOT_HEADER_TIMEOUT_SECONDS", 10.0),
        body_timeout_s=_seconds(env, "RELEASEBOT_BODY_TIMEOUT_SECONDS", 10.0),
        max_connections=_int(env, "RELEASEBOT_MAX_CONNECTIONS", 4000),
        replica_id=env.get("RELEASEBOT_REPLICA_ID", "") or env.get("HOSTNAME", ""),
        role=env.get("RELEASEBOT_ROLE", "all").strip().lower() or "all",
        engine_niceness=_int(env, "RELEASEBOT_ENGINE_NICENESS", 10),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
    )
    check_role(settings)
    if settings.app_token and not settings.bot_token:
        raise SettingsError(
            "SLACK_APP_TOKEN is set without SLACK_BOT_TOKEN: Socket Mode needs both"
        )
    if settings.bot_token and not (settings.signing_secret or settings.app_token):
        raise SettingsError(
            "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor "
            "SLACK_APP_TOKEN (Socket Mode) is"
        )
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        raise SettingsError(
            "Sign in with Slack needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "(the app's Basic Information page shows them)"
        )
    if settings.signs_in_with_slack and not settings.public_url.startswith(("https://", "http://")):
        raise SettingsError(
            "Sign in with Slack needs RELEASEBOT_PUBLIC_URL, the address people reach the bot "
            "at (https://...): Slack sends them back to it"
        )
    if settings.max_connections < 1:
        raise SettingsError(
            f"RELEASEBOT_MAX_CONNECTIONS={settings.max_connections}: let in at least 1"
        )
    if settings.session_secret is not None and len(settings.session_secret) < 32:
        raise SettingsError(
            "RELEASEBOT_SESSION_SECRET is too short to sign sign-in cookies: use 32 characters "
            "or more (e.g. `openssl rand -hex 32`)"
        )
    return settings


def _secret(env: Mapping[str, str], name: str) -> str | None:
    if value := env.get(name):
        return value.strip()
    if path := env.get(f"{name}_FILE"):
        try:
            return Path(path).read_text().strip() or None
        except OSError as exc:
            raise SettingsError(f"{name}_FILE={path}: cannot read it ({exc.strerror})") from exc
    return None


def _number(
    env: Mapping[str, str],
    name: str,
    default: N,
    parse: Callable[[str], N],
    what: str,
    allowed: Callable[[N], bool] = lambda _value: True,
    hint: str = "",
) -> N:
    """`name`'s value read with `parse` (unset or empty: `default`); SettingsError naming the
    variable when it is not `what`, or not `allowed` (then with `hint`)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not {what}") from exc
    if not allowed(value):
        raise SettingsError(f"{name}={raw!r}: {hint}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a number")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(
        env,
        name,
        default,
        float,
        "a number of seconds",
        lambda value: 0 < value < 86400 * 7,
        "give a number of seconds above 0",
    )


def _per_minute(env: Mapping[str, str], name: str, default: float) -> float:
    """A rate; 0 turns the limit off."""
    return _number(
        env,
        name,
        default,
        float,
        "a number of calls a minute",
        lambda value: 0 <= value < 1_000_000,
        "give a number of calls a minute, 0 for no limit",
    )


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable DATABASE_URL>"
