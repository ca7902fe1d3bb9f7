"""Settings from the environment: modes, secrets from files, clear errors, nothing leaked."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, from_environment


def test_no_tokens_means_local_mode():
    settings = from_environment({})
    assert settings.mode == "local"
    assert settings.database_url == "sqlite:///releasebot.db"


def test_http_and_socket_modes():
    http = from_environment({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    socket = from_environment({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert (http.mode, socket.mode) == ("http", "socket")


def test_secrets_can_come_from_files(tmp_path):
    (tmp_path / "token").write_text("xoxb-from-file\n")
    (tmp_path / "secret").write_text("signing\n")
    settings = from_environment(
        {
            "SLACK_BOT_TOKEN_FILE": str(tmp_path / "token"),
            "SLACK_SIGNING_SECRET_FILE": str(tmp_path / "secret"),
        }
    )
    assert settings.bot_token == "xoxb-from-file" and settings.signing_secret == "signing"


def test_secrets_never_show_in_descriptions_or_reprs():
    settings = from_environment(
        {
            "SLACK_BOT_TOKEN": "xoxb-very-secret",
            "SLACK_SIGNING_SECRET": "sig-very-secret",
            "DATABASE_URL": "postgresql://bot:db-very-secret@db/releasebot",
        }
    )
    shown = repr(settings) + str(settings.describe())
    assert "very-secret" not in shown
    assert settings.describe()["SLACK_BOT_TOKEN"] == "set"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_APP_TOKEN": "xapp-1"}, "Socket Mode needs both"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "neither SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN_FILE": "/nonexistent/token"}, "cannot read it"),
        ({"PORT": "eighty"}, "PORT='eighty' is not a number"),
    ],
)
def test_bad_settings_are_explained(env, message):
    with pytest.raises(SettingsError, match=message):
        from_environment(env)
