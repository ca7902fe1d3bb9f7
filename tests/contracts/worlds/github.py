"""The GitHub adapter's world for the CI contract: the adapter against the stateful stand-in
built from GitHub's OpenAPI description (tests/support/fake_github.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.core.clock import ManualClock
from bot.core.ports import Target
from integrations.base import BackendContext
from integrations.github import GitHub, build
from tests.support.fake_github import FakeGitHub

TARGET = Target("checkout", "production", "acme/checkout")


@dataclass
class GitHubWorld:
    adapter: GitHub
    target: Target
    github: FakeGitHub

    async def ci_reports(self, version: str, checks: dict[str, str | None]) -> None:
        for name, conclusion in checks.items():
            status = "completed" if conclusion else "in_progress"
            self.github.check(version, name, conclusion, status=status)

    async def make_unreachable(self) -> None:
        await self.github.stop()


@asynccontextmanager
async def github_world() -> AsyncIterator[GitHubWorld]:
    github = await FakeGitHub(token="ghp_contract").start()
    github.commit("main", author="bob")
    github.commit("v1.4.2", author="bob")
    adapter = build(
        {"api_url": github.url, "token_env": "GH", "timeout_s": 2},
        BackendContext(clock=ManualClock(), env={"GH": github.token}),
    )
    try:
        yield GitHubWorld(adapter, TARGET, github)
    finally:
        await github.stop()


@dataclass
class GitHubActionsWorld:
    """GitHub Actions as a deployer: a deploy workflow per stage, whose runs the world
    finishes, recording a deployment as a deploy workflow would when it changed what runs."""

    adapter: GitHub
    target: Target
    github: FakeGitHub
    failing: bool = False

    async def set_running(self, version: str) -> None:
        self.github.deployed(self.target.environment, version)

    async def fail_next_step(self) -> None:
        self.failing = True

    async def finish_operations(self) -> None:
        for run in self.github.finish_runs("failure" if self.failing else "success"):
            inputs = run["inputs"]
            changes_what_runs = inputs["action"] == "rollback" or inputs["percent"] == "100"
            if not self.failing and changes_what_runs and inputs["version"]:
                self.github.deployed(inputs["environment"], inputs["version"])
        self.failing = False

    async def make_unreachable(self) -> None:
        await self.github.stop()


@asynccontextmanager
async def github_actions_world() -> AsyncIterator[GitHubActionsWorld]:
    from integrations.base import MemoryOperations

    github = await FakeGitHub(token="ghp_contract").start()
    adapter = build(
        {"api_url": github.url, "token_env": "GH", "timeout_s": 2, "deploy_workflow": "deploy.yml"},
        BackendContext(
            clock=ManualClock(), env={"GH": github.token}, operations=MemoryOperations()
        ),
    )
    try:
        yield GitHubActionsWorld(adapter, TARGET, github)
    finally:
        await github.stop()


def recorded_states(world: GitHubWorld, release_id: int) -> list[str]:
    return world.github.states_of(release_id)
