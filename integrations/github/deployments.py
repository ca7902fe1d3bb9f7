"""Releases mirrored as GitHub Deployments: one deployment per release (found again by the
release id in its payload), one deployment status per state the release reaches."""

from __future__ import annotations

from typing import Any

from bot.core.ports import DeploymentRecord, IntegrationError
from integrations.github.api import GitHubApi, repo_path

PAYLOAD_KEY = "releasebot_release_id"


class GitHubDeployments:
    def __init__(self, api: GitHubApi, production_environments: frozenset[str]) -> None:
        self._api = api
        self._production = production_environments
        self._known: dict[tuple[str, int], int] = {}  # (repository, release id) -> deployment

    async def record(self, record: DeploymentRecord) -> None:
        deployment = await self._deployment(record)
        path = f"{repo_path(record.target.repository)}/deployments/{deployment}/statuses"
        latest = (await self._api.get(path, {"per_page": 1})).body or []
        if latest and latest[0].get("state") == record.state:
            return  # recorded already (a retry after the answer was lost)
        body: dict[str, Any] = {
            "state": record.state,
            "description": record.description[:140],
            "environment": record.target.environment,
            "auto_inactive": record.state == "success",
        }
        if record.log_url:
            body["log_url"] = record.log_url
        await self._api.post(path, body, expect=(201,))

    async def _deployment(self, record: DeploymentRecord) -> int:
        key = (record.target.repository, record.release_id)
        if key in self._known:
            return self._known[key]
        found = await self._find(record)
        if found is None:
            found = await self._create(record)
        self._known[key] = found
        return found

    async def _find(self, record: DeploymentRecord) -> int | None:
        listed = await self._api.get(
            f"{repo_path(record.target.repository)}/deployments",
            {"environment": record.target.environment, "ref": record.version, "per_page": 100},
        )
        for deployment in listed.body or []:
            payload = deployment.get("payload")
            if isinstance(payload, dict) and payload.get(PAYLOAD_KEY) == record.release_id:
                return int(deployment["id"])
        return None

    async def _create(self, record: DeploymentRecord) -> int:
        response = await self._api.post(
            f"{repo_path(record.target.repository)}/deployments",
            {
                "ref": record.version,
                "task": "deploy",
                "auto_merge": False,
                "required_contexts": [],  # the bot gated on CI already
                "payload": {PAYLOAD_KEY: record.release_id, "service": record.target.service},
                "environment": record.target.environment,
                "description": f"releasebot #{record.release_id}",
                "production_environment": record.target.environment in self._production,
                "transient_environment": False,
            },
            expect=(201, 202, 409),
        )
        body = response.body if isinstance(response.body, dict) else {}
        if response.status != 201 or "id" not in body:
            raise IntegrationError(
                f"github: deployment of {record.version} not created: "
                f"{body.get('message', response.status)}",
                retryable=response.status == 202,  # GitHub is merging first: ask again
            )
        return int(body["id"])
