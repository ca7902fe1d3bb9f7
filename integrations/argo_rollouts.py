"""Argo Rollouts as a deployment backend: drives a `Rollout` through the Kubernetes API with the
requests the `kubectl argo rollouts` plugin sends (set image, promote, promote --full, abort,
undo) and reads the Rollout's status to report progress.

Catalog settings (`backends: NAME: {type: argo-rollouts, settings: {...}}`):
  api_url: https://k8s.example.com:6443   required
  namespace: default                      where the Rollouts live
  namespaces: {production: checkout-prod} per environment, over `namespace`
  rollout: "{service}"                    the Rollout's name
  container: (the first one)              the container whose image tag is the version
  image: (that container's repository)    e.g. registry.example.com/{service}
  token_env / token_file                  a Bearer token (a service account's)
  ca_file                                 CA bundle for the API server's certificate
  insecure_skip_tls_verify: false
  timeout_s: 10

How the bot's stages map onto the Rollout. Its canary steps should match the catalog's: a
`setWeight` for each percentage but the last, each followed by an indefinite `pause: {}`.
  - The first step sets the image; the controller walks to the Rollout's first pause.
  - A later step promotes (clears status.pauseConditions, and spec.paused), once: only when the
    Rollout waits at a pause below the step's weight. It is done at the next pause.
  - 100%, and blue-green's switch, promote fully (status.promoteFull, as `promote --full`).
  - A rollback aborts an unfinished update (all traffic back on the stable ReplicaSet at once),
    then writes the pod template of the version to return to back into spec.template, taken
    from that version's ReplicaSet (as `undo` does). The controller then sees the stable template
    again, drops the abort and reports Healthy, so the Rollout is not left Degraded and the next
    release starts from a clean template.

Whether to patch is decided from the Rollout's observed state, so a retried step (same
idempotency key, after a crash) does not patch twice. If the Rollout pauses at more weights than
the catalog lists, a promote is not tied to one pause: a retry that arrives after the controller
reached the next pause, still below the step's weight, promotes once more.

The controller clears status.promoteFull when it meets a new template, so a full promotion has to
wait until it has seen the template: when the 100% step also sets the image, or a rollback puts
back a template that is not the stable one, `poll` sends promoteFull once the controller has
caught up. That flag is the only write `poll` makes; sending it twice changes nothing.

Operation ids ("argo:NAMESPACE/NAME:KIND:PERCENT:VERSION") hold all that polling needs.
Needs Argo Rollouts v0.10 or later, where a Rollout's status is a subresource.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.ports import IntegrationError, OperationStatus, RollbackRequest, StepRequest, Target
from integrations.base import (
    BackendContext,
    Http,
    Response,
    SettingsProblem,
    reject_unknown,
    required,
    secret,
    text_setting,
    with_retries,
)

NAME = "argo-rollouts"
ROLLOUTS_API = "/apis/argoproj.io/v1alpha1"
REPLICASETS_API = "/apis/apps/v1"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
POD_HASH_LABEL = "rollouts-pod-template-hash"
KNOWN_SETTINGS = frozenset(
    {
        "api_url",
        "namespace",
        "namespaces",
        "rollout",
        "container",
        "image",
        "token_env",
        "token_file",
        "ca_file",
        "insecure_skip_tls_verify",
        "timeout_s",
    }
)
WAIT_FOR_CONTROLLER_S = 2
WAIT_FOR_ROLLOUT_S = 5

Sleep = Callable[[float], Awaitable[None]]


# Settings


@dataclass(frozen=True)
class ArgoSettings:
    api_url: str
    namespace: str = "default"
    namespaces: Mapping[str, str] = field(default_factory=dict)
    rollout: str = "{service}"
    container: str | None = None
    image: str | None = None
    timeout_s: float = 10.0

    def namespace_for(self, target: Target) -> str:
        return self.namespaces.get(target.environment, self.namespace)

    def rollout_for(self, target: Target) -> str:
        return self.rollout.replace("{service}", target.service)

    def repository_for(self, target: Target) -> str | None:
        return self.image.replace("{service}", target.service) if self.image else None

    def all_namespaces(self) -> list[str]:
        return sorted({self.namespace, *self.namespaces.values()})


def build(
    settings: dict, context: BackendContext, *, sleep: Sleep = asyncio.sleep
) -> ArgoRolloutsDeployer:
    """The deployer a catalog backend of type argo-rollouts names; SettingsProblem if it cannot
    work. `sleep` is the wait between retries of a read."""
    reject_unknown(settings, KNOWN_SETTINGS, NAME)
    parsed = ArgoSettings(
        api_url=_api_url(settings),
        namespace=_name(settings, "namespace", "default"),
        namespaces=_namespaces(settings.get("namespaces")),
        rollout=_name(settings, "rollout", "{service}"),
        container=_optional_name(settings, "container"),
        image=_repository(settings.get("image")),
        timeout_s=_timeout(settings.get("timeout_s", 10)),
    )
    token = secret(settings, "token", context.env)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http = Http(
        parsed.api_url, name=NAME, headers=headers, timeout_s=parsed.timeout_s, ssl=_tls(settings)
    )
    return ArgoRolloutsDeployer(parsed, http, secrets=(token,) if token else (), sleep=sleep)


def _api_url(settings: Mapping[str, Any]) -> str:
    url = str(required(settings, "api_url", NAME))
    if not url.startswith(("https://", "http://")):
        raise SettingsProblem(
            f"argo-rollouts `api_url` must start with https:// (or http:// for a local "
            f"kubectl proxy), not {url!r}"
        )
    return url


def _name(settings: Mapping[str, Any], key: str, default: str) -> str:
    return text_setting(settings, key, default, NAME)


def _optional_name(settings: Mapping[str, Any], key: str) -> str | None:
    return _name(settings, key, "") if settings.get(key) is not None else None


def _namespaces(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(env, str) and isinstance(ns, str) and ns.strip() for env, ns in value.items()
    ):
        raise SettingsProblem(
            "argo-rollouts `namespaces` maps environments to namespaces, e.g. "
            "{staging: checkout-staging, production: checkout-prod}"
        )
    return {env: ns.strip() for env, ns in value.items()}


def _repository(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingsProblem("argo-rollouts `image` must be a non-empty string")
    if image_tag(value) is not None or "@" in value:
        raise SettingsProblem(
            f"argo-rollouts `image` is a repository without a tag (the tag is the version), "
            f"not {value!r}"
        )
    return value.strip()


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SettingsProblem("argo-rollouts `timeout_s` must be a positive number of seconds")
    return float(value)


def _tls(settings: Mapping[str, Any]) -> ssl.SSLContext | bool | None:
    """aiohttp's `ssl`: False skips verification, a context trusts `ca_file`, None the system."""
    insecure = settings.get("insecure_skip_tls_verify", False)
    if not isinstance(insecure, bool):
        raise SettingsProblem("argo-rollouts `insecure_skip_tls_verify` must be true or false")
    ca_file = settings.get("ca_file")
    if insecure and ca_file:
        raise SettingsProblem(
            "argo-rollouts: set `ca_file` or `insecure_skip_tls_verify`, not both"
        )
    if insecure:
        return False
    if not ca_file:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = exc.strerror or type(exc).__name__
        raise SettingsProblem(
            f"argo-rollouts ca_file {ca_file}: cannot load it ({reason})"
        ) from exc


