"""GitHub: the CI gate (commit statuses and check runs, required and ignored checks, a build
workflow dispatched when nothing has run), commit authors, and releases mirrored as
GitHub Deployments. See settings.py for the catalog block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.ports import CiStatus, DeploymentRecord, IntegrationError, Target
from integrations.base import BackendContext
from integrations.github.api import GitHubApi
from integrations.github.ci import GitHubCI
from integrations.github.deployments import GitHubDeployments
from integrations.github.settings import GitHubSettings


class GitHub:
    """Implements CI, DeploymentMirror and Probe (bot/core/ports.py)."""

    def __init__(self, settings: GitHubSettings, production: frozenset[str]) -> None:
        self.settings = settings
        secret = settings.webhook_secret
        self.webhook_secret: bytes | None = secret.encode() if secret else None
        self._api = GitHubApi(settings)
        self._ci = GitHubCI(self._api, settings)
        self._deployments = GitHubDeployments(self._api, production)

    async def resolve_version(self, target: Target, ref: str | None) -> str:
        return await self._ci.resolve_version(target, ref)

    async def status(self, target: Target, version: str, since: str | None = None) -> CiStatus:
        return await self._ci.status(target, version, since)

    async def record(self, record: DeploymentRecord) -> None:
        await self._deployments.record(record)

    async def health(self) -> str | None:
        try:
            await self._api.get("/rate_limit")
        except IntegrationError as exc:
            return str(exc)
        return None


def build(settings: Mapping[str, Any], context: BackendContext) -> GitHub:
    return GitHub(GitHubSettings.parse(settings, context.env), context.production_environments)
