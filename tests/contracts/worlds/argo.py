"""The argo-rollouts deployer's world for the Deployer contract suite: the adapter against the
fake Kubernetes API (tests/integrations/fake_kubernetes.py), whose Argo controller moves only
when `finish_operations` steps it.

The bot polls started operations every few seconds, and a full promotion (a 100% step that also
sets the image, a rollback to a revision that is not the stable one) is finished by such a poll
(see integrations/argo_rollouts.py). So `finish_operations` does both in turns, the controller's
reconciles and the bot's polls, until the Rollout stops changing: `adapter` remembers the
operations it started for that."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.core.clock import ManualClock
from bot.core.ports import OperationStatus, RollbackRequest, StepRequest, Target
from integrations.argo_rollouts import ArgoRolloutsDeployer, build
from integrations.base import BackendContext
from tests.integrations.fake_kubernetes import FakeKubernetes

NAMESPACE = "checkout-prod"
ROLLOUT = "checkout"
REPOSITORY = "registry.example.com/checkout"
FIRST_VERSION = "v1.4.2"
TOKEN_VARIABLE = "ARGO_WORLD_TOKEN"


async def _no_wait(seconds: float) -> None:
    return None


@dataclass
class PolledDeployer:
    """The deployer, remembering the operations it started so the world can poll them."""

    deployer: ArgoRolloutsDeployer
    started: list[tuple[Target, str]] = field(default_factory=list)

    async def current_version(self, target: Target) -> str | None:
        return await self.deployer.current_version(target)

    async def start_step(self, request: StepRequest) -> str:
        operation = await self.deployer.start_step(request)
        self.started.append((request.target, operation))
        return operation

    async def start_rollback(self, request: RollbackRequest) -> str:
        operation = await self.deployer.start_rollback(request)
        self.started.append((request.target, operation))
        return operation

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        return await self.deployer.poll(target, operation_id)

    async def health(self) -> str | None:
        return await self.deployer.health()


@dataclass
class ArgoWorld:
    adapter: PolledDeployer
    target: Target
    kubernetes: FakeKubernetes

    async def set_running(self, version: str) -> None:
        self.kubernetes.set_running(NAMESPACE, ROLLOUT, f"{REPOSITORY}:{version}")

    async def fail_next_step(self) -> None:
        self.kubernetes.degrade_next(NAMESPACE, ROLLOUT)

    async def finish_operations(self) -> None:
        for _ in range(20):
            self.kubernetes.settle(NAMESPACE, ROLLOUT)
            before = self.kubernetes.rollout(NAMESPACE, ROLLOUT)["metadata"]["resourceVersion"]
            for target, operation in self.adapter.started:
                await self.adapter.poll(target, operation)
            after = self.kubernetes.rollout(NAMESPACE, ROLLOUT)["metadata"]["resourceVersion"]
            if after == before:
                return
        raise AssertionError("the Rollout kept changing")

    async def make_unreachable(self) -> None:
        await self.kubernetes.stop()


@asynccontextmanager
async def argo_world() -> AsyncIterator[ArgoWorld]:
    kubernetes = await FakeKubernetes().start()
    try:
        kubernetes.add_rollout(NAMESPACE, ROLLOUT, f"{REPOSITORY}:{FIRST_VERSION}")
        deployer = build(
            {
                "api_url": kubernetes.url,
                "namespaces": {"production": NAMESPACE},
                "image": "registry.example.com/{service}",
                "token_env": TOKEN_VARIABLE,
                "timeout_s": 5,
            },
            BackendContext(clock=ManualClock(), env={TOKEN_VARIABLE: kubernetes.token}),
            sleep=_no_wait,
        )
        target = Target("checkout", "production", "acme/checkout")
        yield ArgoWorld(PolledDeployer(deployer), target, kubernetes)
    finally:
        await kubernetes.stop()
