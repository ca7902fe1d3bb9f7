"""What tests do to a real unleash-server behind the adapter's back: create flags, read the
state Unleash keeps, and read what SDKs are served (the Client API, with a backend token)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

CLIENT_API_DEADLINE_S = 15.0  # the Client API serves from a cache refreshed about every second


class UnleashAdmin:
    def __init__(self, env: Mapping[str, str], project: str = "default") -> None:
        self.url = env["UNLEASH_URL"].rstrip("/")
        self.token = env["UNLEASH_ADMIN_TOKEN"]
        self.project = project

    async def create_flag(self, prefix: str = "flag") -> str:
        """A new release flag with a name no other test uses."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        await self.call("POST", self._features(), {"name": name, "type": "release"})
        return name

    async def feature(self, flag: str) -> dict[str, Any]:
        return await self.call("GET", self._features(flag))

    async def environment(self, flag: str, environment: str) -> dict[str, Any]:
        return await self.call("GET", f"{self._features(flag)}/environments/{environment}")

    async def switch(self, flag: str, environment: str, on_or_off: str) -> None:
        await self.call("POST", f"{self._features(flag)}/environments/{environment}/{on_or_off}")

    async def set_strategy_rollout(
        self, flag: str, environment: str, strategy_id: str, percent: int
    ) -> None:
        """Changes the rollout by hand, as someone in Unleash's UI would."""
        await self.call(
            "PUT",
            f"{self._features(flag)}/environments/{environment}/strategies/{strategy_id}",
            {
                "name": "flexibleRollout",
                "parameters": {"rollout": str(percent), "stickiness": "default", "groupId": flag},
                "constraints": [],
                "disabled": False,
            },
        )

    async def backend_token(self, environment: str) -> str:
        """A token an SDK would use in `environment` (and that the Admin API refuses)."""
        body = await self.call(
            "POST",
            "/api/admin/api-tokens",
            {
                "tokenName": f"sdk-{uuid.uuid4().hex[:8]}",
                "type": "backend",
                "environment": environment,
                "projects": ["*"],
            },
        )
        return body["secret"]

    async def served_to_sdks(
        self, client_token: str, flag: str, until: Callable[[dict[str, Any] | None], bool]
    ) -> dict[str, Any] | None:
        """The flag as /api/client/features serves it, once `until` holds (or the deadline
        passes: then the last answer, for the assertion to show)."""
        deadline = time.monotonic() + CLIENT_API_DEADLINE_S
        while True:
            features = await self.call("GET", "/api/client/features", token=client_token)
            served = next((f for f in features["features"] if f["name"] == flag), None)
            if until(served) or time.monotonic() > deadline:
                return served
            await asyncio.sleep(0.1)

    async def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Any:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.request(
                method,
                self.url + path,
                json=body,
                headers={"Authorization": token or self.token},
            ) as response,
        ):
            if response.status >= 300:
                raise AssertionError(f"{method} {path}: {response.status} {await response.text()}")
            text = await response.text()
            return json.loads(text) if text.strip() else None

    def _features(self, flag: str = "") -> str:
        path = f"/api/admin/projects/{self.project}/features"
        return f"{path}/{flag}" if flag else path
