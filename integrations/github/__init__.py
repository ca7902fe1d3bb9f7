"""GitHub: the CI gate (commit statuses and check runs, required and ignored checks, a build
workflow dispatched when nothing has run), commit authors, releases mirrored as GitHub
Deployments, and, with `deploy_workflow`, GitHub Actions as a deployer. See settings.py for
the catalog block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.ports import (
    CiStatus,
    DeploymentRecord,
    IntegrationError,
    OperationStatus,
    RollbackRequest,
    StepRequest,
    Target,
)
from integrations.base import BackendContext, SettingsProblem
from integrations.github.actions import GitHubActionsDeployer
from integrations.github.api import GitHubApi
from integrations.github.ci import GitHubCI
from integrations.github.deployments import GitHubDeployments
from integrations.github.settings import GitHubSettings


class GitHub:
    """Implements CI, DeploymentMirror, Probe and, with a deploy workflow, Deployer
    (bot/core/ports/integrations.py)."""

    def __init__(self, settings: GitHubSettings, context: BackendContext) -> None:
        self.settings = settings
        self.roles = frozenset(
            {"ci", "deployments", *(("deployer",) if settings.deploy_workflow else ())}
        )
        secret = settings.webhook_secret
        self.webhook_secret: bytes | None = secret.encode() if secret else None
        self._api = GitHubApi(settings)
        self._ci = GitHubCI(self._api, settings)
        self._deployments = GitHubDeployments(self._api, context.production_environments)
        self._actions: GitHubActionsDeployer | None = None
        if settings.deploy_workflow:
            if context.operations is None:
                raise SettingsProblem("github deploy_workflow needs the bot's operation store")
            self._actions = GitHubActionsDeployer(
                self._api, settings, context.operations, context.clock, context.name or "github"
            )

    async def resolve_version(self, target: Target, ref: str | None) -> str:
        return await self._ci.resolve_version(target, ref)

    async def status(self, target: Target, version: str, since: str | None = None) -> CiStatus:
        return await self._ci.status(target, version, since)

    async def record(self, record: DeploymentRecord) -> None:
        await self._deployments.record(record)

    # Deployer (with deploy_workflow)

    def _deployer(self) -> GitHubActionsDeployer:
        if self._actions is None:
            raise IntegrationError(
                "github: this backend has no deploy_workflow, so it cannot deploy",
                retryable=False,
            )
        return self._actions

    async def current_version(self, target: Target) -> str | None:
        return await self._deployer().current_version(target)

    async def start_step(self, request: StepRequest) -> str:
        return await self._deployer().start_step(request)

    async def start_rollback(self, request: RollbackRequest) -> str:
        return await self._deployer().start_rollback(request)

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        return await self._deployer().poll(target, operation_id)

    async def close(self) -> None:
        await self._api.http.close()

    async def health(self) -> str | None:
        try:
            await self._api.get("/rate_limit")
        except IntegrationError as exc:
            return str(exc)
        return None


def build(settings: Mapping[str, Any], context: BackendContext) -> GitHub:
    return GitHub(GitHubSettings.parse(settings, context.env), context)
