"""The /release subcommands about policy: lock, unlock, freeze, unfreeze, whoami, who-can,
where."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.commands.words import (
    UsageError,
    any_environment,
    bounded_duration,
    environment_named,
    service_named,
)
from bot.core.wording import plain_text

POLICY_SUBCOMMANDS = ("lock", "unlock", "freeze", "unfreeze", "whoami", "who-can", "where")
MAX_LOCK_S = 7 * 86400
DEFAULT_LOCK_S = 2 * 3600
ALL = ("all", "everything", "*")
ACT_WORDS = {
    "deploy": "deploy",
    "approve": "approve",
    "reject": "reject",
    "promote": "promote",
    "pause": "pause",
    "resume": "resume",
    "abort": "abort",
    "rollback": "rollback",
    "roll-back": "rollback",
    "lock": "lock",
    "unlock": "unlock",
    "freeze": "freeze",
    "unfreeze": "unfreeze",
}


@dataclass(frozen=True)
class LockEnvironment:
    service: str
    environment: str
    reason: str
    duration_s: int = DEFAULT_LOCK_S


@dataclass(frozen=True)
class UnlockEnvironment:
    service: str
    environment: str


@dataclass(frozen=True)
class FreezeEnvironments:
    environment: str | None  # None: every environment
    reason: str
    duration_s: int | None = None  # None: until lifted


@dataclass(frozen=True)
class UnfreezeEnvironments:
    environment: str | None


@dataclass(frozen=True)
class WhoAmI:
    pass


@dataclass(frozen=True)
class WhoCan:
    act: str
    service: str
    environment: str


@dataclass(frozen=True)
class Where:
    service: str


PolicyCommand = (
    LockEnvironment
    | UnlockEnvironment
    | FreezeEnvironments
    | UnfreezeEnvironments
    | WhoAmI
    | WhoCan
    | Where
)


def parse_policy(sub: str, words: list[str], catalog: Catalog) -> PolicyCommand:
    match sub:
        case "lock":
            return _lock(words, catalog)
        case "unlock":
            example = "/release unlock checkout production"
            service, environment, rest = _service_and_environment(words, catalog, example)
            if rest:
                raise UsageError(f"I don't understand `{' '.join(rest)}` here.", example)
            return UnlockEnvironment(service, environment)
        case "freeze":
            return _freeze(words, catalog)
        case "unfreeze":
            example = "/release unfreeze production"
            if len(words) != 1:
                raise UsageError("Which freeze should I lift: an environment, or `all`?", example)
            return UnfreezeEnvironments(_scope(words[0], catalog, example))
        case "whoami":
            return WhoAmI()
        case "who-can":
            return _who_can(words, catalog)
        case "where":
            example = "/release where checkout"
            if len(words) != 1:
                raise UsageError("Where can which service go? Name one.", example)
            return Where(service_named(words[0], catalog, example).name)
    raise AssertionError(sub)


def _lock(words: list[str], catalog: Catalog) -> LockEnvironment:
    example = "/release lock checkout production database migration for 2h"
    service, environment, rest = _service_and_environment(words, catalog, example)
    rest, duration = _take_duration(rest, example)
    if not rest:
        raise UsageError("Say why you lock it: the reason is shown to everyone it stops.", example)
    return LockEnvironment(
        service, environment, plain_text(" ".join(rest)), duration or DEFAULT_LOCK_S
    )


def _freeze(words: list[str], catalog: Catalog) -> FreezeEnvironments:
    example = "/release freeze production payments incident for 2h"
    if not words:
        raise UsageError("Freeze which environment (or `all`), and why?", example)
    environment = _scope(words[0], catalog, example)
    rest, duration = _take_duration(words[1:], example)
    if not rest:
        raise UsageError("Say why: the reason is shown to everyone the freeze stops.", example)
    return FreezeEnvironments(environment, plain_text(" ".join(rest)), duration)


def _who_can(words: list[str], catalog: Catalog) -> WhoCan:
    example = "/release who-can deploy checkout production"
    if len(words) != 3:
        raise UsageError("Ask as: who-can ACTION SERVICE ENVIRONMENT.", example)
    act = ACT_WORDS.get(words[0].lower())
    if act is None:
        raise UsageError(
            f"`{words[0]}` is not an action; use one of "
            f"{', '.join(sorted(set(ACT_WORDS.values())))}.",
            example,
        )
    service = service_named(words[1], catalog, example)
    return WhoCan(act, service.name, environment_named(words[2], service, catalog, example))


def _service_and_environment(
    words: list[str], catalog: Catalog, example: str
) -> tuple[str, str, list[str]]:
    if len(words) < 2:
        raise UsageError("Name the service and the environment.", example)
    service = service_named(words[0], catalog, example)
    rest = words[1:]
    if rest[0].lower() in ("in", "on", "to") and len(rest) > 1:
        rest = rest[1:]
    return service.name, environment_named(rest[0], service, catalog, example), rest[1:]


def _scope(word: str, catalog: Catalog, example: str) -> str | None:
    if word.lower() in ALL:
        return None
    return any_environment(word, catalog, example)


def _take_duration(words: list[str], example: str) -> tuple[list[str], int | None]:
    """`... for 2h ...` -> the words without it, and 7200."""
    for at, word in enumerate(words[:-1]):
        amount = words[at + 1]
        if word.lower() != "for" or not amount[:1].isdigit():
            continue  # "for the migration" is part of the reason
        if amount.isdigit():  # "for 2 hours", "for 1 day", "for 90"
            raise UsageError(
                f"`for {amount}` needs a unit written with the number: for 30m, for 2h, for 1d.",
                example,
            )
        seconds = bounded_duration(amount, MAX_LOCK_S, example)
        return words[:at] + words[at + 2 :], seconds
    return words, None
