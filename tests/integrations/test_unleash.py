"""The Unleash flag store against a real unleash-server: every rollout is checked in Unleash's
own Admin API and in what its Client API serves to SDKs. Each test uses flags of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.core.clock import ManualClock
from bot.core.ports import IntegrationError, Target
from integrations.base import BackendContext, SettingsProblem
from integrations.unleash import UnleashFlagStore, build
from tests.support.harness import free_port
from tests.support.unleash_admin import UnleashAdmin

PRODUCTION = Target("checkout", "production", "acme/checkout")
STAGING = Target("checkout", "staging", "acme/checkout")
ENVIRONMENTS = {"staging": "development"}  # open-source Unleash has development and production


def store(env: Mapping[str, str], **settings: Any) -> UnleashFlagStore:
    return build(
        {
            "url": env["UNLEASH_URL"],
            "token_env": "UNLEASH_ADMIN_TOKEN",
            "environments": ENVIRONMENTS,
            **settings,
        },
        BackendContext(clock=ManualClock(), env=dict(env)),
    )


@pytest.fixture
def admin(unleash_env: dict[str, str]) -> UnleashAdmin:
    return UnleashAdmin(unleash_env)


def strategies(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    return state["strategies"]


def rollouts(state: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(s["name"], s["parameters"]["rollout"]) for s in strategies(state)]


# Rolling out, widening, turning off


async def test_a_rollout_is_a_gradual_rollout_strategy_and_turns_the_flag_on_there(
    unleash_env, admin
):
    flag = await admin.create_flag()
    await store(unleash_env).set_rollout(PRODUCTION, flag, 25)

    production = await admin.environment(flag, "production")
    assert production["enabled"] is True
    [strategy] = strategies(production)
    assert strategy["name"] == "flexibleRollout"
    assert strategy["parameters"] == {"rollout": "25", "stickiness": "default", "groupId": flag}
    assert strategy["disabled"] is False
    development = await admin.environment(flag, "development")
    assert development["enabled"] is False and strategies(development) == []


async def test_widening_updates_the_same_strategy_and_repeating_changes_nothing(unleash_env, admin):
    flag = await admin.create_flag()
    flags = store(unleash_env)
    await flags.set_rollout(PRODUCTION, flag, 25)
    [first] = strategies(await admin.environment(flag, "production"))

    await flags.set_rollout(PRODUCTION, flag, 50)
    await flags.set_rollout(PRODUCTION, flag, 50)

    production = await admin.environment(flag, "production")
    [widened] = strategies(production)
    assert widened["id"] == first["id"]
    assert widened["parameters"] == {"rollout": "50", "stickiness": "default", "groupId": flag}
    assert production["enabled"] is True
    assert await flags.rollout(PRODUCTION, flag) == 50


async def test_sdks_are_served_the_rollout_and_then_the_flag_turned_off(unleash_env, admin):
    flag = await admin.create_flag()
    sdk_token = await admin.backend_token("production")
    flags = store(unleash_env)

    await flags.set_rollout(PRODUCTION, flag, 25)
    served = await admin.served_to_sdks(sdk_token, flag, lambda f: bool(f and f["enabled"]))
    assert served is not None and served["enabled"] is True
    assert [(s["name"], s["parameters"]["rollout"]) for s in served["strategies"]] == [
        ("flexibleRollout", "25")
    ]

    await flags.disable(PRODUCTION, flag)
    served = await admin.served_to_sdks(sdk_token, flag, lambda f: bool(f and not f["enabled"]))
    assert served is not None and served["enabled"] is False


async def test_disable_turns_the_flag_off_keeps_the_strategy_and_a_new_rollout_resumes(
    unleash_env, admin
):
    flag = await admin.create_flag()
    flags = store(unleash_env)
    await flags.set_rollout(PRODUCTION, flag, 50)

    await flags.disable(PRODUCTION, flag)
    await flags.disable(PRODUCTION, flag)  # a repeated rollback is harmless

    production = await admin.environment(flag, "production")
    assert production["enabled"] is False
    assert rollouts(production) == [("flexibleRollout", "50")], "the history stays readable"
    assert await flags.rollout(PRODUCTION, flag) is None

    await flags.set_rollout(PRODUCTION, flag, 10)
    production = await admin.environment(flag, "production")
    assert production["enabled"] is True and rollouts(production) == [("flexibleRollout", "10")]
    assert await flags.rollout(PRODUCTION, flag) == 10


async def test_a_flag_someone_turned_on_by_hand_is_narrowed_not_given_a_second_strategy(
    unleash_env, admin
):
    flag = await admin.create_flag()
    await admin.switch(flag, "production", "on")  # Unleash adds a 100% gradual rollout
    assert rollouts(await admin.environment(flag, "production")) == [("flexibleRollout", "100")]

    await store(unleash_env).set_rollout(PRODUCTION, flag, 25)

    assert rollouts(await admin.environment(flag, "production")) == [("flexibleRollout", "25")]


async def test_environments_are_separate_and_mapped(unleash_env, admin):
    flag = await admin.create_flag()
    flags = store(unleash_env)
    await flags.set_rollout(STAGING, flag, 10)

    assert rollouts(await admin.environment(flag, "development")) == [("flexibleRollout", "10")]
    assert (await admin.environment(flag, "production"))["enabled"] is False
    assert await flags.rollout(STAGING, flag) == 10
    assert await flags.rollout(PRODUCTION, flag) is None


async def test_the_configured_stickiness_is_used_for_new_strategies(unleash_env, admin):
    flag = await admin.create_flag()
    await store(unleash_env, stickiness="userId").set_rollout(PRODUCTION, flag, 5)
    [strategy] = strategies(await admin.environment(flag, "production"))
    assert strategy["parameters"]["stickiness"] == "userId"


# Reading back


async def test_rollout_reads_what_unleash_has_even_when_changed_by_hand(unleash_env, admin):
    flag = await admin.create_flag()
    flags = store(unleash_env)
    assert await flags.rollout(PRODUCTION, flag) is None, "created flags start off"
    await flags.set_rollout(PRODUCTION, flag, 25)
    [strategy] = strategies(await admin.environment(flag, "production"))

    await admin.set_strategy_rollout(flag, "production", strategy["id"], 70)

    assert await flags.rollout(PRODUCTION, flag) == 70


async def test_a_flag_that_does_not_exist_reads_as_off_and_disabling_it_does_nothing(
    unleash_env,
):
    flags = store(unleash_env)
    assert await flags.rollout(PRODUCTION, "no-such-flag") is None
    await flags.disable(PRODUCTION, "no-such-flag")


# Problems, named


async def test_rolling_out_a_missing_flag_is_refused_naming_flag_and_project(unleash_env):
    with pytest.raises(IntegrationError) as raised:
        await store(unleash_env).set_rollout(PRODUCTION, "no-such-flag", 25)
    assert not raised.value.retryable
    assert "'no-such-flag' does not exist in project 'default'" in str(raised.value)


async def test_create_missing_creates_a_release_flag_and_rolls_it_out(unleash_env, admin):
    flag = f"created-{uuid.uuid4().hex[:10]}"
    await store(unleash_env, create_missing=True).set_rollout(PRODUCTION, flag, 25)

    feature = await admin.feature(flag)
    assert feature["type"] == "release" and feature["project"] == "default"
    assert rollouts(await admin.environment(flag, "production")) == [("flexibleRollout", "25")]


async def test_an_environment_missing_from_the_project_is_named(unleash_env, admin):
    flag = await admin.create_flag()
    qa = Target("checkout", "qa", "acme/checkout")
    with pytest.raises(IntegrationError) as raised:
        await store(unleash_env).set_rollout(qa, flag, 25)
    assert not raised.value.retryable
    assert "environment 'qa' is not enabled in project 'default'" in str(raised.value)


async def test_a_missing_project_is_named(unleash_env):
    flags = store(unleash_env, project="nowhere", create_missing=True)
    with pytest.raises(IntegrationError) as raised:
        await flags.set_rollout(PRODUCTION, "any-flag", 25)
    assert not raised.value.retryable and "project 'nowhere' does not exist" in str(raised.value)
    assert "project 'nowhere' does not exist" in (await flags.health() or "")


@pytest.mark.parametrize("percent", [-1, 101])
async def test_a_percentage_outside_0_to_100_is_refused(unleash_env, percent):
    with pytest.raises(IntegrationError) as raised:
        await store(unleash_env).set_rollout(PRODUCTION, "any-flag", percent)
    assert not raised.value.retryable


async def test_a_rejected_token_is_named_without_the_token(unleash_env):
    env = {**unleash_env, "UNLEASH_ADMIN_TOKEN": "*:*.not-a-real-token-s3cret"}
    flags = store(env)
    with pytest.raises(IntegrationError) as raised:
        await flags.rollout(PRODUCTION, "any-flag")
    assert not raised.value.retryable
    assert "rejected the API token (401)" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    problem = await flags.health()
    assert problem and "401" in problem and "s3cret" not in problem


async def test_a_token_without_admin_rights_is_a_permission_problem(unleash_env, admin):
    sdk_token = await admin.backend_token("production")
    flags = store({**unleash_env, "UNLEASH_ADMIN_TOKEN": sdk_token})
    with pytest.raises(IntegrationError) as raised:
        await flags.set_rollout(PRODUCTION, "any-flag", 25)
    assert not raised.value.retryable
    assert "(403): the API token lacks permission" in str(raised.value)
    assert sdk_token not in str(raised.value)
    assert sdk_token.split(".")[-1] not in str(raised.value)


async def test_health_is_none_when_unleash_answers(unleash_env):
    assert await store(unleash_env).health() is None


async def test_health_names_a_mapped_environment_the_project_lacks(unleash_env):
    flags = store(unleash_env, environments={"staging": "staging"})
    assert await flags.health() == (
        "unleash: environment(s) staging not enabled in project 'default'"
    )


@pytest.mark.slow
async def test_an_unreachable_unleash_is_retryable_without_the_token():
    flags = build(
        {"url": f"http://127.0.0.1:{free_port()}", "token_env": "TOKEN", "timeout_s": 2},
        BackendContext(clock=ManualClock(), env={"TOKEN": "*:*.s3cret"}),
    )
    for call in (
        lambda: flags.set_rollout(PRODUCTION, "f", 25),
        lambda: flags.disable(PRODUCTION, "f"),
        lambda: flags.rollout(PRODUCTION, "f"),
    ):
        with pytest.raises(IntegrationError) as raised:
            await call()
        assert raised.value.retryable and "s3cret" not in str(raised.value)
    problem = await flags.health()
    assert problem and problem.startswith("unleash: GET /health failed")


@pytest.fixture
async def failing_unleash() -> AsyncIterator[tuple[str, list[str]]]:
    """Answers 503 to everything, counting the requests."""
    seen: list[str] = []

    async def unavailable(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        return web.json_response({"message": "database unavailable"}, status=503)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unavailable)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@pytest.mark.slow
async def test_server_errors_are_retried_then_reported_as_retryable(failing_unleash):
    url, seen = failing_unleash
    flags = build({"url": url, "token_env": "T"}, BackendContext(ManualClock(), {"T": "t"}))
    with pytest.raises(IntegrationError) as raised:
        await flags.rollout(PRODUCTION, "f")
    assert raised.value.retryable and "503" in str(raised.value)
    assert seen == ["GET /api/admin/projects/default/features/f"] * 3


# Settings


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"token_env": "T"}, "an unleash backend needs `url`"),
        ({"url": "unleash:4242", "token_env": "T"}, "`url` must start with http:// or https://"),
        ({"url": "http://u"}, "needs `token_env` or `token_file`"),
        ({"url": "http://u", "token_env": "NOPE"}, "token_env names NOPE, which is not set"),
        ({"url": "http://u", "token_env": "T", "project": ""}, "`project` must be a non-empty"),
        ({"url": "http://u", "token_env": "T", "environments": ["x"]}, "`environments` maps"),
        ({"url": "http://u", "token_env": "T", "create_missing": "yes"}, "true or false"),
        (
            {"url": "http://u", "token_env": "T", "timeout_s": 0},
            "`timeout_s` must be a positive number",
        ),
        ({"url": "http://u", "token_env": "T", "enviroments": {}}, "setting(s): enviroments"),
    ],
)
def test_settings_problems_are_named(settings, problem):
    with pytest.raises(SettingsProblem) as raised:
        build(settings, BackendContext(clock=ManualClock(), env={"T": "token"}))
    assert problem in str(raised.value)


def test_settings_defaults_and_a_token_file(tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text("*:*.from-a-file\n")
    flags = build(
        {"url": "https://unleash.example.com/", "token_file": str(token_file)},
        BackendContext(clock=ManualClock(), env={}),
    )
    settings = flags.settings
    assert settings.url == "https://unleash.example.com"
    assert settings.token == "*:*.from-a-file"
    assert "from-a-file" not in repr(settings), "the token stays out of logs"
    assert (settings.project, settings.stickiness, settings.timeout_s) == ("default", "default", 10)
    assert settings.create_missing is False
    assert settings.environment_for(STAGING) == "staging", "unmapped: the same name"
