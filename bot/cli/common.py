"""What the `releasebot` command's modules share: the database option, failing with a message,
and the settings from the environment."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.app.settings import Settings, SettingsError, from_environment

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        show_envvar=True,
        help="sqlite:///FILE (default sqlite:///releasebot.db) or postgresql://...",
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def settings() -> Settings:
    try:
        return from_environment()
    except SettingsError as exc:
        raise fail(f"configuration error: {exc}") from None
