"""The GitHub adapter against Prism serving GitHub's own OpenAPI description (with --errors):
every request the adapter makes must be valid by GitHub's spec, or Prism answers 422 and the
test fails; the answers are the spec's own examples."""

from __future__ import annotations

import pytest

from bot.core.clock import ManualClock
from bot.core.ports import DeploymentRecord, IntegrationError, Target
from integrations.base import BackendContext, Http
from integrations.github import build

TARGET = Target("checkout", "production", "acme/checkout")
EXAMPLE_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"  # the spec's example commit


def github(prism_env: dict[str, str], **settings):
    return build(
        {"api_url": prism_env["PRISM_GITHUB_URL"], "token_env": "GH_TOKEN", **settings},
        BackendContext(
            clock=ManualClock(),
            env={"GH_TOKEN": "ghp_not-a-real-token"},
            production_environments=frozenset({"production"}),
        ),
    )


async def test_latest_resolves_to_the_default_branch_head(prism_env):
    assert await github(prism_env).resolve_version(TARGET, None) == EXAMPLE_SHA


async def test_a_named_ref_ships_under_its_own_name(prism_env):
    assert await github(prism_env).resolve_version(TARGET, "v1.4.3") == "v1.4.3"


async def test_statuses_and_check_runs_make_the_gate(prism_env):
    status = await github(prism_env).status(TARGET, "v1.4.3")
    names = {check.name: check.state for check in status.checks}
    assert names["continuous-integration/jenkins"] == "success"
    assert names["mighty_readme"] == "neutral"
    assert status.state == "passed"
    assert status.authors, "the commit's author is named for the author rule"


async def test_a_required_check_that_never_reported_keeps_the_gate_pending(prism_env):
    status = await github(prism_env, required_checks={"checkout": ["deploy-gate"]}).status(
        TARGET, "v1.4.3"
    )
    assert status.state == "pending"
    assert status.summary == "pending: deploy-gate"


async def test_ignored_checks_do_not_count(prism_env):
    status = await github(prism_env, ignored_checks=["mighty_readme"]).status(TARGET, "v1.4.3")
    assert "mighty_readme" not in {check.name for check in status.checks}


async def test_authors_of_every_commit_since_the_running_version(prism_env):
    status = await github(prism_env).status(TARGET, "v1.4.3", since="v1.4.2")
    assert "octocat" in status.authors


async def test_a_release_is_recorded_as_a_deployment_with_a_status(prism_env, monkeypatch):
    """Prism keeps no state, so the requests are watched on their way: each was one Prism
    accepted against GitHub's description (a refused one raises)."""
    sent: list[tuple[str, str, object]] = []
    real = Http.request

    async def watched(self, method, path, **kwargs):
        sent.append((method, path, kwargs.get("json_body")))
        return await real(self, method, path, **kwargs)

    monkeypatch.setattr(Http, "request", watched)
    record = DeploymentRecord(TARGET, 41, "v1.4.3", "in_progress", "releasebot #41: running")
    await github(prism_env).record(record)
    posts = [(path, body) for method, path, body in sent if method == "POST"]
    assert posts[-1][0].startswith("/repos/acme/checkout/deployments/")
    assert posts[-1][0].endswith("/statuses")
    assert posts[-1][1]["state"] == "in_progress"
    assert "releasebot #41" in posts[-1][1]["description"]


async def test_health_asks_the_rate_limit(prism_env):
    assert await github(prism_env).health() is None


async def test_prism_refuses_a_request_github_would_refuse(prism_env):
    """The check these tests rely on can fail: a status GitHub does not know is a 422."""
    http = Http(
        prism_env["PRISM_GITHUB_URL"],
        name="github",
        headers={"Accept": "application/json", "Authorization": "Bearer x"},
    )
    with pytest.raises(IntegrationError) as raised:
        await http.request(
            "POST", "/repos/acme/checkout/deployments/1/statuses", json_body={"state": "bogus"}
        )
    assert raised.value.status == 422 and not raised.value.retryable


async def test_the_build_workflow_is_dispatched_when_nothing_has_reported(prism_env):
    adapter = github(prism_env, build_workflow="build.yml")
    status = await adapter._ci._start_build(TARGET, "v1.4.3")  # Prism always reports checks
    assert status.state == "pending" and status.name == "build.yml (started by releasebot)"


async def test_a_deploy_workflow_run_is_dispatched_and_polled_by_the_spec(prism_env):
    from bot.core.ports import StepRequest
    from integrations.base import MemoryOperations

    adapter = build(
        {
            "api_url": prism_env["PRISM_GITHUB_URL"],
            "token_env": "GH_TOKEN",
            "deploy_workflow": "deploy.yml",
        },
        BackendContext(
            clock=ManualClock(), env={"GH_TOKEN": "ghp_x"}, operations=MemoryOperations()
        ),
    )
    request = StepRequest(
        TARGET, 41, 0, "10%", "weight", 10, "v1.4.3", "v1.4.2", "release-41-stage-0"
    )
    operation = await adapter.start_step(request)
    assert operation == "gha:1", "the spec's example run id"
    assert await adapter.start_step(request) == operation, "the same key: no second run"
    status = await adapter.poll(TARGET, operation)
    assert status.state == "running" and status.detail == "workflow run queued"
