"""The release flow on real integrations: GitHub (a stateful stand-in built from GitHub's
OpenAPI description) gates on CI and records deployments; a real Prometheus, scraping a test
app whose error rate the test sets, judges each canary step."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.core.analysis import render_query
from bot.core.catalog import Catalog
from tests.support.fake_github import FakeGitHub
from tests.support.harness import BotHarness
from tests.support.metrics_app import MetricsApp, error_rate_query, wait_until_measured

WINDOW = "5s"
WEBHOOK_SECRET = "whsec-scenario"


def catalog(github_url: str, prometheus_url: str, run: str) -> Catalog:
    return Catalog.model_validate(
        {
            "environments": {"staging": {"order": 1, "approval": {"auto_when_ci_green": True}}},
            "roles": {"deployer": ["U0ALICE"], "oncall": ["U0CAROL"]},
            "services": {
                "checkout": {
                    "repository": "acme/checkout",
                    "environments": ["staging"],
                    "canary": {"steps": [10, 50, 100], "bake": "10s"},
                    "analysis": {
                        "interval": WINDOW,
                        "count": 2,
                        "metrics": [{"name": "error_rate", "max": 0.05}],
                    },
                    "backends": {
                        "ci": "github",
                        "deployer": "simulated",
                        "monitor": "prometheus",
                        "flags": "simulated",
                        "deployments": "github",
                    },
                }
            },
            "backends": {
                "simulated": {
                    "type": "simulated",
                    "settings": {"step_seconds": 2, "running_versions": {"checkout": "v1.4.2"}},
                },
                "github": {
                    "type": "github",
                    "settings": {
                        "api_url": github_url,
                        "token_env": "RELEASEBOT_TEST_GITHUB_TOKEN",
                        "required_checks": {"checkout": ["build"]},
                        "webhook_secret_env": "RELEASEBOT_TEST_GITHUB_WEBHOOK_SECRET",
                        "poll_seconds": 600,  # webhooks move it sooner
                    },
                },
                "prometheus": {
                    "type": "prometheus",
                    "settings": {
                        "url": prometheus_url,
                        "queries": {"error_rate": error_rate_query(run)},
                    },
                },
            },
        }
    )


@pytest.fixture
def checkout_app(prometheus_env: dict[str, str]) -> Iterator[MetricsApp]:
    app = MetricsApp().start(prometheus_env["PROMETHEUS_TARGETS_DIR"])
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(token="ghp_scenario").start()
    fake.commit("v1.4.2", author="bob")
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def github_bot(database_url, github, checkout_app, prometheus_env, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_TEST_GITHUB_TOKEN", github.token)
    monkeypatch.setenv("RELEASEBOT_TEST_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET)
    harness = await BotHarness.start(
        database_url, catalog(github.url, prometheus_env["PROMETHEUS_URL"], checkout_app.run)
    )
    try:
        yield harness
    finally:
        await harness.stop()


def error_rate_is(prometheus_env: dict[str, str], app: MetricsApp, rate: float) -> None:
    app.set("checkout", error_rate=rate)
    query = render_query(error_rate_query(app.run), {"service": "checkout", "window": WINDOW})
    wait_until_measured(prometheus_env["PROMETHEUS_URL"], query, rate)


def thread(github_bot: BotHarness) -> list[str]:
    return [reply.text for reply in github_bot.status_message().replies]


async def test_red_ci_is_refused_naming_the_failing_check(github_bot, github):
    github.check("v1.5.0", "build", "success")
    github.check("v1.5.0", "unit-tests", "failure")
    await github_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await github_bot.advance(2)
    status = github_bot.status_message()
    assert "rejected" in status.text.lower()
    assert "CI is red: failing: unit-tests" in str(status.blocks)
    assert any("CI gate refused" in r and "unit-tests" in r for r in thread(github_bot))


async def test_green_ci_and_a_healthy_canary_pass_analysis_at_each_step(
    github_bot, github, checkout_app, prometheus_env
):
    error_rate_is(prometheus_env, checkout_app, 0.0)
    github.check("v1.5.0", "build", "success")
    await github_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await github_bot.run_until(lambda: ": live (" in github_bot.status_message().text, limit_s=180)
    replies = thread(github_bot)
    passed = [r for r in replies if "Analysis passed" in r]
    assert len(passed) == 2, replies  # after 10% and after 50%
    assert all("error_rate 0 (max 0.05)" in r for r in passed)
    [deployment] = github.deployments
    assert deployment["ref"] == "v1.5.0" and deployment["environment"] == "staging"
    release_id = deployment["payload"]["releasebot_release_id"]
    states = github.states_of(release_id)
    assert states[-1] == "success" and "in_progress" in states
    lifecycle = ["queued", "in_progress", "success"]
    assert states == sorted(states, key=lifecycle.index), "never back to an earlier state"
    assert len(states) == len(set(states)), "each state recorded once"


async def test_an_error_rate_jump_fails_analysis_at_10_percent_and_rolls_back(
    github_bot, github, checkout_app, prometheus_env
):
    error_rate_is(prometheus_env, checkout_app, 0.2)
    github.check("v1.5.0", "build", "success")
    await github_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await github_bot.run_until(
        lambda: "rolled back" in github_bot.status_message().text, limit_s=180
    )
    replies = thread(github_bot)
    assert any("Analysis failed" in r and "error_rate 0.2 (max 0.05)" in r for r in replies)
    assert any("checkout in staging is on v1.4.2 again" in r for r in replies)
    assert "analysis failed at 10%" in str(github_bot.status_message().blocks)


async def github_event(github_bot, event: str, payload: dict, secret: str = WEBHOOK_SECRET):
    import hashlib
    import hmac
    import json

    import aiohttp

    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{github_bot.base_url}/integrations/github/events", data=body, headers=headers
        ) as r,
    ):
        return r.status, await r.json()


CHECK_SUITE = {
    "action": "completed",
    "check_suite": {"head_sha": "0" * 40, "status": "completed", "conclusion": "success"},
    "repository": {"full_name": "acme/checkout"},
}


async def test_a_required_check_not_reported_yet_keeps_the_release_waiting(github_bot, github):
    github.check("v1.5.0", "lint", "success")
    await github_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await github_bot.advance(30)
    assert "waiting for ci" in github_bot.status_message().text, "lint alone is not enough"
    github.check("v1.5.0", "build", "success")
    await github_bot.advance(30)
    assert "waiting for ci" in github_bot.status_message().text, "the next poll is 10 minutes away"
    status, answer = await github_event(github_bot, "check_suite", CHECK_SUITE)
    assert (status, answer) == (202, {"ok": True, "releases": 1})
    await github_bot.advance(1)
    assert "rolling out" in github_bot.status_message().text, "the webhook moved it on"


async def test_github_webhooks_with_a_bad_signature_are_refused(github_bot, github):
    github.check("v1.5.0", "lint", "success")
    await github_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    status, answer = await github_event(github_bot, "check_suite", CHECK_SUITE, secret="guess")
    assert status == 401 and "X-Hub-Signature-256" in answer["error"]
    status, answer = await github_event(github_bot, "ping", {"zen": "Keep it logically awesome."})
    assert (status, answer) == (200, {"ok": True, "pong": True})


async def test_integrations_lists_each_backend_and_what_is_wrong(github_bot, github):
    await github_bot.command("U0ALICE", "/release integrations")
    [answer] = github_bot.replies_to("U0ALICE")
    assert "3 configured, all reachable" in answer
    assert "*github* (github) used by checkout (ci, deployments)" in answer
    assert "*prometheus* (prometheus) used by checkout (monitor)" in answer

    github.token = "rotated"  # the bot's token no longer works
    await github_bot.command("U0ALICE", "/release integrations")
    answer = github_bot.replies_to("U0ALICE")[-1]
    assert "1 not reachable" in answer
    assert ":x: *github*" in answer and "answered 401: Bad credentials" in answer
    assert "ghp_scenario" not in answer


async def test_readyz_reports_integrations_without_failing_on_them(github_bot, github):
    import asyncio

    import aiohttp

    async def readyz() -> tuple[int, dict]:
        # The details are for people signed in to the web pages only.
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
            session.post(f"{github_bot.base_url}/signin", data={"user": "U0ALICE"}),
            session.get(f"{github_bot.base_url}/readyz") as response,
        ):
            return response.status, await response.json()

    github.token = "rotated"
    status, body = await readyz()  # answers at once; the backends are asked in the background
    assert status == 200, "a backend being down must not take the bot out of service"
    assert body["integrations"]["github"]["problem"] == "not checked yet"
    for _ in range(200):
        status, body = await readyz()
        if body["integrations"]["github"]["problem"] != "not checked yet":
            break
        await asyncio.sleep(0.05)
    assert status == 200 and body["status"] == "ok" and body["checks"]["database"] == "ok"
    assert body["integrations"]["prometheus"]["ok"] is True
    github_health = body["integrations"]["github"]
    assert github_health["ok"] is False and "401" in github_health["problem"]
    assert github_health["last_error_at"]


async def test_webhooks_never_hurry_an_analysis(github_bot, github, checkout_app, prometheus_env):
    error_rate_is(prometheus_env, checkout_app, 0.0)
    github.check("v1.5.0", "build", "success")
    await github_bot.command("U0ALICE", "/deploy checkout v1.5.0 canary 10% to staging")
    await github_bot.run_until(lambda: "10% of traffic" in str(thread(github_bot)), limit_s=30)
    status, answer = await github_event(github_bot, "check_run", CHECK_SUITE)
    assert (status, answer) == (202, {"ok": True, "releases": 0}), (
        "an extra tick would count an extra measurement"
    )


async def test_a_signature_that_is_not_ascii_is_refused_not_a_crash(github_bot):
    import aiohttp

    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=ünïcode"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{github_bot.base_url}/integrations/github/events", data=b"{}", headers=headers
        ) as response,
    ):
        assert response.status == 401