# Images


def image_tag(image: str) -> str | None:
    """The tag of `registry:5000/team/app:v1.2@sha256:...` (v1.2), None when untagged."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def image_repository(image: str) -> str:
    without_digest = image.split("@", 1)[0]
    tag = image_tag(without_digest)
    return without_digest[: -len(tag) - 1] if tag is not None else without_digest


# What the adapter reads from the API


@dataclass(frozen=True)
class RolloutRef:
    namespace: str
    name: str

    @property
    def path(self) -> str:
        return f"{ROLLOUTS_API}/namespaces/{self.namespace}/rollouts/{self.name}"

    @property
    def status_path(self) -> str:
        return f"{self.path}/status"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Rollout:
    """A Rollout object as the API answered it, with the questions the adapter asks of it."""

    ref: RolloutRef
    body: Mapping[str, Any]

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.body.get("spec") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        return self.body.get("status") or {}

    @property
    def uid(self) -> str:
        return (self.body.get("metadata") or {}).get("uid", "")

    @property
    def template(self) -> Mapping[str, Any]:
        return self.spec.get("template") or {}

    @property
    def containers(self) -> list[Mapping[str, Any]]:
        return list((self.template.get("spec") or {}).get("containers") or [])

    @property
    def selector(self) -> Mapping[str, str]:
        return (self.spec.get("selector") or {}).get("matchLabels") or {}

    @property
    def observed(self) -> bool:
        """The controller has acted on the current spec (else the status describes an older one)."""
        generation = (self.body.get("metadata") or {}).get("generation")
        return str(self.status.get("observedGeneration", "")) == str(generation)

    @property
    def stable_hash(self) -> str:
        return self.status.get("stableRS") or ""

    @property
    def current_hash(self) -> str:
        return self.status.get("currentPodHash") or ""

    @property
    def fully_promoted(self) -> bool:
        return self.observed and bool(self.stable_hash) and self.current_hash == self.stable_hash

    @property
    def aborted(self) -> bool:
        return bool(self.status.get("abort"))

    @property
    def degraded(self) -> bool:
        return self.phase in ("Degraded", "Error")

    @property
    def pause_reasons(self) -> list[str]:
        return [c.get("reason", "") for c in self.status.get("pauseConditions") or []]

    @property
    def paused_by_spec(self) -> bool:
        return bool(self.spec.get("paused"))

    @property
    def promote_full(self) -> bool:
        return bool(self.status.get("promoteFull"))

    @property
    def phase(self) -> str:
        return self.status.get("phase") or ""

    @property
    def message(self) -> str:
        return self.status.get("message") or ""

    @property
    def canary(self) -> bool:
        return "canary" in (self.spec.get("strategy") or {})

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        canary = (self.spec.get("strategy") or {}).get("canary") or {}
        return list(canary.get("steps") or [])

    @property
    def step_index(self) -> int:
        return int(self.status.get("currentStepIndex") or 0)

    @property
    def weight(self) -> int:
        """The canary's set weight, as the plugin computes it (GetCanaryReplicasOrWeight)."""
        if self.promote_full or not self.stable_hash or self.current_hash == self.stable_hash:
            return 100
        if self.aborted:
            return 0
        if self.step_index >= len(self.steps):
            return 100
        for step in reversed(self.steps[: self.step_index + 1]):
            if "setWeight" in step:
                return int(step["setWeight"])
        return 0

    def awaits_promotion_below(self, percent: int) -> bool:
        """A canary waiting at a pause below `percent`, which a promote should release. (A
        blue-green Rollout's only partial step is the preview: it is never promoted.)"""
        paused = bool(self.pause_reasons) or self.paused_by_spec
        if not (self.observed and paused) or self.aborted or self.fully_promoted:
            return False
        return self.canary and self.weight < percent

    def wants_full_promotion(self) -> bool:
        return (
            self.observed
            and bool(self.current_hash)
            and not self.fully_promoted
            and not self.promote_full
            and not self.aborted
            and not self.degraded
        )

    def container_index(self, name: str | None) -> int | None:
        for index, container in enumerate(self.containers):
            if name is None or container.get("name") == name:
                return index
        return None

    def image(self, index: int) -> str:
        return str(self.containers[index].get("image", ""))


