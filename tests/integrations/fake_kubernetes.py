"""A stand-in for a Kubernetes API server with Argo Rollouts' CRD installed, and a controller
that the test steps by hand.

It serves what the argo-rollouts adapter (and `kubectl argo rollouts`) uses: GET and PATCH of a
Rollout and of its /status subresource, a Rollout list, ReplicaSets by label selector, and the
API group's discovery document. Like the real server it wants `Authorization: Bearer TOKEN`
(401), takes only merge patches (RFC 7386) and JSON patches (RFC 6902) for a custom resource
(415 for anything else), answers 422 when a JSON patch's `test` fails, ignores status in a PATCH
of the resource and everything but status in a PATCH of /status, and bumps metadata.generation
when the spec changes. Each result is checked against the Rollout schema
(data/rollout_crd_subset.json): 422 for a wrong type or a missing required field, and also for an
unknown field, which the real server would prune silently (here a typo fails the test).
Every request is recorded: method, path with query, content type, body.

`advance()` is one reconcile of the Argo Rollouts controller, cut down to what the adapter reads:
a new pod template gets a ReplicaSet (a new revision) and restarts the canary steps, or skips
them when it is the stable template again; each later reconcile takes one canary step (setWeight
moves on; a pause adds a CanaryPauseStep pause condition and waits for a promote to clear it);
promoteFull, or the end of the steps, makes the current ReplicaSet stable (Healthy); abort turns
the Rollout Degraded (RolloutAborted, weight 0); `degrade_next()` makes the next reconcile of an
unfinished update fail with ProgressDeadlineExceeded.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpatch
import jsonpointer
from aiohttp import web

from tests.support.network import free_port

SCHEMA_FILE = Path(__file__).parent / "data" / "rollout_crd_subset.json"
TOKEN = "fake-kubernetes-token"
ROLLOUTS = "/apis/argoproj.io/v1alpha1"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
REVISION = "rollout.argoproj.io/revision"
POD_HASH = "rollouts-pod-template-hash"
NOW = "2026-11-23T09:00:00Z"
CANARY_STEPS: list[dict[str, Any]] = [
    {"setWeight": 10},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {}},
]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # with the query string
    content_type: str
    body: Any


class PatchRefused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class FakeKubernetes:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.url = ""
        self._rollouts: dict[tuple[str, str], dict[str, Any]] = {}
        self._replicasets: dict[tuple[str, str], dict[str, Any]] = {}
        self._resource_version = 100
        self._failures: list[tuple[int, str | None, str]] = []
        self._degrade: set[tuple[str, str]] = set()
        self._runner: web.AppRunner | None = None

    # Serving

    async def start(self) -> FakeKubernetes:
        app = web.Application(middlewares=[self._record, self._authorize, self._inject_failures])
        rollout = ROLLOUTS + "/namespaces/{namespace}/rollouts/{name}"
        app.router.add_get(ROLLOUTS, self._discovery)
        app.router.add_get(ROLLOUTS + "/namespaces/{namespace}/rollouts", self._list_rollouts)
        app.router.add_get(rollout, self._get_rollout)
        app.router.add_patch(rollout, self._patch_rollout)
        app.router.add_patch(rollout + "/status", self._patch_status)
        app.router.add_get("/apis/apps/v1/namespaces/{namespace}/replicasets", self._list_rs)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # What tests set up and read

    def add_rollout(
        self,
        namespace: str,
        name: str,
        image: str,
        *,
        container: str = "app",
        blue_green: bool = False,
        steps: list[dict[str, Any]] | None = None,
        sidecar: str | None = None,
    ) -> dict[str, Any]:
        """A Rollout that has run `image` for a while: stable, Healthy, revision 1."""
        containers = [{"name": container, "image": image}]
        if sidecar:
            containers.append({"name": "sidecar", "image": sidecar})
        strategy: dict[str, Any] = (
            {
                "blueGreen": {
                    "activeService": f"{name}-active",
                    "previewService": f"{name}-preview",
                    "autoPromotionEnabled": False,
                }
            }
            if blue_green
            else {"canary": {"steps": copy.deepcopy(CANARY_STEPS if steps is None else steps)}}
        )
        rollout = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": f"uid-{namespace}-{name}",
                "generation": 1,
                "resourceVersion": self._next_resource_version(),
                "annotations": {},
            },
            "spec": {
                "replicas": 4,
                "selector": {"matchLabels": {"app": name}},
                "strategy": strategy,
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": containers},
                },
            },
            "status": {},
        }
        self._check_schema(rollout)
        self._rollouts[(namespace, name)] = rollout
        self.set_running(namespace, name, image)
        return rollout

    def set_running(self, namespace: str, name: str, image: str, container: int = 0) -> None:
        """As if an update to `image` had gone all the way through (a new revision, stable)."""
        rollout = self._rollouts[(namespace, name)]
        if rollout["spec"]["template"]["spec"]["containers"][container]["image"] != image:
            rollout["spec"]["template"]["spec"]["containers"][container]["image"] = image
            rollout["metadata"]["generation"] += 1
        for _ in range(50):
            if not self.advance(namespace, name):
                break
            status = rollout["status"]
            if status["currentPodHash"] != status.get("stableRS"):
                status["promoteFull"] = True
        assert rollout["status"]["phase"] == "Healthy", rollout["status"]

    def rollout(self, namespace: str, name: str) -> dict[str, Any]:
        return self._rollouts[(namespace, name)]

    def replicasets(self, namespace: str) -> list[dict[str, Any]]:
        return [rs for (ns, _), rs in self._replicasets.items() if ns == namespace]

    def patches(self) -> list[Recorded]:
        return [request for request in self.requests if request.method == "PATCH"]

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        method: str | None = None,
        message: str = "etcdserver: request timed out",
    ) -> None:
        """Answer the next `times` authorized requests (of `method`, if given) with `status`."""
        self._failures.extend([(status, method, message)] * times)

    def degrade_next(self, namespace: str, name: str) -> None:
        self._degrade.add((namespace, name))

    # The controller

    def advance(self, namespace: str, name: str) -> bool:
        """One reconcile; whether it changed anything."""
        rollout = self._rollouts[(namespace, name)]
        before = json.dumps(rollout, sort_keys=True)
        _Reconcile(self, rollout).run()
        self._check_schema(rollout)
        if json.dumps(rollout, sort_keys=True) == before:
            return False
        rollout["metadata"]["resourceVersion"] = self._next_resource_version()
        return True

    def settle(self, namespace: str, name: str) -> int:
        """Reconcile until nothing changes (a pause, Healthy, Degraded); how many changed it."""
        for count in range(100):
            if not self.advance(namespace, name):
                return count
        raise AssertionError("the fake controller did not settle")

    def _degrade_due(self, rollout: dict[str, Any]) -> bool:
        key = (rollout["metadata"]["namespace"], rollout["metadata"]["name"])
        if key in self._degrade:
            self._degrade.discard(key)
            return True
        return False

    def _replicaset_for(self, rollout: dict[str, Any], pod_hash: str) -> dict[str, Any]:
        """The ReplicaSet of the Rollout's template, made the newest revision as the
        controller does (a new one, or an old one brought back)."""
        namespace, name = rollout["metadata"]["namespace"], rollout["metadata"]["name"]
        owned = [rs for rs in self.replicasets(namespace) if _owner(rs) == name]
        newest = max((int(rs["metadata"]["annotations"][REVISION]) for rs in owned), default=0)
        replicaset = self._replicasets.get((namespace, f"{name}-{pod_hash}"))
        if replicaset is None:
            replicaset = _new_replicaset(rollout, pod_hash)
            self._replicasets[(namespace, f"{name}-{pod_hash}")] = replicaset
        revision = int(replicaset["metadata"]["annotations"].get(REVISION, 0))
        if revision < newest or revision == 0:
            replicaset["metadata"]["annotations"][REVISION] = str(newest + 1)
        return replicaset

    # HTTP

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        text = await request.text() if request.can_read_body else ""
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        content_type = request.headers.get("Content-Type", "")
        self.requests.append(Recorded(request.method, request.path_qs, content_type, body))
        return await handler(request)

    @web.middleware
    async def _authorize(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    @web.middleware
    async def _inject_failures(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self._failures and self._failures[0][1] in (None, request.method):
            status, _, message = self._failures.pop(0)
            return _status(status, "InternalError", message)
        return await handler(request)

    async def _discovery(self, request: web.Request) -> web.Response:
        verbs = ["get", "list", "watch", "patch", "update"]
        return web.json_response(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": "argoproj.io/v1alpha1",
                "resources": [
                    {"name": "rollouts", "namespaced": True, "kind": "Rollout", "verbs": verbs},
                    {"name": "rollouts/status", "namespaced": True, "kind": "Rollout"},
                ],
            }
        )

    async def _list_rollouts(self, request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        items = [r for (ns, _), r in self._rollouts.items() if ns == namespace]
        limit = int(request.query.get("limit", len(items) or 1))
        return web.json_response(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "RolloutList",
                "metadata": {"resourceVersion": str(self._resource_version)},
                "items": items[:limit],
            }
        )

    async def _get_rollout(self, request: web.Request) -> web.Response:
        rollout = self._rollouts.get(_key(request))
        if rollout is None:
            return _not_found(request)
        return web.json_response(rollout)

    async def _list_rs(self, request: web.Request) -> web.Response:
        try:
            wanted = _label_selector(request.query.get("labelSelector", ""))
        except ValueError as exc:
            return _status(400, "BadRequest", str(exc))
        items = [
            rs
            for rs in self.replicasets(request.match_info["namespace"])
            if all(rs["metadata"]["labels"].get(k) == v for k, v in wanted.items())
        ]
        return web.json_response(
            {"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": {}, "items": items}
        )

    async def _patch_rollout(self, request: web.Request) -> web.Response:
        return await self._patch(request, subresource=False)

    async def _patch_status(self, request: web.Request) -> web.Response:
        return await self._patch(request, subresource=True)

    async def _patch(self, request: web.Request, *, subresource: bool) -> web.Response:
        rollout = self._rollouts.get(_key(request))
        if rollout is None:
            return _not_found(request)
        try:
            patched = _apply(request.content_type, rollout, await request.text())
            result = _keep_what_the_endpoint_may_change(rollout, patched, subresource)
            self._check_schema(result)
        except PatchRefused as refused:
            return _status(refused.status, refused.reason, str(refused))
        if result != rollout:
            if result["spec"] != rollout["spec"]:
                result["metadata"]["generation"] += 1
            result["metadata"]["resourceVersion"] = self._next_resource_version()
            self._rollouts[_key(request)] = result
        return web.json_response(result)

    def _check_schema(self, rollout: dict[str, Any]) -> None:
        problems = schema_problems(rollout, _schema())
        if problems:
            name = rollout["metadata"]["name"]
            raise PatchRefused(
                422, "Invalid", f'Rollout.argoproj.io "{name}" is invalid: ' + "; ".join(problems)
            )

    def _next_resource_version(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)


class _Reconcile:
    """One pass of the controller over one Rollout."""

    def __init__(self, kube: FakeKubernetes, rollout: dict[str, Any]) -> None:
        self.kube = kube
        self.rollout = rollout
        self.spec = rollout["spec"]
        self.status = rollout["status"]

    def run(self) -> None:
        pod_hash = template_hash(self.spec["template"])
        if pod_hash != self.status.get("currentPodHash"):
            self._new_template(pod_hash)
            return
        self.status["observedGeneration"] = str(self.rollout["metadata"]["generation"])
        stable = self.status.get("stableRS") == pod_hash
        if self.status.get("abort"):
            if stable:
                self.status.pop("abort")
            else:
                self._aborted()
            return
        if stable:
            self._healthy()
        elif self.status.get("phase") == "Degraded":
            return
        elif self.kube._degrade_due(self.rollout):
            self._degraded()
        elif self.status.get("promoteFull"):
            self._make_stable()
        elif "canary" in self.spec["strategy"]:
            self._canary_step()
        else:
            self._blue_green_step()

    def _new_template(self, pod_hash: str) -> None:
        replicaset = self.kube._replicaset_for(self.rollout, pod_hash)
        self.rollout["metadata"]["annotations"][REVISION] = replicaset["metadata"]["annotations"][
            REVISION
        ]
        for reset in ("pauseConditions", "abort", "abortedAt", "promoteFull", "controllerPause"):
            self.status.pop(reset, None)
        self.status["currentPodHash"] = pod_hash
        self.status["observedGeneration"] = str(self.rollout["metadata"]["generation"])
        self.status.setdefault("stableRS", pod_hash)
        if "canary" in self.spec["strategy"]:
            back_to_stable = self.status["stableRS"] == pod_hash
            self.status["currentStepIndex"] = len(self._steps()) if back_to_stable else 0
        if self.status["stableRS"] == pod_hash:
            self._healthy()
        else:
            self._progressing()

    def _canary_step(self) -> None:
        steps = self._steps()
        index = self.status.get("currentStepIndex", 0)
        if self.spec.get("paused"):
            self._phase("Paused", "manually paused")
            return
        if index >= len(steps):
            self._make_stable()
            return
        if "pause" not in steps[index]:
            self.status["currentStepIndex"] = index + 1
            self._progressing()
        elif self.status.get("pauseConditions"):
            return
        elif self.status.get("controllerPause"):
            self.status.pop("controllerPause")
            self.status["currentStepIndex"] = index + 1
            self._progressing()
        else:
            self._pause("CanaryPauseStep")

    def _blue_green_step(self) -> None:
        self.status.setdefault("blueGreen", {})["previewSelector"] = self.status["currentPodHash"]
        auto = self.spec["strategy"]["blueGreen"].get("autoPromotionEnabled", True)
        if self.status.get("pauseConditions"):
            return
        if auto or self.status.get("controllerPause"):
            self._make_stable()
        else:
            self._pause("BlueGreenPause")

    def _pause(self, reason: str) -> None:
        self.status["pauseConditions"] = [{"reason": reason, "startTime": NOW}]
        self.status["controllerPause"] = True
        self._phase("Paused", reason)

    def _make_stable(self) -> None:
        pod_hash = self.status["currentPodHash"]
        self.status["stableRS"] = pod_hash
        for done in ("promoteFull", "pauseConditions", "controllerPause"):
            self.status.pop(done, None)
        if "canary" in self.spec["strategy"]:
            self.status["currentStepIndex"] = len(self._steps())
        else:
            self.status.setdefault("blueGreen", {})["activeSelector"] = pod_hash
        self._healthy()

    def _aborted(self) -> None:
        for cleared in ("pauseConditions", "controllerPause"):
            self.status.pop(cleared, None)
        if "canary" in self.spec["strategy"] and self._steps():
            self.status["currentStepIndex"] = 0
        self.status.setdefault("abortedAt", NOW)
        revision = self.rollout["metadata"]["annotations"].get(REVISION, "?")
        self._phase("Degraded", f"RolloutAborted: Rollout aborted update to revision {revision}")

    def _degraded(self) -> None:
        name = f"{self.rollout['metadata']['name']}-{self.status['currentPodHash']}"
        self._phase(
            "Degraded",
            f'ProgressDeadlineExceeded: ReplicaSet "{name}" has timed out progressing.',
        )

    def _healthy(self) -> None:
        self._phase("Healthy", "")

    def _progressing(self) -> None:
        self._phase("Progressing", "more replicas need to be updated")

    def _phase(self, phase: str, message: str) -> None:
        self.status["phase"] = phase
        if message:
            self.status["message"] = message
        else:
            self.status.pop("message", None)

    def _steps(self) -> list[dict[str, Any]]:
        return self.spec["strategy"]["canary"].get("steps") or []


# Patching as the API server does


def _apply(content_type: str, rollout: dict[str, Any], text: str) -> dict[str, Any]:
    if content_type not in (MERGE_PATCH, JSON_PATCH):
        raise PatchRefused(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format ({content_type or 'none'}) - "
            f"accepted media types include: {JSON_PATCH}, {MERGE_PATCH}, "
            "application/apply-patch+yaml",
        )
    try:
        patch = json.loads(text)
    except ValueError as exc:
        raise PatchRefused(400, "BadRequest", f"invalid JSON in the patch: {exc}") from exc
    if content_type == MERGE_PATCH:
        return merge_patch(rollout, patch)
    if not isinstance(patch, list):
        raise PatchRefused(400, "BadRequest", "a JSON patch is a list of operations")
    try:
        return jsonpatch.apply_patch(rollout, patch)
    except jsonpatch.InvalidJsonPatch as exc:
        raise PatchRefused(400, "BadRequest", str(exc)) from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise PatchRefused(422, "Invalid", str(exc)) from exc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _keep_what_the_endpoint_may_change(
    old: dict[str, Any], patched: dict[str, Any], subresource: bool
) -> dict[str, Any]:
    """/status changes only status; the resource changes all but status and the server's
    own metadata."""
    if not isinstance(patched, dict):
        raise PatchRefused(422, "Invalid", "the patched object is not an object")
    if subresource:
        result = copy.deepcopy(old)
        result["status"] = patched.get("status") or {}
        return result
    result = copy.deepcopy(patched)
    result["status"] = copy.deepcopy(old["status"])
    metadata = result.setdefault("metadata", {})
    for owned in ("name", "namespace", "uid", "generation", "resourceVersion"):
        metadata[owned] = old["metadata"][owned]
    return result


# The schema


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def schema_problems(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """What a Kubernetes structural schema (the subset's keywords) finds wrong with `value`."""
    where = path or "<root>"
    if schema.get("x-kubernetes-int-or-string"):
        ok = isinstance(value, int | str) and not isinstance(value, bool)
        return [] if ok else [f"{where}: must be an integer or a string"]
    expected = schema.get("type")
    if expected and not _is_type(value, expected):
        return [f"{where}: Invalid value: {json.dumps(value)}: must be of type {expected}"]
    if expected == "integer" and schema.get("format") == "int32" and not -(2**31) <= value < 2**31:
        return [f"{where}: {value} is out of the int32 range"]
    if isinstance(value, list):
        items = schema.get("items", {})
        return [
            p for i, item in enumerate(value) for p in schema_problems(item, items, f"{path}[{i}]")
        ]
    if isinstance(value, dict):
        return _object_problems(value, schema, path)
    return []


def _object_problems(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    prefix = f"{path}." if path else ""
    problems = [
        f"{prefix}{name}: Required value"
        for name in schema.get("required", [])
        if name not in value
    ]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            problems += schema_problems(item, properties[name], prefix + name)
        elif isinstance(extra, dict):
            problems += schema_problems(item, extra, prefix + name)
        elif properties and not schema.get("x-subset-open"):
            problems.append(f"{prefix}{name}: unknown field")
    return problems


def _is_type(value: Any, expected: str) -> bool:
    match expected:
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "string":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
    return True


# Helpers


def template_hash(template: Mapping[str, Any]) -> str:
    """Stands in for the controller's pod-template-hash (the hash label itself excluded)."""
    bare = copy.deepcopy(dict(template))
    (bare.get("metadata") or {}).get("labels", {}).pop(POD_HASH, None)
    return hashlib.sha256(json.dumps(bare, sort_keys=True).encode()).hexdigest()[:10]


def _new_replicaset(rollout: dict[str, Any], pod_hash: str) -> dict[str, Any]:
    name = rollout["metadata"]["name"]
    template = copy.deepcopy(rollout["spec"]["template"])
    labels = {**template.get("metadata", {}).get("labels", {}), POD_HASH: pod_hash}
    template.setdefault("metadata", {})["labels"] = labels
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name}-{pod_hash}",
            "namespace": rollout["metadata"]["namespace"],
            "labels": dict(labels),
            "annotations": {},
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": name,
                    "uid": rollout["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": rollout["spec"]["replicas"],
            "selector": {"matchLabels": dict(labels)},
            "template": template,
        },
    }


def _owner(replicaset: Mapping[str, Any]) -> str | None:
    for owner in replicaset["metadata"].get("ownerReferences", []):
        if owner.get("controller") and owner.get("kind") == "Rollout":
            return owner["name"]
    return None


def _label_selector(text: str) -> dict[str, str]:
    """Equality-based selectors only (`a=b,c==d`), which is all the adapter sends."""
    wanted: dict[str, str] = {}
    for term in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = term.replace("==", "=").partition("=")
        if not sep or not key or "!" in key:
            raise ValueError(f"unable to parse requirement: {term!r}")
        wanted[key] = value
    return wanted


def _key(request: web.Request) -> tuple[str, str]:
    return request.match_info["namespace"], request.match_info["name"]


def _not_found(request: web.Request) -> web.Response:
    return _status(
        404, "NotFound", f'rollouts.argoproj.io "{request.match_info["name"]}" not found'
    )


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)
