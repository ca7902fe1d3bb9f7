"""Words that several commands share: services, environments, durations, and the error
that explains what was wrong with an example."""

from __future__ import annotations

import difflib

from bot.core.catalog import Catalog, Service
from bot.core.durations import parse_duration


class UsageError(Exception):
    def __init__(self, problem: str, example: str, topic: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.example = example
        self.topic = topic

    def __str__(self) -> str:
        return f"{self.problem}\nFor example: `{self.example}`"


def service_named(word: str, catalog: Catalog, example: str) -> Service:
    service = catalog.service(word)
    if service is not None:
        return service
    names = sorted(catalog.services)
    close = difflib.get_close_matches(word.lower(), names, 1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    raise UsageError(
        f"I don't know a service called `{word}`.{hint} Known services: {', '.join(names)}.",
        example,
    )


def environment_named(word: str, service: Service, catalog: Catalog, example: str) -> str:
    env = catalog.environment(word)
    if env is None:
        known = ", ".join(e.name for e in catalog.ordered_environments())
        raise UsageError(f"I don't know an environment called `{word}`. Known: {known}.", example)
    if env.name not in service.environments:
        raise UsageError(
            f"{service.name} is not deployed to {env.name}; its environments are "
            f"{', '.join(service.environments)}.",
            example,
        )
    return env.name


def any_environment(word: str, catalog: Catalog, example: str) -> str:
    env = catalog.environment(word)
    if env is None:
        known = ", ".join(e.name for e in catalog.ordered_environments())
        raise UsageError(f"I don't know an environment called `{word}`. Known: {known}.", example)
    return env.name


def bounded_duration(text: str, most_s: int, example: str) -> int:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc).capitalize() + ".", example) from None
    if not 0 < seconds <= most_s:
        raise UsageError(f"`{text}` is out of range: use up to {most_s // 86400} days.", example)
    return seconds
