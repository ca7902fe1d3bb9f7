"""The GitHub adapter's world for the CI contract: the adapter against the stateful stand-in
built from GitHub's OpenAPI description (tests/support/fake_github.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.clock import ManualClock
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
