"""The Unleash FlagStore: feature-flag stages as one gradual-rollout strategy per flag.

What the bot does in the flag's Unleash environment:
- set_rollout(percent) writes `rollout` on the environment's first `flexibleRollout` strategy
  (adding one, with `stickiness` and `groupId` = the flag name, when there is none), then turns
  the environment on. Widening updates that same strategy by id, so there is always exactly one
  and its `stickiness`/`groupId` never change: nobody already in falls out. The strategy is
  written before the environment is turned on, because Unleash gives an environment turned on
  without strategies a 100% rollout.
- disable() turns the environment off and leaves the strategy as it was, so Unleash's history
  shows how far the rollout got; setting a rollout again turns it back on at the new percent.
  Disabling a flag that does not exist does nothing: it serves nobody.
- rollout() is None while the environment is off (or the flag does not exist), else the
  managed strategy's percent; without one: 100 when nothing restricts the flag (no active
  strategy, or an unconstrained `default` strategy), else 0.
Other strategies on the flag are left alone.

Every call re-reads the flag first and converges on the wanted state, so retrying a whole call
is safe. Errors are IntegrationError: a rejected token or a missing permission, flag or
environment is not retryable; timeouts, connection errors and 5xx are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from bot.core.ports import IntegrationError, Target
from integrations.base import Http, Response, with_retries
from integrations.unleash.settings import NAME, UnleashSettings
from integrations.unleash.strategies import (
    ROLLOUT_STRATEGY,
    as_dict,
    current_percent,
    managed_strategy,
    percent_of,
)

T = TypeVar("T")

SUCCESS = (200, 201, 202, 204)
EXPLAINED = (400, 401, 403, 404, 409, 415)


class UnleashFlagStore:
    """Implements FlagStore and Probe (bot/core/ports/integrations.py)."""

    def __init__(self, settings: UnleashSettings, *, attempts: int = 3) -> None:
        self.settings = settings
        self._attempts = attempts
        self._http = Http(
            settings.url,
            name=NAME,
            headers={"Authorization": settings.token, "Accept": "application/json"},
            timeout_s=settings.timeout_s,
        )

    async def close(self) -> None:
        await self._http.close()

    # FlagStore

    async def set_rollout(self, target: Target, flag: str, percent: int) -> None:
        if not 0 <= percent <= 100:
            raise IntegrationError(f"{NAME}: a rollout is 0-100%, not {percent}%", retryable=False)
        environment = self.settings.environment_for(target)
        await self._retrying(lambda: self._roll_out(flag, environment, percent))

    async def disable(self, target: Target, flag: str) -> None:
        environment = self.settings.environment_for(target)
        await self._retrying(lambda: self._switch_off(flag, environment))

    async def rollout(self, target: Target, flag: str) -> int | None:
        environment = self.settings.environment_for(target)
        return await self._retrying(lambda: self._read_rollout(flag, environment))

    # Probe

    async def health(self) -> str | None:
        try:
            await self._http.request("GET", "/health")
            overview = await self._send(
                "GET",
                f"/api/admin/projects/{_part(self.settings.project)}/overview",
                missing=f"project {self.settings.project!r} does not exist",
            )
        except IntegrationError as exc:
            return str(exc)
        return self._missing_environments(overview.body)

    def _missing_environments(self, overview: Any) -> str | None:
        present = {entry.get("environment") for entry in as_dict(overview).get("environments", [])}
        absent = sorted(set(self.settings.environments.values()) - present)
        if absent:
            return (
                f"{NAME}: environment(s) {', '.join(absent)} not enabled in project "
                f"{self.settings.project!r}"
            )
        return None

    # The steps, each safe to repeat

    async def _roll_out(self, flag: str, environment: str, percent: int) -> None:
        feature = await self._feature(flag)
        if feature is None:
            feature = await self._create(flag)
        state = self._environment_state(feature, flag, environment)
        strategy = managed_strategy(state)
        if strategy is None:
            await self._add_strategy(flag, environment, percent)
        elif percent_of(strategy) != percent or strategy.get("disabled"):
            await self._update_strategy(flag, environment, strategy, percent)
        if not state.get("enabled"):
            await self._switch(flag, environment, "on")

    async def _switch_off(self, flag: str, environment: str) -> None:
        feature = await self._feature(flag)
        if feature is None:
            return
        if self._environment_state(feature, flag, environment).get("enabled"):
            await self._switch(flag, environment, "off")

    async def _read_rollout(self, flag: str, environment: str) -> int | None:
        feature = await self._feature(flag)
        if feature is None:
            return None
        return current_percent(self._environment_state(feature, flag, environment))

    # Unleash's Admin API

    async def _feature(self, flag: str) -> dict[str, Any] | None:
        response = await self._send("GET", self._feature_path(flag), tolerate=(404,))
        if response.status == 404:
            return None
        return as_dict(response.body)

    async def _create(self, flag: str) -> dict[str, Any]:
        if not self.settings.create_missing:
            raise IntegrationError(
                f"{NAME}: flag {flag!r} does not exist in project {self.settings.project!r} "
                "(create it in Unleash, or set create_missing: true)",
                retryable=False,
            )
        await self._send(
            "POST",
            f"/api/admin/projects/{_part(self.settings.project)}/features",
            json_body={
                "name": flag,
                "type": "release",
                "description": "Created by releasebot for a feature-flag release.",
            },
            missing=f"project {self.settings.project!r} does not exist",
        )
        created = await self._feature(flag)
        if created is None:
            raise IntegrationError(f"{NAME}: flag {flag!r} was created but cannot be read")
        return created

    def _environment_state(
        self, feature: Mapping[str, Any], flag: str, environment: str
    ) -> dict[str, Any]:
        for state in feature.get("environments") or []:
            if state.get("name") == environment:
                return as_dict(state)
        raise IntegrationError(
            f"{NAME}: environment {environment!r} is not enabled in project "
            f"{self.settings.project!r}, so flag {flag!r} has no state there (enable it in the "
            "project, or map the bot's environment to another with `environments`)",
            retryable=False,
        )

    async def _add_strategy(self, flag: str, environment: str, percent: int) -> None:
        await self._send(
            "POST",
            f"{self._environment_path(flag, environment)}/strategies",
            json_body={
                "name": ROLLOUT_STRATEGY,
                "parameters": {
                    "rollout": str(percent),
                    "stickiness": self.settings.stickiness,
                    "groupId": flag,
                },
                "constraints": [],
            },
            missing=f"flag {flag!r} or environment {environment!r} disappeared",
        )

    async def _update_strategy(
        self, flag: str, environment: str, strategy: Mapping[str, Any], percent: int
    ) -> None:
        parameters = {**as_dict(strategy.get("parameters")), "rollout": str(percent)}
        parameters.setdefault("stickiness", self.settings.stickiness)
        parameters.setdefault("groupId", flag)
        await self._send(
            "PUT",
            f"{self._environment_path(flag, environment)}/strategies/{_part(strategy['id'])}",
            json_body={
                "name": ROLLOUT_STRATEGY,
                "title": strategy.get("title"),
                "parameters": parameters,
                "constraints": strategy.get("constraints") or [],
                "segments": strategy.get("segments") or [],
                "variants": strategy.get("variants") or [],
                "sortOrder": strategy.get("sortOrder", 0),
                "disabled": False,
            },
            missing=f"the rollout strategy of flag {flag!r} in {environment!r} disappeared",
        )

    async def _switch(self, flag: str, environment: str, on_or_off: str) -> None:
        await self._send(
            "POST",
            f"{self._environment_path(flag, environment)}/{on_or_off}",
            missing=f"flag {flag!r} or environment {environment!r} disappeared",
        )

    def _feature_path(self, flag: str) -> str:
        return f"/api/admin/projects/{_part(self.settings.project)}/features/{_part(flag)}"

    def _environment_path(self, flag: str, environment: str) -> str:
        return f"{self._feature_path(flag)}/environments/{_part(environment)}"

    # Errors

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        missing: str = "not found",
        tolerate: tuple[int, ...] = (),
    ) -> Response:
        response = await self._http.request(
            method, path, json_body=json_body, expect=SUCCESS + EXPLAINED
        )
        if response.status in SUCCESS or response.status in tolerate:
            return response
        raise self._explain(response, f"{method} {path}", missing)

    def _explain(self, response: Response, request: str, missing: str) -> IntegrationError:
        said = self._scrub(_message(response.body))
        if response.status == 401:
            reason = "rejected the API token (401); check token_env/token_file"
        elif response.status == 403:
            reason = (
                f"refused {request} (403): the API token lacks permission; it must be an "
                f"admin or personal API token allowed to change flags in project "
                f"{self.settings.project!r}"
            )
        elif response.status == 404:
            reason = f"{missing} (404)"
        else:
            reason = f"refused {request} ({response.status})"
        return IntegrationError(f"{NAME}: {reason}: {said}", retryable=False)

    def _scrub(self, text: str) -> str:
        return text.replace(self.settings.token, "***") if self.settings.token else text

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(call, attempts=self._attempts)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        details = [d.get("message") for d in body.get("details") or [] if isinstance(d, dict)]
        text = body.get("message") or "; ".join(filter(None, details)) or body.get("name")
        return str(text or body)[:300]
    return str(body or "no details")[:300]


def _part(value: str) -> str:
    return quote(str(value), safe="")
