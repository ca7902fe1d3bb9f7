"""Builds the adapters each service's catalog entry names, once per backend, and reports
whether each backend answers (for /readyz and `/release integrations`)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.core.catalog import Catalog
from bot.core.ports import Adapters, BackendHealth, IntegrationError
from integrations.base import BackendContext, SettingsProblem

# Backend type -> the module whose `build(settings, context)` makes it.
BACKEND_TYPES = {
    "simulated": "integrations.simulated",
    "github": "integrations.github",
    "prometheus": "integrations.prometheus",
    "unleash": "integrations.unleash",
    "argo-rollouts": "integrations.argo_rollouts",
    "webhook": "integrations.webhook",
    "reports": "integrations.reports",
}

# What each role of a service needs its backend to do.
ROLE_METHODS = {
    "ci": "status",
    "deployer": "start_step",
    "monitor": "analyze",
    "flags": "set_rollout",
    "deployments": "record",
    "reports": "reports",
}


class UnknownBackendType(SettingsProblem):
    pass


def build_backend(kind: str, settings: Mapping[str, Any], context: BackendContext) -> Any:
    module = BACKEND_TYPES.get(kind)
    if module is None:
        raise UnknownBackendType(
            f"backend type {kind!r} is not supported (known: {', '.join(BACKEND_TYPES)})"
        )
    try:
        return importlib.import_module(module).build(dict(settings), context)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SettingsProblem):
            raise
        raise SettingsProblem(f"a setting has the wrong type: {exc}") from exc


class Registry:
    def __init__(self, catalog: Catalog, context: BackendContext) -> None:
        self._catalog = catalog
        production = frozenset(n for n, e in catalog.environments.items() if e.production)
        context = replace(context, production_environments=production)
        self._context = context
        self.backends: dict[str, Any] = {}
        for name, backend in catalog.backends.items():
            try:
                self.backends[name] = build_backend(
                    backend.type, backend.settings, replace(context, name=name)
                )
            except SettingsProblem as exc:
                raise SettingsProblem(f"backends.{name}: {exc}") from exc
        self._check_roles()
        self._health: dict[str, BackendHealth] = {}
        self._refreshing: asyncio.Task | None = None

    def _check_roles(self) -> None:
        for service in self._catalog.services.values():
            for role, ref in service.backends.model_dump().items():
                method = ROLE_METHODS[role]
                backend = self.backends.get(ref) if ref is not None else None
                roles = getattr(backend, "roles", None)
                if backend is not None and (
                    not hasattr(backend, method) or (roles is not None and role not in roles)
                ):
                    kind = self._catalog.backends[ref].type
                    raise SettingsProblem(
                        f"services.{service.name}.backends.{role}: backend {ref!r} "
                        f"(type {kind}) cannot act as {role}"
                    )

    def adapters_for(self, service: str) -> Adapters:
        refs = self._catalog.services[service].backends
        return Adapters(
            ci=self.backends[refs.ci],
            deployer=self.backends[refs.deployer],
            monitor=self.backends[refs.monitor],
            flags=self.backends[refs.flags],
            deployments=self.backends[refs.deployments] if refs.deployments else None,
            reports=self.backends[refs.reports] if refs.reports else None,
        )

    def callback_secrets(self) -> dict[str, bytes]:
        """Backend name -> the key its deploy script signs callbacks with."""
        return {
            name: backend.signing_secret
            for name, backend in self.backends.items()
            if isinstance(getattr(backend, "signing_secret", None), bytes)
        }

    def webhook_secrets(self) -> list[bytes]:
        """The keys GitHub signs its webhooks with, one per backend that names one."""
        return [
            backend.webhook_secret
            for backend in self.backends.values()
            if isinstance(getattr(backend, "webhook_secret", None), bytes)
        ]

    async def cached_health(self, max_age_s: float = 30.0) -> list[BackendHealth]:
        """What the last check found, without waiting on any backend (for /readyz, which a
        probe calls often and with a short timeout); a stale answer starts a check."""
        now = self._context.clock.now()
        checked = [h.checked_at for h in self._health.values() if h.checked_at]
        stale = not checked or (now - min(checked)).total_seconds() > max_age_s
        if stale and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self.check_health())
        return [
            self._health.get(name)
            or BackendHealth(name, self._catalog.backends[name].type, False, "not checked yet")
            for name in self.backends
        ]

    async def check_health(self, timeout_s: float = 5.0) -> list[BackendHealth]:
        """Asks every backend at once; one that does not answer in time is down."""
        names = list(self.backends)
        problems = await asyncio.gather(*(self._probe(name, timeout_s) for name in names))
        now = self._context.clock.now()
        for name, problem in zip(names, problems, strict=True):
            before = self._health.get(name)
            self._health[name] = BackendHealth(
                name=name,
                type=self._catalog.backends[name].type,
                ok=problem is None,
                problem=problem or "",
                checked_at=now,
                last_error=problem or (before.last_error if before else ""),
                last_error_at=now if problem else (before.last_error_at if before else None),
            )
        return [self._health[name] for name in names]

    async def close(self) -> None:
        """Stops a health check under way and closes every backend's connections."""
        if self._refreshing is not None:
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
        for backend in self.backends.values():
            await backend.close()

    async def _probe(self, name: str, timeout_s: float) -> str | None:
        health = getattr(self.backends[name], "health", None)
        if health is None:
            return None
        try:
            return await asyncio.wait_for(health(), timeout_s)
        except TimeoutError:
            return f"no answer within {timeout_s:g}s"
        except IntegrationError as exc:
            return str(exc)
        except Exception as exc:  # a health check reports; it never takes the caller down
            return f"health check failed: {type(exc).__name__}"
