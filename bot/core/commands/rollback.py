"""The /rollback grammar: a service, an environment, and a reason; never a version (a rollback
returns to the last good one)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.commands.words import (
    ENV_PREPOSITIONS,
    VERSION,
    UsageError,
    environment_named,
    service_named,
)


@dataclass(frozen=True)
class RollbackCommand:
    service: str
    environment: str | None = None
    reason: str = ""


def parse_rollback(words: list[str], catalog: Catalog) -> RollbackCommand:
    example = "/rollback checkout production"
    if not words:
        raise UsageError("Which service should I roll back?", example, "rollback")
    service = service_named(words[0], catalog, example)
    environment = None
    rest = words[1:]
    if rest and rest[0].lower() in ENV_PREPOSITIONS:
        rest = rest[1:]
        if not rest:
            raise UsageError("Which environment?", example, "rollback")
        environment = environment_named(rest[0], service, catalog, example)
        rest = rest[1:]
    elif rest and catalog.environment(rest[0]) is not None:
        environment = environment_named(rest[0], service, catalog, example)
        rest = rest[1:]
    if rest and VERSION.match(rest[0]):
        raise UsageError(
            f"/rollback always returns to the last good version, so `{rest[0]}` cannot be "
            f"chosen here. To ship {rest[0]} itself, deploy it.",
            f"/deploy {service.name} {rest[0]} to {environment or service.first_environment}",
            "rollback",
        )
    if rest and rest[0].lower() in ("because", "-", "--", "reason:"):
        rest = rest[1:]
    return RollbackCommand(service=service.name, environment=environment, reason=" ".join(rest))
