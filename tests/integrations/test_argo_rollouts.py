"""The argo-rollouts deployer against the fake Kubernetes API: the exact requests it sends (the
`kubectl argo rollouts` plugin's patches), what it reports while the fake controller moves the
Rollout, idempotent retries, errors, settings and health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.core.clock import ManualClock
from bot.core.ports import IntegrationError, RollbackRequest, StepRequest, Target
from integrations.argo_rollouts import ArgoRolloutsDeployer, ArgoSettings, build
from integrations.base import BackendContext, SettingsProblem
from tests.integrations.fake_kubernetes import POD_HASH, REVISION, FakeKubernetes

TOKEN = "kube-token-4b1d9e"
NS = "checkout-prod"
REPO = "registry.example.com/checkout"
TARGET = Target("checkout", "production", "acme/checkout")
ROLLOUT = "/apis/argoproj.io/v1alpha1/namespaces/checkout-prod/rollouts/checkout"
STATUS = ROLLOUT + "/status"
REPLICASETS = "/apis/apps/v1/namespaces/checkout-prod/replicasets?labelSelector=app%3Dcheckout"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
IMAGE = "/spec/template/spec/containers/0/image"


async def no_wait(seconds: float) -> None:
    return None


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubernetes]:
    fake = await FakeKubernetes(TOKEN).start()
    fake.add_rollout(NS, "checkout", f"{REPO}:v1.4.2")
    yield fake
    await fake.stop()


def settings_for(kube: FakeKubernetes, **overrides: Any) -> dict[str, Any]:
    return {
        "api_url": kube.url,
        "namespaces": {"production": NS},
        "image": "registry.example.com/{service}",
        "token_env": "KUBE_TOKEN",
        **overrides,
    }


def deployer_for(
    kube: FakeKubernetes, token: str = TOKEN, **overrides: Any
) -> ArgoRolloutsDeployer:
    context = BackendContext(clock=ManualClock(), env={"KUBE_TOKEN": token})
    return build(settings_for(kube, **overrides), context, sleep=no_wait)


@pytest.fixture
def deployer(kube: FakeKubernetes) -> ArgoRolloutsDeployer:
    return deployer_for(kube)


def step(percent: int, version: str = "v1.4.3", *, action: str = "weight") -> StepRequest:
    return StepRequest(
        target=TARGET,
        release_id=7,
        stage_index=percent,
        label=f"{percent}%",
        action=action,
        percent=percent,
        version=version,
        previous_version="v1.4.2",
        idempotency_key=f"release-7-stage-{percent}",
    )


def rollback(to_version: str | None = "v1.4.2", from_version: str = "v1.4.3") -> RollbackRequest:
    return RollbackRequest(TARGET, 7, to_version, from_version, "release-7-rollback-1")


def patches(kube: FakeKubernetes) -> list[tuple[str, str, Any]]:
    return [(r.path, r.content_type, r.body) for r in kube.patches()]


def set_image(old: str, new: str, index: int = 0, name: str = "app") -> list[dict[str, Any]]:
    container = f"/spec/template/spec/containers/{index}"
    return [
        {"op": "test", "path": f"{container}/name", "value": name},
        {"op": "test", "path": f"{container}/image", "value": old},
        {"op": "replace", "path": f"{container}/image", "value": new},
    ]


async def paused_at_10(kube: FakeKubernetes, deployer: ArgoRolloutsDeployer) -> str:
    operation = await deployer.start_step(step(10))
    kube.settle(NS, "checkout")
    return operation


async def paused_at_50(kube: FakeKubernetes, deployer: ArgoRolloutsDeployer) -> str:
    await paused_at_10(kube, deployer)
    operation = await deployer.start_step(step(50))
    kube.settle(NS, "checkout")
    return operation


# Reading the running version


async def test_current_version_is_the_tag_of_the_stable_image(kube, deployer):
    assert await deployer.current_version(TARGET) == "v1.4.2"
    assert [(r.method, r.path) for r in kube.requests] == [("GET", ROLLOUT)]


async def test_during_an_update_the_current_version_is_the_stable_replicasets(kube, deployer):
    await deployer.start_step(step(10))
    assert await deployer.current_version(TARGET) == "v1.4.2"  # the controller has not seen it
    kube.settle(NS, "checkout")
    kube.requests.clear()
    assert await deployer.current_version(TARGET) == "v1.4.2"
    assert [(r.method, r.path) for r in kube.requests] == [("GET", ROLLOUT), ("GET", REPLICASETS)]


async def test_current_version_is_none_when_the_rollout_has_no_such_container(kube):
    assert await deployer_for(kube, container="worker").current_version(TARGET) is None


async def test_the_container_setting_picks_the_container_by_name(kube):
    kube.add_rollout(NS, "payments", "registry.example.com/payments:v2.7.4", sidecar="envoy:1.30")
    deployer = deployer_for(kube, container="sidecar", image="envoy")
    payments = Target("payments", "production", "acme/payments")
    assert await deployer.current_version(payments) == "1.30"
    await deployer.start_step(
        StepRequest(payments, 8, 0, "10%", "weight", 10, "1.31", "1.30", "release-8-stage-0")
    )
    path = "/apis/argoproj.io/v1alpha1/namespaces/checkout-prod/rollouts/payments"
    assert patches(kube) == [
        (path, JSON_PATCH, set_image("envoy:1.30", "envoy:1.31", index=1, name="sidecar"))
    ]


async def test_environments_map_to_namespaces(kube):
    kube.add_rollout("default", "checkout", f"{REPO}:v1.4.0")
    deployer = deployer_for(kube)
    staging = Target("checkout", "staging", "acme/checkout")
    assert await deployer.current_version(staging) == "v1.4.0"
    assert await deployer.current_version(TARGET) == "v1.4.2"
    assert [r.path for r in kube.requests] == [
        "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/checkout",
        ROLLOUT,
    ]


# Steps


async def test_the_first_step_sets_the_image_with_a_guarded_json_patch(kube, deployer):
    operation = await deployer.start_step(step(10))
    assert operation == "argo:checkout-prod/checkout:step:10:v1.4.3"
    assert [(r.method, r.path, r.content_type, r.body) for r in kube.requests] == [
        ("GET", ROLLOUT, "", None),
        ("PATCH", ROLLOUT, JSON_PATCH, set_image(f"{REPO}:v1.4.2", f"{REPO}:v1.4.3")),
    ]


async def test_a_step_runs_until_the_controller_pauses_at_its_weight(kube, deployer):
    operation = await deployer.start_step(step(10))
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == (
        "running",
        "waiting for the Argo Rollouts controller to pick up the change",
    )
    kube.advance(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert status.state == "running"
    assert status.detail == "Progressing at step 0/4, weight 10%: more replicas need to be updated"
    kube.settle(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == (
        "succeeded",
        "paused at step 1/4, weight 10% (CanaryPauseStep)",
    )


async def test_a_later_step_promotes_as_the_plugin_does(kube, deployer):
    await paused_at_10(kube, deployer)
    kube.requests.clear()
    operation = await deployer.start_step(step(50))
    assert patches(kube) == [(STATUS, MERGE, {"status": {"pauseConditions": None}})]
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == ("running", "resuming from step 1/4, weight 10%")
    kube.settle(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == (
        "succeeded",
        "paused at step 3/4, weight 50% (CanaryPauseStep)",
    )


async def test_promote_also_unpauses_a_rollout_paused_in_its_spec(kube, deployer):
    await paused_at_10(kube, deployer)
    rollout = kube.rollout(NS, "checkout")
    rollout["spec"]["paused"] = True
    rollout["metadata"]["generation"] += 1
    kube.settle(NS, "checkout")
    kube.requests.clear()
    operation = await deployer.start_step(step(50))
    assert patches(kube) == [
        (STATUS, MERGE, {"status": {"pauseConditions": None}}),
        (ROLLOUT, MERGE, {"spec": {"paused": False}}),
    ]
    kube.settle(NS, "checkout")
    assert (await deployer.poll(TARGET, operation)).state == "succeeded"


async def test_the_last_step_promotes_fully(kube, deployer):
    await paused_at_50(kube, deployer)
    kube.requests.clear()
    operation = await deployer.start_step(step(100))
    assert operation == "argo:checkout-prod/checkout:full:100:v1.4.3"
    assert patches(kube) == [(STATUS, MERGE, {"status": {"promoteFull": True}})]
    assert (await deployer.poll(TARGET, operation)).state == "running"
    kube.settle(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == ("succeeded", "healthy on v1.4.3")
    assert await deployer.current_version(TARGET) == "v1.4.3"


async def test_a_first_step_of_100_percent_is_promoted_fully_by_poll(kube, deployer):
    operation = await deployer.start_step(step(100))
    assert [body for _, _, body in patches(kube)] == [set_image(f"{REPO}:v1.4.2", f"{REPO}:v1.4.3")]
    await deployer.poll(TARGET, operation)
    kube.settle(NS, "checkout")  # the controller stops at the Rollout's first pause
    kube.requests.clear()
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == ("running", "promoting v1.4.3 fully")
    await deployer.poll(TARGET, operation)
    assert patches(kube) == [(STATUS, MERGE, {"status": {"promoteFull": True}})]
    kube.settle(NS, "checkout")
    assert (await deployer.poll(TARGET, operation)).state == "succeeded"
    assert await deployer.current_version(TARGET) == "v1.4.3"


async def test_the_same_key_twice_gives_one_operation_and_one_patch(kube, deployer):
    first = await deployer.start_step(step(10))
    again = await deployer.start_step(step(10))
    kube.settle(NS, "checkout")
    late = await deployer.start_step(step(10))
    assert first == again == late
    assert len(kube.patches()) == 1


async def test_a_retried_promote_does_not_promote_twice(kube, deployer):
    await paused_at_10(kube, deployer)
    kube.requests.clear()
    first = await deployer.start_step(step(50))
    again = await deployer.start_step(step(50))  # the controller has not moved yet
    kube.settle(NS, "checkout")
    late = await deployer.start_step(step(50))  # the controller is at the 50% pause now
    assert first == again == late
    assert len(kube.patches()) == 1
    assert kube.rollout(NS, "checkout")["status"]["currentStepIndex"] == 3


async def test_a_retried_full_promotion_does_not_patch_again(kube, deployer):
    await paused_at_50(kube, deployer)
    kube.requests.clear()
    await deployer.start_step(step(100))
    await deployer.start_step(step(100))
    kube.settle(NS, "checkout")
    await deployer.start_step(step(100))
    assert len(kube.patches()) == 1


async def test_a_degraded_rollout_fails_the_step(kube, deployer):
    kube.degrade_next(NS, "checkout")
    operation = await deployer.start_step(step(10))
    kube.settle(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert status.state == "failed"
    assert status.detail.startswith("Degraded: ProgressDeadlineExceeded: ReplicaSet")


async def test_an_abort_from_elsewhere_fails_the_step(kube, deployer):
    operation = await paused_at_10(kube, deployer)
    kube.rollout(NS, "checkout")["status"]["abort"] = True
    kube.settle(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == (
        "failed",
        "aborted: RolloutAborted: Rollout aborted update to revision 2",
    )


async def test_a_template_changed_elsewhere_fails_the_step(kube, deployer):
    operation = await paused_at_10(kube, deployer)
    kube.set_running(NS, "checkout", f"{REPO}:v9.9.9")
    status = await deployer.poll(TARGET, operation)
    assert status.state == "failed"
    assert "now has v9.9.9 in its template, not v1.4.3" in status.detail


async def test_blue_green_previews_green_then_switches(kube):
    kube.add_rollout(NS, "web", "registry.example.com/web:v5.2.0", blue_green=True)
    deployer = deployer_for(kube)
    web = Target("web", "production", "acme/web")
    path = "/apis/argoproj.io/v1alpha1/namespaces/checkout-prod/rollouts/web"
    green = StepRequest(web, 9, 0, "green", "deploy_green", 0, "v5.3.0", "v5.2.0", "r9-s0")
    preview = await deployer.start_step(green)
    kube.settle(NS, "web")
    status = await deployer.poll(web, preview)
    assert (status.state, status.detail) == (
        "succeeded",
        "paused at the preview, before the switch (BlueGreenPause)",
    )
    await deployer.start_step(green)  # a retry does not switch
    assert await deployer.current_version(web) == "v5.2.0"
    switch = StepRequest(web, 9, 2, "switch", "switch", 100, "v5.3.0", "v5.2.0", "r9-s2")
    operation = await deployer.start_step(switch)
    kube.settle(NS, "web")
    assert (await deployer.poll(web, operation)).state == "succeeded"
    assert await deployer.current_version(web) == "v5.3.0"
    old, new = "registry.example.com/web:v5.2.0", "registry.example.com/web:v5.3.0"
    assert patches(kube) == [
        (path, JSON_PATCH, set_image(old, new)),
        (path + "/status", MERGE, {"status": {"promoteFull": True}}),
    ]


# Rollbacks


async def test_rollback_mid_update_aborts_then_restores_the_stable_template(kube, deployer):
    await paused_at_10(kube, deployer)
    kube.requests.clear()
    operation = await deployer.start_rollback(rollback())
    assert operation == "argo:checkout-prod/checkout:rollback:0:v1.4.2"
    stable_template = {
        "metadata": {"labels": {"app": "checkout"}},
        "spec": {"containers": [{"name": "app", "image": f"{REPO}:v1.4.2"}]},
    }
    assert [(r.method, r.path, r.content_type, r.body) for r in kube.requests] == [
        ("GET", ROLLOUT, "", None),
        ("PATCH", STATUS, MERGE, {"status": {"abort": True}}),
        ("GET", REPLICASETS, "", None),
        (
            "PATCH",
            ROLLOUT,
            JSON_PATCH,
            [
                {"op": "test", "path": IMAGE, "value": f"{REPO}:v1.4.3"},
                {"op": "replace", "path": "/spec/template", "value": stable_template},
            ],
        ),
    ]
    assert (await deployer.poll(TARGET, operation)).state == "running"
    kube.settle(NS, "checkout")
    status = await deployer.poll(TARGET, operation)
    assert (status.state, status.detail) == ("succeeded", "healthy on v1.4.2")
    assert await deployer.current_version(TARGET) == "v1.4.2"
    assert "abort" not in kube.rollout(NS, "checkout")["status"]


async def test_rollback_after_a_full_promotion_undoes_to_the_previous_revision(kube, deployer):
    kube.set_running(NS, "checkout", f"{REPO}:v1.4.3")
    kube.requests.clear()
    operation = await deployer.start_rollback(rollback())
    (path, content_type, body), *more = patches(kube)
    assert not more, "no abort: the update was finished"
    assert (path, content_type) == (ROLLOUT, JSON_PATCH)
    assert body[1]["value"]["spec"]["containers"][0]["image"] == f"{REPO}:v1.4.2"
    assert POD_HASH not in body[1]["value"]["metadata"]["labels"]
    kube.settle(NS, "checkout")  # an old template is a new update: it stops at the first pause
    assert (await deployer.poll(TARGET, operation)).detail == "promoting v1.4.2 fully"
    kube.settle(NS, "checkout")
    assert (await deployer.poll(TARGET, operation)).state == "succeeded"
    assert await deployer.current_version(TARGET) == "v1.4.2"
    assert kube.rollout(NS, "checkout")["metadata"]["annotations"][REVISION] == "3"


async def test_a_retried_rollback_patches_nothing_more(kube, deployer):
    await paused_at_10(kube, deployer)
    kube.requests.clear()
    first = await deployer.start_rollback(rollback())
    count = len(kube.patches())
    again = await deployer.start_rollback(rollback())
    kube.settle(NS, "checkout")
    late = await deployer.start_rollback(rollback())
    assert first == again == late
    assert len(kube.patches()) == count == 2


async def test_a_rollback_retried_after_its_abort_only_restores_the_template(kube, deployer):
    await paused_at_10(kube, deployer)
    kube.rollout(NS, "checkout")["status"]["abort"] = True  # the abort landed, then a crash
    kube.requests.clear()
    await deployer.start_rollback(rollback())
    assert [(path, body[1]["op"]) for path, _, body in patches(kube)] == [(ROLLOUT, "replace")]


async def test_rollback_without_a_version_returns_to_the_previous_revision(kube, deployer):
    kube.set_running(NS, "checkout", f"{REPO}:v1.4.3")
    operation = await deployer.start_rollback(rollback(to_version=None))
    assert operation == "argo:checkout-prod/checkout:rollback:0:v1.4.2"
    assert await deployer.start_rollback(rollback(to_version=None)) == operation


async def test_rollback_to_a_version_gone_from_the_history_sets_its_image(kube, deployer):
    await paused_at_10(kube, deployer)
    kube.requests.clear()
    operation = await deployer.start_rollback(rollback(to_version="v1.3.0"))
    assert patches(kube) == [
        (STATUS, MERGE, {"status": {"abort": True}}),
        (ROLLOUT, JSON_PATCH, set_image(f"{REPO}:v1.4.3", f"{REPO}:v1.3.0")),
    ]
    kube.settle(NS, "checkout")
    await deployer.poll(TARGET, operation)
    kube.settle(NS, "checkout")
    assert (await deployer.poll(TARGET, operation)).state == "succeeded"
    assert await deployer.current_version(TARGET) == "v1.3.0"


async def test_rollback_with_no_revision_to_return_to_is_refused(kube, deployer):
    with pytest.raises(IntegrationError, match="no earlier revision") as raised:
        await deployer.start_rollback(rollback(to_version=None, from_version="v1.4.2"))
    assert raised.value.retryable is False
    assert kube.patches() == []


# Errors


async def test_a_wrong_token_is_not_retryable_and_never_echoed(kube):
    deployer = deployer_for(kube, token="wrong-token-77")
    with pytest.raises(IntegrationError) as raised:
        await deployer.current_version(TARGET)
    assert raised.value.retryable is False
    assert "answered 401" in str(raised.value)
    assert "wrong-token-77" not in str(raised.value)
    assert len(kube.requests) == 1


async def test_an_unknown_rollout_is_not_retryable(kube):
    with pytest.raises(IntegrationError, match='answered 404: rollouts.argoproj.io "nope"') as e:
        await deployer_for(kube, rollout="nope").start_step(step(10))
    assert e.value.retryable is False


async def test_reads_are_retried_on_server_errors(kube, deployer):
    kube.fail_next(503)
    assert await deployer.current_version(TARGET) == "v1.4.2"
    kube.fail_next(500, times=3)
    with pytest.raises(IntegrationError, match="answered 500") as raised:
        await deployer.current_version(TARGET)
    assert raised.value.retryable is True
    assert [r.method for r in kube.requests] == ["GET"] * 5


async def test_patches_are_not_retried(kube, deployer):
    kube.fail_next(500, method="PATCH")
    with pytest.raises(IntegrationError, match="answered 500") as raised:
        await deployer.start_step(step(10))
    assert raised.value.retryable is True
    assert [r.method for r in kube.requests] == ["GET", "PATCH"]


async def test_an_unreachable_api_is_retryable(kube, deployer):
    await kube.stop()
    with pytest.raises(IntegrationError, match="failed: cannot connect to 127.0.0.1:") as raised:
        await deployer.poll(TARGET, "argo:checkout-prod/checkout:step:10:v1.4.3")
    assert raised.value.retryable is True


async def test_the_token_is_redacted_from_what_a_server_echoes(kube, deployer):
    kube.fail_next(502, times=3, message=f"proxy: upstream refused Authorization: Bearer {TOKEN}")
    with pytest.raises(IntegrationError) as raised:
        await deployer.current_version(TARGET)
    assert TOKEN not in str(raised.value)
    assert "Bearer [token]" in str(raised.value)


async def test_a_missing_container_refuses_the_step(kube):
    with pytest.raises(IntegrationError, match="no container named 'worker'") as raised:
        await deployer_for(kube, container="worker").start_step(step(10))
    assert raised.value.retryable is False


async def test_an_unknown_operation_is_refused(deployer):
    with pytest.raises(IntegrationError, match="unknown operation") as raised:
        await deployer.poll(TARGET, "sim:1.0:3:ok:10%")
    assert raised.value.retryable is False


# Health


async def test_health_lists_the_rollouts_of_every_namespace(kube, deployer):
    assert await deployer.health() is None
    assert [r.path for r in kube.requests] == [
        "/apis/argoproj.io/v1alpha1/namespaces/checkout-prod/rollouts?limit=1",
        "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts?limit=1",
    ]


async def test_health_says_what_is_wrong_without_the_token(kube):
    problem = await deployer_for(kube, token="not-the-token").health()
    assert problem == (
        "argo-rollouts: GET /apis/argoproj.io/v1alpha1/namespaces/checkout-prod/rollouts "
        "answered 401: Unauthorized"
    )
    await kube.stop()
    problem = await deployer_for(kube).health()
    assert problem is not None and "cannot connect to 127.0.0.1:" in problem
    assert TOKEN not in problem


# Settings


def test_settings_defaults():
    deployer = build({"api_url": "https://k8s.example.com:6443"}, BackendContext(ManualClock(), {}))
    assert deployer.settings == ArgoSettings(api_url="https://k8s.example.com:6443")
    assert deployer.settings.rollout_for(TARGET) == "checkout"
    assert deployer.settings.namespace_for(TARGET) == "default"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({}, "needs `api_url`"),
        ({"api_url": "k8s.example.com"}, "must start with https://"),
        ({"api_url": "https://k", "namespce": "x"}, "unknown argo-rollouts setting"),
        ({"api_url": "https://k", "namespace": ""}, "`namespace` must be a non-empty"),
        ({"api_url": "https://k", "rollout": 3}, "`rollout` must be a non-empty"),
        ({"api_url": "https://k", "namespaces": ["prod"]}, "maps environments to namespaces"),
        ({"api_url": "https://k", "image": "reg/checkout:v1"}, "without a tag"),
        ({"api_url": "https://k", "timeout_s": 0}, "positive number"),
        ({"api_url": "https://k", "timeout_s": True}, "positive number"),
        ({"api_url": "https://k", "insecure_skip_tls_verify": "yes"}, "true or false"),
        (
            {"api_url": "https://k", "insecure_skip_tls_verify": True, "ca_file": "/ca.pem"},
            "not both",
        ),
        ({"api_url": "https://k", "ca_file": "/nonexistent/ca.pem"}, "cannot load it"),
        ({"api_url": "https://k", "token_env": "UNSET_TOKEN"}, "UNSET_TOKEN, which is not set"),
        ({"api_url": "https://k", "token_file": "/nonexistent/token"}, "cannot read it"),
    ],
)
def test_settings_problems_say_what_to_fix(settings, problem):
    with pytest.raises(SettingsProblem, match=problem):
        build(settings, BackendContext(ManualClock(), {}))


def test_insecure_skip_tls_verify_turns_verification_off():
    deployer = build(
        {"api_url": "https://k", "insecure_skip_tls_verify": True},
        BackendContext(ManualClock(), {}),
    )
    assert deployer._api.http._ssl is False


# The fake API server itself (the tests above trust it)


async def _send(
    kube: FakeKubernetes, method: str, path: str, body: Any = None, content_type: str = MERGE
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
    data = None if body is None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, kube.url + path, data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_fake_refuses_a_strategic_merge_patch_like_any_custom_resource(kube):
    status, body = await _send(
        kube, "PATCH", ROLLOUT, {"spec": {"paused": True}}, "application/strategic-merge-patch+json"
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


async def test_fake_wants_the_bearer_token(kube):
    async with aiohttp.ClientSession() as session, session.get(kube.url + ROLLOUT) as response:
        assert response.status == 401


async def test_fake_checks_patches_against_the_rollout_schema(kube):
    status, body = await _send(kube, "PATCH", ROLLOUT, {"spec": {"paused": "yes"}})
    assert (status, body["reason"]) == (422, "Invalid")
    assert "spec.paused" in body["message"]
    status, body = await _send(kube, "PATCH", STATUS, {"status": {"promotFull": True}})
    assert status == 422 and "status.promotFull: unknown field" in body["message"]


async def test_fake_splits_spec_and_status_as_the_api_server_does(kube):
    status, body = await _send(
        kube, "PATCH", ROLLOUT, {"spec": {"paused": True}, "status": {"abort": True}}
    )
    assert status == 200 and body["spec"]["paused"] is True and "abort" not in body["status"]
    assert body["metadata"]["generation"] == 2
    status, body = await _send(
        kube, "PATCH", STATUS, {"spec": {"paused": False}, "status": {"abort": True}}
    )
    assert status == 200 and body["spec"]["paused"] is True and body["status"]["abort"] is True
    assert body["metadata"]["generation"] == 2


async def test_fake_answers_422_when_a_json_patch_test_fails(kube):
    patch = [{"op": "test", "path": IMAGE, "value": "someone-else:v0"}]
    status, body = await _send(kube, "PATCH", ROLLOUT, patch, JSON_PATCH)
    assert (status, body["reason"]) == (422, "Invalid")


async def test_fake_answers_404_for_an_unknown_rollout(kube):
    status, body = await _send(kube, "GET", ROLLOUT.removesuffix("/checkout") + "/nope")
    assert (status, body["reason"]) == (404, "NotFound")