@dataclass(frozen=True)
class ReplicaSet:
    body: Mapping[str, Any]

    @property
    def labels(self) -> Mapping[str, str]:
        return (self.body.get("metadata") or {}).get("labels") or {}

    @property
    def pod_hash(self) -> str:
        return self.labels.get(POD_HASH_LABEL, "")

    @property
    def revision(self) -> int:
        annotations = (self.body.get("metadata") or {}).get("annotations") or {}
        try:
            return int(annotations.get(REVISION_ANNOTATION, 0))
        except ValueError:
            return 0

    def owned_by(self, rollout: Rollout) -> bool:
        owners = (self.body.get("metadata") or {}).get("ownerReferences") or []
        return any(
            owner.get("controller")
            and owner.get("kind") == "Rollout"
            and (
                owner.get("uid") == rollout.uid
                if rollout.uid
                else owner.get("name") == rollout.ref.name
            )
            for owner in owners
        )

    def template_without_hash(self) -> dict[str, Any]:
        """Its pod template as spec.template should hold it (undo drops the hash label too)."""
        template = copy.deepcopy(dict((self.body.get("spec") or {}).get("template") or {}))
        labels = (template.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            labels.pop(POD_HASH_LABEL, None)
        return template

    def version(self, container: str) -> str | None:
        containers = ((self.body.get("spec") or {}).get("template") or {}).get("spec") or {}
        for candidate in containers.get("containers") or []:
            if candidate.get("name") == container:
                return image_tag(str(candidate.get("image", "")))
        return None


@dataclass(frozen=True)
class Operation:
    """What a step or rollback waits for; its id is all that polling needs."""

    ref: RolloutRef
    kind: str  # "step" (reach a pause), "full" (fully promoted) or "rollback"
    percent: int
    version: str

    @property
    def id(self) -> str:
        return f"argo:{self.ref}:{self.kind}:{self.percent}:{self.version}"

    @classmethod
    def parse(cls, operation_id: str) -> Operation:
        match = _OPERATION.match(operation_id)
        if match is None:
            raise IntegrationError(
                f"argo-rollouts: unknown operation {operation_id!r}", retryable=False
            )
        ref = RolloutRef(match["namespace"], match["name"])
        return cls(ref, match["kind"], int(match["percent"]), match["version"])


_OPERATION = re.compile(
    r"^argo:(?P<namespace>[^/:]+)/(?P<name>[^/:]+):(?P<kind>step|full|rollback)"
    r":(?P<percent>\d+):(?P<version>[^:]+)$"
)


# The deployer


class ArgoRolloutsDeployer:
    """Implements Deployer and Probe (bot/core/ports/integrations.py) for Argo Rollouts."""

    def __init__(
        self,
        settings: ArgoSettings,
        http: Http,
        *,
        secrets: Iterable[str] = (),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._http = http
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep

    async def health(self) -> str | None:
        """None when every namespace's Rollouts can be listed with the token."""
        for namespace in self.settings.all_namespaces():
            try:
                await self._call(
                    "GET", f"{ROLLOUTS_API}/namespaces/{namespace}/rollouts", params={"limit": "1"}
                )
            except IntegrationError as exc:
                return str(exc)
        return None

    async def current_version(self, target: Target) -> str | None:
        """The version that serves traffic as stable: the tag of the container's image in the
        stable ReplicaSet. While a canary or a preview runs, spec.template already holds the new
        version, so the template is only trusted once the controller has seen it and made it
        stable; otherwise the stable ReplicaSet (status.stableRS) tells. None when the Rollout has
        no such container, or no stable ReplicaSet yet."""
        rollout = await self._read(self._ref(target))
        index = rollout.container_index(self.settings.container)
        if index is None:
            return None
        if rollout.fully_promoted:
            return image_tag(rollout.image(index))
        container = str(rollout.containers[index].get("name", ""))
        for replicaset in await self._replicasets(rollout):
            if replicaset.pod_hash and replicaset.pod_hash == rollout.stable_hash:
                return replicaset.version(container)
        return None

    async def start_step(self, request: StepRequest) -> str:
        ref = self._ref(request.target)
        rollout = await self._read(ref)
        index = self._container(rollout)
        full = request.percent == 100 or request.action == "switch"
        operation = Operation(
            ref, "full" if full else "step", request.percent or 0, request.version
        )
        if image_tag(rollout.image(index)) != request.version:
            image = self._image(request.target, rollout.image(index), request.version)
            await self._set_image(rollout, index, image)
        elif full:
            if rollout.wants_full_promotion():
                await self._promote_full(ref)
        elif rollout.awaits_promotion_below(request.percent or 0):
            await self._promote(rollout)
        return operation.id

    async def start_rollback(self, request: RollbackRequest) -> str:
        ref = self._ref(request.target)
        rollout = await self._read(ref)
        index = self._container(rollout)
        running = image_tag(rollout.image(index))
        if running is not None and _returned(running, request):
            return Operation(ref, "rollback", 0, running).id
        if not rollout.fully_promoted and not rollout.aborted:
            await self._abort(ref)
        version = await self._restore_previous(request, rollout, index)
        return Operation(ref, "rollback", 0, version).id

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        operation = Operation.parse(operation_id)
        rollout = await self._read(operation.ref)
        index = self._container(rollout)
        running = image_tag(rollout.image(index))
        if running != operation.version:
            return OperationStatus(
                "failed",
                f"rollout {operation.ref} now has {running or 'an untagged image'} in its "
                f"template, not {operation.version}: it was changed outside this release",
            )
        if not rollout.observed:
            return OperationStatus(
                "running",
                "waiting for the Argo Rollouts controller to pick up the change",
                WAIT_FOR_CONTROLLER_S,
            )
        if rollout.aborted:
            return OperationStatus("failed", f"aborted: {rollout.message or 'RolloutAborted'}")
        if rollout.degraded:
            return OperationStatus("failed", f"{rollout.phase}: {rollout.message or 'no message'}")
        if rollout.fully_promoted:
            return _settled(rollout, operation.version)
        if operation.kind == "step":
            return _step_status(rollout, operation.percent)
        if rollout.wants_full_promotion():
            await self._promote_full(operation.ref)
            return OperationStatus(
                "running", f"promoting {operation.version} fully", WAIT_FOR_CONTROLLER_S
            )
        return OperationStatus("running", _describe(rollout), WAIT_FOR_ROLLOUT_S)

    # The plugin's patches

    async def _set_image(self, rollout: Rollout, index: int, image: str) -> None:
        """`set image`, as a JSON patch that fails (422) rather than overwrite a template that
        changed since it was read."""
        container = f"/spec/template/spec/containers/{index}"
        await self._patch(
            rollout.ref.path,
            JSON_PATCH,
            [
                {
                    "op": "test",
                    "path": f"{container}/name",
                    "value": rollout.containers[index]["name"],
                },
                {"op": "test", "path": f"{container}/image", "value": rollout.image(index)},
                {"op": "replace", "path": f"{container}/image", "value": image},
            ],
        )

    async def _promote(self, rollout: Rollout) -> None:
        if rollout.pause_reasons:
            await self._patch(
                rollout.ref.status_path, MERGE_PATCH, {"status": {"pauseConditions": None}}
            )
        if rollout.paused_by_spec:
            await self._patch(rollout.ref.path, MERGE_PATCH, {"spec": {"paused": False}})

    async def _promote_full(self, ref: RolloutRef) -> None:
        await self._patch(ref.status_path, MERGE_PATCH, {"status": {"promoteFull": True}})

    async def _abort(self, ref: RolloutRef) -> None:
        await self._patch(ref.status_path, MERGE_PATCH, {"status": {"abort": True}})

    async def _restore_previous(
        self, request: RollbackRequest, rollout: Rollout, index: int
    ) -> str:
        """`undo`: put back the pod template of the version to return to, from its ReplicaSet;
        when the history no longer has it, set that version's image instead."""
        container = str(rollout.containers[index].get("name", ""))
        for replicaset in _stable_first(await self._replicasets(rollout), rollout.stable_hash):
            version = replicaset.version(container)
            if version is not None and _is_rollback_target(version, request):
                await self._patch(
                    rollout.ref.path,
                    JSON_PATCH,
                    [
                        {
                            "op": "test",
                            "path": f"/spec/template/spec/containers/{index}/image",
                            "value": rollout.image(index),
                        },
                        {
                            "op": "replace",
                            "path": "/spec/template",
                            "value": replicaset.template_without_hash(),
                        },
                    ],
                )
                return version
        if request.to_version is None:
            raise IntegrationError(
                f"argo-rollouts: rollout {rollout.ref} has no earlier revision to return to",
                retryable=False,
            )
        image = self._image(request.target, rollout.image(index), request.to_version)
        await self._set_image(rollout, index, image)
        return request.to_version

    # Reading

    def _ref(self, target: Target) -> RolloutRef:
        return RolloutRef(self.settings.namespace_for(target), self.settings.rollout_for(target))

    def _container(self, rollout: Rollout) -> int:
        index = rollout.container_index(self.settings.container)
        if index is None:
            wanted = f"named {self.settings.container!r}" if self.settings.container else "at all"
            raise IntegrationError(
                f"argo-rollouts: rollout {rollout.ref} has no container {wanted}", retryable=False
            )
        return index

    def _image(self, target: Target, current_image: str, version: str) -> str:
        repository = self.settings.repository_for(target) or image_repository(current_image)
        return f"{repository}:{version}"

    async def _read(self, ref: RolloutRef) -> Rollout:
        response = await with_retries(lambda: self._call("GET", ref.path), sleep=self._sleep)
        if not isinstance(response.body, dict):
            raise IntegrationError(f"argo-rollouts: GET {ref.path} answered something not JSON")
        return Rollout(ref, response.body)

    async def _replicasets(self, rollout: Rollout) -> list[ReplicaSet]:
        """The Rollout's ReplicaSets, found as the plugin's undo finds them: by its selector,
        keeping those it controls."""
        path = f"{REPLICASETS_API}/namespaces/{rollout.ref.namespace}/replicasets"
        selector = ",".join(f"{key}={value}" for key, value in sorted(rollout.selector.items()))
        params = {"labelSelector": selector} if selector else None
        response = await with_retries(
            lambda: self._call("GET", path, params=params), sleep=self._sleep
        )
        items = response.body.get("items", []) if isinstance(response.body, dict) else []
        replicasets = [ReplicaSet(item) for item in items if isinstance(item, dict)]
        return [replicaset for replicaset in replicasets if replicaset.owned_by(rollout)]

    async def _patch(self, path: str, content_type: str, body: Any) -> None:
        await self._call("PATCH", path, body=body, content_type=content_type)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        try:
            return await self._http.request(
                method,
                path,
                params=params,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": content_type} if content_type else None,
            )
        except IntegrationError as exc:
            message = str(exc)
            if not any(s in message for s in self._secrets):
                raise
            for value in self._secrets:
                message = message.replace(value, "[token]")
            raise IntegrationError(message, retryable=exc.retryable) from None


def _returned(running: str, request: RollbackRequest) -> bool:
    """The Rollout's template is already the version a rollback returns to."""
    if request.to_version is not None:
        return running == request.to_version
    return running != request.from_version


def _is_rollback_target(version: str, request: RollbackRequest) -> bool:
    if request.to_version is not None:
        return version == request.to_version
    return version != request.from_version


def _stable_first(replicasets: list[ReplicaSet], stable_hash: str) -> list[ReplicaSet]:
    """The stable ReplicaSet (what an abort returns to), then the newest revision first."""
    return sorted(replicasets, key=lambda rs: (rs.pod_hash != stable_hash, -rs.revision))


def _settled(rollout: Rollout, version: str) -> OperationStatus:
    if rollout.phase == "Healthy":
        return OperationStatus("succeeded", f"healthy on {version}")
    return OperationStatus("running", _describe(rollout), WAIT_FOR_ROLLOUT_S)


def _step_status(rollout: Rollout, percent: int) -> OperationStatus:
    if not rollout.pause_reasons:
        return OperationStatus("running", _describe(rollout), WAIT_FOR_ROLLOUT_S)
    detail = _describe(rollout)
    if rollout.canary and rollout.weight < percent:
        detail += f" (below the {percent}% asked: the Rollout pauses at weights the catalog omits)"
    return OperationStatus("succeeded", detail)


def _describe(rollout: Rollout) -> str:
    if rollout.canary and rollout.steps:
        where = f"step {rollout.step_index}/{len(rollout.steps)}, weight {rollout.weight}%"
    elif rollout.canary:
        where = f"weight {rollout.weight}%"
    else:
        where = "the preview, before the switch"
    if rollout.pause_reasons:
        return f"paused at {where} ({', '.join(rollout.pause_reasons)})"
    if rollout.phase == "Paused" and not rollout.paused_by_spec:
        return f"resuming from {where}"  # promoted; the controller has not written status yet
    state = rollout.phase or "Progressing"
    return f"{state} at {where}" + (f": {rollout.message}" if rollout.message else "")
