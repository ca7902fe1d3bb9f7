"""The Kubernetes objects the Argo Rollouts deployer reads (a Rollout, its ReplicaSets), the
questions it asks of them, and the operation ids it hands out."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.ports import IntegrationError

ROLLOUTS_API = "/apis/argoproj.io/v1alpha1"
REPLICASETS_API = "/apis/apps/v1"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
POD_HASH_LABEL = "rollouts-pod-template-hash"


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
