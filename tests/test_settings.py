"""Settings from the environment: modes, secrets from files, clear errors, nothing leaked."""

from __future__ import annotations

import pytest

from bot.app.settings import SettingsError, from_environment


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
            "SLACK_CLIENT_ID": "1234.5678",
            "SLACK_CLIENT_SECRET": "client-very-secret",
            "RELEASEBOT_PUBLIC_URL": "https://releasebot.example.com",
        }
    )
    shown = repr(settings) + str(settings.describe())
    assert "very-secret" not in shown
    assert settings.describe()["SLACK_BOT_TOKEN"] == "set"
    assert settings.describe()["Sign in with Slack"] == "on (https://slack.com)"


def test_sign_in_with_slack_is_off_until_the_app_credentials_are_given(tmp_path):
    assert not from_environment({}).signs_in_with_slack
    (tmp_path / "client-secret").write_text("from-a-file\n")
    settings = from_environment(
        {
            "SLACK_CLIENT_ID": "1234.5678",
            "SLACK_CLIENT_SECRET_FILE": str(tmp_path / "client-secret"),
            "SLACK_TEAM_ID": "T0RELEASE",
            "RELEASEBOT_PUBLIC_URL": "https://releasebot.example.com",
        }
    )
    assert settings.signs_in_with_slack and settings.slack_client_secret == "from-a-file"
    assert (settings.slack_team_id, settings.oidc_issuer) == ("T0RELEASE", "https://slack.com")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_APP_TOKEN": "xapp-1"}, "Socket Mode needs both"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "neither SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN_FILE": "/nonexistent/token"}, "cannot read it"),
        ({"PORT": "eighty"}, "PORT='eighty' is not a number"),
        ({"SLACK_CLIENT_ID": "1234.5678"}, "needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"),
        ({"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"}, "needs RELEASEBOT_PUBLIC_URL"),
        ({"RELEASEBOT_SESSION_SECRET": "hunter2"}, "too short to sign sign-in cookies"),
        ({"RELEASEBOT_ROLE": "worker"}, "use all \\(the default\\), web or engine"),
        ({"RELEASEBOT_ROLE": "web"}, "needs PostgreSQL: SQLite is for one process"),
        ({"RELEASEBOT_SLACK_TIMEOUT_SECONDS": "soon"}, "is not a number of seconds"),
        ({"RELEASEBOT_INBOX_DEADLINE_SECONDS": "0"}, "give a number of seconds above 0"),
        ({"RELEASEBOT_CHAT_UPDATES_PER_MINUTE": "lots"}, "not a number of calls a minute"),
        ({"RELEASEBOT_CHAT_UPDATES_PER_MINUTE": "-1"}, "0 for no limit"),
        ({"RELEASEBOT_TICK_SECONDS": "fast"}, "RELEASEBOT_TICK_SECONDS='fast' is not a number of"),
        ({"RELEASEBOT_MAX_CONNECTIONS": "0"}, "RELEASEBOT_MAX_CONNECTIONS='0': let in at least 1"),
        ({"PORT": "x", "RELEASEBOT_ENGINE_NICENESS": "y"}, "not a number; RELEASEBOT_ENGINE_NI"),
    ],
)
def test_bad_settings_are_explained(env, message):
    with pytest.raises(SettingsError, match=message):
        from_environment(env)


def test_a_secret_given_twice_or_from_a_file_that_cannot_be_read_is_explained(tmp_path):
    (tmp_path / "token").write_text("xoxb-from-file\n")
    both = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN_FILE": str(tmp_path / "token")}
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both"):
        from_environment(both)
    with pytest.raises(SettingsError, match=f"SLACK_SIGNING_SECRET_FILE={tmp_path}: cannot read"):
        from_environment({"SLACK_SIGNING_SECRET_FILE": str(tmp_path)})
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN_FILE=.*: cannot read it \\(not text"):
        from_environment({"SLACK_APP_TOKEN_FILE": str(tmp_path / "binary")})


def test_an_empty_variable_counts_as_unset():
    settings = from_environment(
        {"PORT": "", "DATABASE_URL": "", "RELEASEBOT_REPLICA_ID": "", "HOSTNAME": "pod-1"}
    )
    assert (settings.port, settings.database_url) == (3000, "sqlite:///releasebot.db")
    assert settings.replica_id == "pod-1"
    assert from_environment({"LOG_LEVEL": "debug", "RELEASEBOT_ROLE": " "}).log_level == "DEBUG"


def test_roles_on_postgresql_and_the_defaults_of_the_fault_settings():
    postgres = {"DATABASE_URL": "postgresql://releasebot@db/releasebot"}
    assert from_environment({**postgres, "RELEASEBOT_ROLE": "Engine"}).role == "engine"
    settings = from_environment({})
    assert (settings.role, settings.slack_timeout_s, settings.inbox_deadline_s) == (
        "all",
        5.0,
        900.0,
    )
    assert settings.chat_updates_per_minute == 40  # with bursts of 10: 50 a minute at most
    assert (
        from_environment({"RELEASEBOT_CHAT_UPDATES_PER_MINUTE": "0"}).chat_updates_per_minute == 0
    )
    assert (
        "web (answers Slack"
        in from_environment({**postgres, "RELEASEBOT_ROLE": "web"}).describe()["role"]
    )
