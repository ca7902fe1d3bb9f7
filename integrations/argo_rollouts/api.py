"""The Kubernetes API calls of the Argo Rollouts deployer: reads (retried), and the patches the
`kubectl argo rollouts` plugin sends. Messages never contain the token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from bot.core.ports import IntegrationError
from integrations.argo_rollouts.models import (
    REPLICASETS_API,
    ROLLOUTS_API,
    ReplicaSet,
    Rollout,
    RolloutRef,
)
from integrations.base import Http, Response, with_retries

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

Sleep = Callable[[float], Awaitable[None]]


class RolloutsApi:
    def __init__(
        self, http: Http, *, secrets: Iterable[str] = (), sleep: Sleep = asyncio.sleep
    ) -> None:
        """`sleep` is the wait between retries of a read."""
        self.http = http
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep

    async def close(self) -> None:
        await self.http.close()

    # Reading

    async def list_rollouts(self, namespace: str) -> None:
        """Raises IntegrationError unless the namespace's Rollouts can be listed."""
        await self._call(
            "GET", f"{ROLLOUTS_API}/namespaces/{namespace}/rollouts", params={"limit": "1"}
        )

    async def read(self, ref: RolloutRef) -> Rollout:
        response = await with_retries(lambda: self._call("GET", ref.path), sleep=self._sleep)
        if not isinstance(response.body, dict):
            raise IntegrationError(f"argo-rollouts: GET {ref.path} answered something not JSON")
        return Rollout(ref, response.body)

    async def replicasets(self, rollout: Rollout) -> list[ReplicaSet]:
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

    # The plugin's patches

    async def set_image(self, rollout: Rollout, index: int, image: str) -> None:
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

    async def put_back_template(self, rollout: Rollout, index: int, replicaset: ReplicaSet) -> None:
        """`undo`: the ReplicaSet's pod template into spec.template, unless the container's
        image changed since the Rollout was read."""
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

    async def promote(self, rollout: Rollout) -> None:
        if rollout.pause_reasons:
            await self._patch(
                rollout.ref.status_path, MERGE_PATCH, {"status": {"pauseConditions": None}}
            )
        if rollout.paused_by_spec:
            await self._patch(rollout.ref.path, MERGE_PATCH, {"spec": {"paused": False}})

    async def promote_full(self, ref: RolloutRef) -> None:
        await self._patch(ref.status_path, MERGE_PATCH, {"status": {"promoteFull": True}})

    async def abort(self, ref: RolloutRef) -> None:
        await self._patch(ref.status_path, MERGE_PATCH, {"status": {"abort": True}})

    # HTTP

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
            return await self.http.request(
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
