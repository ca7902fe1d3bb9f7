"""Argo Rollouts as a deployment backend: drives a `Rollout` through the Kubernetes API with the
requests the `kubectl argo rollouts` plugin sends (set image, promote, promote --full, abort,
undo) and reads the Rollout's status to report progress. settings.py holds the catalog block,
deployer.py how stages map onto the Rollout, api.py the calls, models.py what is read.
Needs Argo Rollouts v0.10 or later, where a Rollout's status is a subresource."""

from __future__ import annotations

import asyncio

from integrations.argo_rollouts.api import RolloutsApi, Sleep
from integrations.argo_rollouts.deployer import ArgoRolloutsDeployer
from integrations.argo_rollouts.settings import NAME, ArgoSettings, tls
from integrations.base import BackendContext, Http, secret

__all__ = ["ArgoRolloutsDeployer", "ArgoSettings", "build"]


def build(
    settings: dict, context: BackendContext, *, sleep: Sleep = asyncio.sleep
) -> ArgoRolloutsDeployer:
    """The deployer a catalog backend of type argo-rollouts names; SettingsProblem if it cannot
    work. `sleep` is the wait between retries of a read."""
    parsed = ArgoSettings.parse(settings)
    token = secret(settings, "token", context.env)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http = Http(
        parsed.api_url, name=NAME, headers=headers, timeout_s=parsed.timeout_s, ssl=tls(settings)
    )
    api = RolloutsApi(http, secrets=(token,) if token else (), sleep=sleep)
    return ArgoRolloutsDeployer(parsed, api)
