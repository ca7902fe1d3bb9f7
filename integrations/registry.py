"""Builds the adapters each service's catalog entry names, once per backend."""

from __future__ import annotations

from bot.core.catalog import Catalog
from bot.core.ports import Adapters, Clock
from integrations.simulated import SimulatedBackend, SimulatedSettings


class UnknownBackendType(ValueError):
    pass


def build_backend(kind: str, settings: dict, clock: Clock) -> object:
    if kind == "simulated":
        return SimulatedBackend(SimulatedSettings.from_catalog(settings), clock)
    raise UnknownBackendType(f"backend type {kind!r} is not supported (known: simulated)")


class Registry:
    def __init__(self, catalog: Catalog, clock: Clock) -> None:
        self._catalog = catalog
        self.backends = {
            name: build_backend(backend.type, backend.settings, clock)
            for name, backend in catalog.backends.items()
        }

    def adapters_for(self, service: str) -> Adapters:
        refs = self._catalog.services[service].backends
        return Adapters(
            ci=self.backends[refs.ci],
            deployer=self.backends[refs.deployer],
            monitor=self.backends[refs.monitor],
            flags=self.backends[refs.flags],
        )
