"""A `github` backend's catalog settings, checked once when the bot starts.

backends:
  github:
    type: github
    settings:
      api_url: https://api.github.com      # GitHub Enterprise: https://HOST/api/v3
      token_env: GITHUB_TOKEN              # or token_file: /run/secrets/github-token
      default_branch: main                 # what "latest" ships
      required_checks:                     # per service ("*": every service); CI stays
        checkout: [build, unit-tests]      #   pending until each has reported
      ignored_checks: [codecov/patch]      # never gate on these
      build_workflow: build.yml            # dispatched (workflow_dispatch) for a version
                                           #   no check has reported on yet
      poll_seconds: 15                     # how often a pending gate asks again
      deploy_workflow: deploy.yml          # as a deployer: dispatched per stage and rollback
      workflow_ref: main                   #   from this branch (see actions.py for inputs)
      webhook_secret_env: GITHUB_WEBHOOK_SECRET  # verifies GitHub's webhooks sent to
                                           #   POST /integrations/github/events

A service records its releases as GitHub Deployments with `backends: {deployments: github}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.base import SettingsProblem, reject_unknown, secret

NAME = "github"
KNOWN = {
    "api_url",
    "token_env",
    "token_file",
    "default_branch",
    "required_checks",
    "ignored_checks",
    "build_workflow",
    "deploy_workflow",
    "workflow_ref",
    "webhook_secret_env",
    "webhook_secret_file",
    "poll_seconds",
    "timeout_s",
}


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = "https://api.github.com"
    token: str | None = field(default=None, repr=False)
    default_branch: str = "main"
    required_checks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignored_checks: tuple[str, ...] = ()
    build_workflow: str | None = None
    deploy_workflow: str | None = None
    workflow_ref: str = "main"
    webhook_secret: str | None = field(default=None, repr=False)
    poll_seconds: int = 15
    timeout_s: float = 10.0

    def required_for(self, service: str) -> tuple[str, ...]:
        return (*self.required_checks.get("*", ()), *self.required_checks.get(service, ()))

    @classmethod
    def parse(cls, settings: Mapping[str, Any], env: Mapping[str, str]) -> GitHubSettings:
        reject_unknown(settings, KNOWN, NAME)
        token = secret(settings, "token", env)
        if token is None:
            raise SettingsProblem("a github backend needs `token_env` or `token_file`")
        required = settings.get("required_checks") or {}
        if not isinstance(required, Mapping) or not all(
            isinstance(v, list) for v in required.values()
        ):
            raise SettingsProblem("github required_checks maps a service (or *) to check names")
        return cls(
            api_url=str(settings.get("api_url") or cls.api_url).rstrip("/"),
            token=token,
            default_branch=str(settings.get("default_branch") or cls.default_branch),
            required_checks={k: tuple(map(str, v)) for k, v in required.items()},
            ignored_checks=tuple(map(str, settings.get("ignored_checks") or ())),
            build_workflow=settings.get("build_workflow"),
            deploy_workflow=settings.get("deploy_workflow"),
            workflow_ref=str(settings.get("workflow_ref") or cls.workflow_ref),
            webhook_secret=secret(settings, "webhook_secret", env),
            poll_seconds=int(settings.get("poll_seconds", cls.poll_seconds)),
            timeout_s=float(settings.get("timeout_s", cls.timeout_s)),
        )
