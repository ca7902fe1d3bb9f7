"""Words that several commands share: services, environments, versions, release numbers,
durations and bounded numbers, and the error that explains what was wrong with an example."""

from __future__ import annotations

import difflib
import re

from bot.core.catalog import Catalog, Service
from bot.core.durations import parse_duration

VERSION = re.compile(
    r"^(v?\d+(\.\d+){1,3}([-+][0-9A-Za-z.-]+)?|v\d+([-+][0-9A-Za-z.-]+)?|[0-9a-f]{7,40})$",
    re.IGNORECASE | re.ASCII,
)
ENV_PREPOSITIONS = {"to", "in", "into", "on", "env", "environment"}
# A release's number is its row id: ASCII digits only (`٣` and `²` are digits to Python, not to
# a person reading `#3`), from 1 to the largest id the releases table holds (INTEGER: 32 bits
# signed on PostgreSQL; SQLite takes 64 but the bound is the same on both).
RELEASE_NUMBER_MAX = 2**31 - 1
RELEASE_ID = re.compile(r"^#?([0-9]{1,10})$")


class UsageError(Exception):
    def __init__(self, problem: str, example: str, topic: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.example = example
        self.topic = topic

    def __str__(self) -> str:
        return f"{self.problem}\nFor example: `{self.example}`"


def release_number(text: str) -> int | None:
    """`12` or `#12` -> 12. None for anything else: other scripts' digits, signs, zero, and
    numbers past RELEASE_NUMBER_MAX name no release (and could not be looked up)."""
    match = RELEASE_ID.match(text)
    if match is None:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= RELEASE_NUMBER_MAX else None


def looks_like_release_number(word: str) -> bool:
    """`#…`, or digits of any script with an optional sign: meant as a release number."""
    return word.startswith("#") or word.lstrip("+-").isdecimal()


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


def bounded_number(number: int, low: int, high: int, what: str, example: str) -> int:
    if not low <= number <= high:
        raise UsageError(f"{number} is not a valid {what}: use {low} to {high}.", example)
    return number
