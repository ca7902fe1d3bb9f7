"""The environment variables releasebot reads, as a pydantic-settings model: each variable's name,
type and what a bad value is told. A secret may instead be given as a file (`<NAME>_FILE`), read by
a source of its own. Kept apart from bot/app/settings.py so that `releasebot --help` (which
imports that module) does not load pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.app.settings import SettingsError

# The variables being read: sources are made by the class, so they cannot be handed a mapping.
_READING: ContextVar[Mapping[str, str]] = ContextVar("releasebot_environment")


@dataclass(frozen=True)
class Told:
    """What a bad value is told: `NAME='x' is not <what>`, or `NAME='x': <hint>` when it is
    out of range."""

    what: str
    hint: str = ""


class Secret:
    """Marks a variable that may be given as a file instead (`<NAME>_FILE`)."""


def _stripped(value: str) -> str | None:
    return value.strip() or None


def _folded(value: str) -> str | None:
    return value.strip().lower() or None


# None: the variable is unset or empty.
Text = str | None
Number = Annotated[int | None, Told("a number")]
Seconds = Annotated[float | None, Told("a number of seconds")]
Timeout = Annotated[
    float | None,
    Field(gt=0, lt=86400 * 7),
    Told("a number of seconds", "give a number of seconds above 0"),
]
PerMinute = Annotated[
    float | None,
    Field(ge=0, lt=1_000_000),
    Told("a number of calls a minute", "give a number of calls a minute, 0 for no limit"),
]
Connections = Annotated[int | None, Field(ge=1), Told("a number", "let in at least 1")]
SecretText = Annotated[str | None, AfterValidator(_stripped), Secret()]


def _var(name: str, *fallbacks: str) -> Any:
    return Field(None, validation_alias=AliasChoices(name, *fallbacks) if fallbacks else name)


class EnvironmentSettings(BaseSettings):
    """Every field is None when its variable is unset or empty: Settings then keeps its default."""

    model_config = SettingsConfigDict(frozen=True, validate_default=False)

    database_url: Text = _var("DATABASE_URL")
    catalog_path: Path | None = _var("RELEASEBOT_CATALOG")
    host: Text = _var("RELEASEBOT_HOST")
    port: Number = _var("PORT")
    public_url: Text = _var("RELEASEBOT_PUBLIC_URL")
    bot_token: SecretText = _var("SLACK_BOT_TOKEN")
    signing_secret: SecretText = _var("SLACK_SIGNING_SECRET")
    app_token: SecretText = _var("SLACK_APP_TOKEN")
    slack_api_url: Text = _var("SLACK_API_URL")
    slack_client_id: Text = _var("SLACK_CLIENT_ID")
    slack_client_secret: SecretText = _var("SLACK_CLIENT_SECRET")
    slack_team_id: Text = _var("SLACK_TEAM_ID")
    oidc_issuer: Text = _var("RELEASEBOT_OIDC_ISSUER")
    session_secret: SecretText = _var("RELEASEBOT_SESSION_SECRET")
    tick_seconds: Seconds = _var("RELEASEBOT_TICK_SECONDS")
    update_interval_s: Seconds = _var("RELEASEBOT_UPDATE_INTERVAL_SECONDS")
    chat_updates_per_minute: PerMinute = _var("RELEASEBOT_CHAT_UPDATES_PER_MINUTE")
    status_refresh_s: Seconds = _var("RELEASEBOT_STATUS_REFRESH_SECONDS")
    slack_timeout_s: Timeout = _var("RELEASEBOT_SLACK_TIMEOUT_SECONDS")
    inbox_deadline_s: Timeout = _var("RELEASEBOT_INBOX_DEADLINE_SECONDS")
    shutdown_grace_s: Timeout = _var("RELEASEBOT_SHUTDOWN_GRACE_SECONDS")
    header_timeout_s: Timeout = _var("RELEASEBOT_HEADER_TIMEOUT_SECONDS")
    body_timeout_s: Timeout = _var("RELEASEBOT_BODY_TIMEOUT_SECONDS")
    max_connections: Connections = _var("RELEASEBOT_MAX_CONNECTIONS")
    replica_id: Text = _var("RELEASEBOT_REPLICA_ID", "HOSTNAME")
    role: Annotated[Text, AfterValidator(_folded)] = _var("RELEASEBOT_ROLE")
    engine_niceness: Number = _var("RELEASEBOT_ENGINE_NICENESS")
    log_level: Annotated[Text, AfterValidator(str.upper)] = _var("LOG_LEVEL")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return VariablesSource(settings_cls), SecretFilesSource(settings_cls)


def read_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings that `env` gives (field name: value); SettingsError names each variable
    whose value cannot be used, and why."""
    token = _READING.set(env)
    try:
        return EnvironmentSettings().model_dump(exclude_none=True)
    except ValidationError as exc:
        raise SettingsError("; ".join(_told(error) for error in exc.errors())) from None
    finally:
        _READING.reset(token)


def variables(field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    return list(alias.choices) if isinstance(alias, AliasChoices) else [str(alias)]


class _FromVariables(PydanticBaseSettingsSource):
    """A source whose fields' values come from the variables being read (None: not given)."""

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields.items()
        found = (self.get_field_value(field, name) for name, field in fields)
        return {key: value for value, key, _complex in found if value is not None}


class VariablesSource(_FromVariables):
    """Each field from the first of its variables that is set and not empty."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env = _READING.get()
        for name in variables(field):
            if value := env.get(name):
                return value, name, False
        return None, field_name, False


class SecretFilesSource(_FromVariables):
    """A secret's value from the file that `<NAME>_FILE` names (for mounted secrets). Setting
    both `<NAME>` and `<NAME>_FILE`, or naming a file that cannot be read, is a SettingsError."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if not any(isinstance(m, Secret) for m in field.metadata):
            return None, field_name, False
        env = _READING.get()
        (name,) = variables(field)
        path = env.get(f"{name}_FILE")
        if not path:
            return None, name, False
        if env.get(name):
            raise SettingsError(f"{name} and {name}_FILE are both set: set only one of them")
        try:
            return Path(path).read_text(), name, False
        except OSError as exc:
            raise SettingsError(f"{name}_FILE={path}: cannot read it ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{name}_FILE={path}: cannot read it (not text)") from exc


def _told(error: Any) -> str:
    (name,) = error["loc"][:1]
    told = next(
        m
        for field in EnvironmentSettings.model_fields.values()
        if name in variables(field)
        for m in field.metadata
        if isinstance(m, Told)
    )
    raw = error["input"]
    if error["type"].endswith("_parsing"):
        return f"{name}={raw!r} is not {told.what}"
    return f"{name}={raw!r}: {told.hint}"
