"""GitHub Actions as a deployer: each stage (and each rollback) dispatches the service's deploy
workflow (workflow_dispatch) with the stage as inputs, and the workflow run is the operation.

The workflow declares these inputs (all strings): service, environment, version,
previous_version, action (weight, batch, deploy_green, switch, flag or rollback), percent,
stage, release_id, idempotency_key. What runs now is what GitHub's Deployments record as the
last successful deployment to the environment (the bot mirrors its releases there).

A dispatch whose answer is lost (a timeout) is sent again with the same idempotency_key, so a
deploy workflow must be idempotent on that input: GitHub has no idempotency key of its own."""

from __future__ import annotations

from typing import Any

from bot.core.ports import (
    Clock,
    IntegrationError,
    OperationStatus,
    OperationStore,
    RollbackRequest,
    StepRequest,
    Target,
)
from integrations.github.api import GitHubApi, ref_path, repo_path
from integrations.github.settings import GitHubSettings

RUNNING = {"queued", "in_progress", "waiting", "requested", "pending"}
RECENT_DEPLOYMENTS = 10


class GitHubActionsDeployer:
    def __init__(
        self,
        api: GitHubApi,
        settings: GitHubSettings,
        operations: OperationStore,
        clock: Clock,
        backend: str,
    ) -> None:
        self._api = api
        self._settings = settings
        self._operations = operations
        self._clock = clock
        self._backend = backend

    async def current_version(self, target: Target) -> str | None:
        base = repo_path(target.repository)
        listed = await self._api.get(
            f"{base}/deployments",
            {"environment": target.environment, "per_page": RECENT_DEPLOYMENTS},
        )
        for deployment in listed.body or []:
            statuses = await self._api.get(
                f"{base}/deployments/{deployment['id']}/statuses", {"per_page": 1}
            )
            latest = (statuses.body or [{}])[0] if statuses.body else {}
            if latest.get("state") == "success":
                return str(deployment["ref"])
        return None

    async def start_step(self, request: StepRequest) -> str:
        return await self._dispatch(
            request.target,
            request.idempotency_key,
            {
                "version": request.version,
                "previous_version": request.previous_version or "",
                "action": request.action,
                "percent": "" if request.percent is None else str(request.percent),
                "stage": request.label,
                "release_id": str(request.release_id),
            },
        )

    async def start_rollback(self, request: RollbackRequest) -> str:
        return await self._dispatch(
            request.target,
            request.idempotency_key,
            {
                "version": request.to_version or "",
                "previous_version": request.from_version,
                "action": "rollback",
                "percent": "100",
                "stage": "rollback",
                "release_id": str(request.release_id),
            },
        )

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        run_id = _run_id(operation_id)
        run = (await self._api.get(f"{repo_path(target.repository)}/actions/runs/{run_id}")).body
        status, conclusion = run.get("status"), run.get("conclusion")
        link = run.get("html_url", "")
        if status in RUNNING or status is None:
            return OperationStatus("running", f"workflow run {status or 'starting'}", 10)
        if conclusion == "success":
            return OperationStatus("succeeded", f"workflow run succeeded: {link}")
        return OperationStatus("failed", f"workflow run {conclusion or status}: {link}")

    async def _dispatch(self, target: Target, key: str, inputs: dict[str, str]) -> str:
        """One workflow run per idempotency key, across restarts and replicas: the run id is
        kept in the operation store before the answer is given back."""
        remembered = f"github-run:{self._backend}:{key}"
        known = await self._operations.get(remembered)
        if known is not None:
            return f"gha:{known.detail}"
        workflow = ref_path(str(self._settings.deploy_workflow))
        response = await self._api.post(
            f"{repo_path(target.repository)}/actions/workflows/{workflow}/dispatches",
            {
                "ref": self._settings.workflow_ref,
                "inputs": {
                    "service": target.service,
                    "environment": target.environment,
                    "idempotency_key": key,
                    **inputs,
                },
                "return_run_details": True,
            },
            expect=(200, 204),
        )
        run_id = _dispatched_run(response.body)
        await self._operations.put(remembered, OperationStatus("running", str(run_id)))
        return f"gha:{run_id}"


def _dispatched_run(body: Any) -> int:
    if isinstance(body, dict) and isinstance(body.get("workflow_run_id"), int):
        return body["workflow_run_id"]
    raise IntegrationError(
        "github: the workflow was dispatched but GitHub did not say which run it started "
        "(return_run_details needs github.com or GHES 3.19+)",
        retryable=False,
    )


def _run_id(operation_id: str) -> int:
    prefix, _, run = operation_id.partition(":")
    if prefix != "gha" or not run.isdigit():
        raise IntegrationError(f"github: unknown operation {operation_id!r}", retryable=False)
    return int(run)
