"""Runtime settings from the environment. Secrets come from VAR or VAR_FILE, never the catalog,
and their values are never printed: `describe()` says only whether each is set. Which variable
sets what, and how each is read, is in bot/app/env_settings.py (pydantic-settings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.storage.defaults import DEFAULT_URL

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
    """The settings that the environment (or `env`) gives: each variable read and checked by
    bot/app/env_settings.py, then the checks that look at several at once."""
    from bot.app.env_settings import read_environment

    settings = Settings(**read_environment(os.environ if env is None else env))
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
    if settings.session_secret is not None and len(settings.session_secret) < 32:
        raise SettingsError(
            "RELEASEBOT_SESSION_SECRET is too short to sign sign-in cookies: use 32 characters "
            "or more (e.g. `openssl rand -hex 32`)"
        )
    return settings


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable DATABASE_URL>"
