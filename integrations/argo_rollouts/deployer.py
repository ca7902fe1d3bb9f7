"""The Argo Rollouts deployer: the bot's stages and rollbacks as changes to a `Rollout`, and the
Rollout's status read back as progress.

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
"""

from __future__ import annotations

from bot.core.ports import IntegrationError, OperationStatus, RollbackRequest, StepRequest, Target
from integrations.argo_rollouts.api import RolloutsApi
from integrations.argo_rollouts.models import (
    Operation,
    ReplicaSet,
    Rollout,
    RolloutRef,
    image_repository,
    image_tag,
)
from integrations.argo_rollouts.settings import ArgoSettings

WAIT_FOR_CONTROLLER_S = 2
WAIT_FOR_ROLLOUT_S = 5


class ArgoRolloutsDeployer:
    """Implements Deployer and Probe (bot/core/ports/integrations.py) for Argo Rollouts."""

    def __init__(self, settings: ArgoSettings, api: RolloutsApi) -> None:
        self.settings = settings
        self._api = api

    async def close(self) -> None:
        await self._api.close()

    async def health(self) -> str | None:
        """None when every namespace's Rollouts can be listed with the token."""
        for namespace in self.settings.all_namespaces():
            try:
                await self._api.list_rollouts(namespace)
            except IntegrationError as exc:
                return str(exc)
        return None

    async def current_version(self, target: Target) -> str | None:
        """The version that serves traffic as stable: the tag of the container's image in the
        stable ReplicaSet. While a canary or a preview runs, spec.template already holds the new
        version, so the template is only trusted once the controller has seen it and made it
        stable; otherwise the stable ReplicaSet (status.stableRS) tells. None when the Rollout has
        no such container, or no stable ReplicaSet yet."""
        rollout = await self._api.read(self._ref(target))
        index = rollout.container_index(self.settings.container)
        if index is None:
            return None
        if rollout.fully_promoted:
            return image_tag(rollout.image(index))
        container = str(rollout.containers[index].get("name", ""))
        for replicaset in await self._api.replicasets(rollout):
            if replicaset.pod_hash and replicaset.pod_hash == rollout.stable_hash:
                return replicaset.version(container)
        return None

    async def start_step(self, request: StepRequest) -> str:
        ref = self._ref(request.target)
        rollout = await self._api.read(ref)
        index = self._container(rollout)
        full = request.percent == 100 or request.action == "switch"
        operation = Operation(
            ref, "full" if full else "step", request.percent or 0, request.version
        )
        if image_tag(rollout.image(index)) != request.version:
            image = self._image(request.target, rollout.image(index), request.version)
            await self._api.set_image(rollout, index, image)
        elif full:
            if rollout.wants_full_promotion():
                await self._api.promote_full(ref)
        elif rollout.awaits_promotion_below(request.percent or 0):
            await self._api.promote(rollout)
        return operation.id

    async def start_rollback(self, request: RollbackRequest) -> str:
        ref = self._ref(request.target)
        rollout = await self._api.read(ref)
        index = self._container(rollout)
        running = image_tag(rollout.image(index))
        if running is not None and _returned(running, request):
            return Operation(ref, "rollback", 0, running).id
        if not rollout.fully_promoted and not rollout.aborted:
            await self._api.abort(ref)
        version = await self._restore_previous(request, rollout, index)
        return Operation(ref, "rollback", 0, version).id

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        operation = Operation.parse(operation_id)
        rollout = await self._api.read(operation.ref)
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
            await self._api.promote_full(operation.ref)
            return OperationStatus(
                "running", f"promoting {operation.version} fully", WAIT_FOR_CONTROLLER_S
            )
        return OperationStatus("running", _describe(rollout), WAIT_FOR_ROLLOUT_S)

    async def _restore_previous(
        self, request: RollbackRequest, rollout: Rollout, index: int
    ) -> str:
        """`undo`: put back the pod template of the version to return to, from its ReplicaSet;
        when the history no longer has it, set that version's image instead."""
        container = str(rollout.containers[index].get("name", ""))
        for replicaset in _stable_first(await self._api.replicasets(rollout), rollout.stable_hash):
            version = replicaset.version(container)
            if version is not None and _is_rollback_target(version, request):
                await self._api.put_back_template(rollout, index, replicaset)
                return version
        if request.to_version is None:
            raise IntegrationError(
                f"argo-rollouts: rollout {rollout.ref} has no earlier revision to return to",
                retryable=False,
            )
        image = self._image(request.target, rollout.image(index), request.to_version)
        await self._api.set_image(rollout, index, image)
        return request.to_version

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
