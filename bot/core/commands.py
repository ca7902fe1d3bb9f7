"""Slash command text -> a typed command, or a UsageError that says what was wrong.

The grammar is forgiving: words may come in any order after the service, case does not
matter, `10%` and `10` are the same, and environment aliases from the catalog (`prod`) work.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.core.catalog import Catalog, StrategyName
from bot.core.command_words import UsageError
from bot.core.command_words import environment_named as _environment
from bot.core.command_words import service_named as _service
from bot.core.policy_commands import POLICY_SUBCOMMANDS, PolicyCommand, parse_policy
from bot.core.release import BreakGlass
from bot.core.strategies import StrategyChoice
from bot.core.wording import plain_text

VERSION = re.compile(
    r"^(v?\d+(\.\d+){1,3}([-+][0-9A-Za-z.-]+)?|v\d+([-+][0-9A-Za-z.-]+)?|[0-9a-f]{7,40})$",
    re.IGNORECASE | re.ASCII,
)
PERCENT = re.compile(r"^(\d{1,3})%?$", re.ASCII)
# A release's number is its row id: ASCII digits only (`٣` and `²` are digits to Python, not to
# a person reading `#3`), from 1 to the largest id the releases table holds (INTEGER: 32 bits
# signed on PostgreSQL; SQLite takes 64 but the bound is the same on both).
RELEASE_NUMBER_MAX = 2**31 - 1
RELEASE_ID = re.compile(r"^#?([0-9]{1,10})$")
MAX_VERSION_LENGTH = 100
ENV_PREPOSITIONS = {"to", "in", "into", "on", "env", "environment"}
STRATEGY_WORDS = {
    "canary": StrategyName.CANARY,
    "blue-green": StrategyName.BLUE_GREEN,
    "bluegreen": StrategyName.BLUE_GREEN,
    "blue/green": StrategyName.BLUE_GREEN,
    "bg": StrategyName.BLUE_GREEN,
    "rolling": StrategyName.ROLLING,
    "flag": StrategyName.FEATURE_FLAG,
    "feature-flag": StrategyName.FEATURE_FLAG,
    "ff": StrategyName.FEATURE_FLAG,
}
RELEASE_ACTIONS = ("approve", "reject", "promote", "pause", "resume", "abort")


def release_number(text: str) -> int | None:
    """`12` or `#12` -> 12. None for anything else: other scripts' digits, signs, zero, and
    numbers past RELEASE_NUMBER_MAX name no release (and could not be looked up)."""
    match = RELEASE_ID.match(text)
    if match is None:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= RELEASE_NUMBER_MAX else None


def _looks_like_release_number(word: str) -> bool:
    """`#…`, or digits of any script with an optional sign: meant as a release number."""
    return word.startswith("#") or word.lstrip("+-").isdecimal()


@dataclass(frozen=True)
class Deploy:
    service: str
    environment: str
    strategy: StrategyChoice
    version: str | None = None
    break_glass: BreakGlass | None = None


@dataclass(frozen=True)
class RollbackCommand:
    service: str
    environment: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class ReleaseAction:
    action: str
    release_id: int | None = None
    service: str | None = None
    environment: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Status:
    release_id: int | None = None
    service: str | None = None
    environment: str | None = None


@dataclass(frozen=True)
class ListActive:
    pass


@dataclass(frozen=True)
class History:
    service: str | None = None
    environment: str | None = None
    limit: int = 10


@dataclass(frozen=True)
class Help:
    topic: str = ""


Command = (
    Deploy | RollbackCommand | ReleaseAction | Status | ListActive | History | Help | PolicyCommand
)

DEPLOY_EXAMPLE = "/deploy checkout canary 10% to production"


def parse(command: str, text: str, catalog: Catalog) -> Command:
    name = command.strip().lstrip("/").lower()
    words = text.split()
    try:
        match name:
            case "deploy":
                return _parse_deploy(words, catalog)
            case "rollback":
                return _parse_rollback(words, catalog)
            case "release":
                return _parse_release(words, catalog)
        raise UsageError(f"I don't know the command `/{name}`.", "/release help")
    except UsageError as error:
        error.example = _in_this_catalog(error.example, catalog)
        raise


def _in_this_catalog(example: str, catalog: Catalog) -> str:
    """Examples are written for `checkout`, `staging` and `production`; a catalog without them
    gets its own names, so every example works where it is shown."""
    if "checkout" not in catalog.services and catalog.services:
        example = example.replace("checkout", sorted(catalog.services)[0])
    ordered = [env.name for env in catalog.ordered_environments()]
    if ordered and "production" not in catalog.environments:
        example = example.replace("production", ordered[-1])
    if ordered and "staging" not in catalog.environments:
        example = example.replace("staging", ordered[0])
    return example


def _parse_deploy(words: list[str], catalog: Catalog) -> Deploy:
    if not words:
        raise UsageError("Which service should I deploy?", DEPLOY_EXAMPLE, "deploy")
    service = _service(words[0], catalog, DEPLOY_EXAMPLE)
    environment: str | None = None
    version: str | None = None
    strategy: StrategyName | None = None
    percent: int | None = None
    flag: str | None = None
    batches: int | None = None
    rest, break_glass = _take_break_glass(words[1:], catalog)
    i = 0
    while i < len(rest):
        word, lowered = rest[i], rest[i].lower()
        following = rest[i + 1] if i + 1 < len(rest) else None
        if lowered in ENV_PREPOSITIONS:
            if following is None:
                raise UsageError(
                    f"`{word}` needs an environment after it.", DEPLOY_EXAMPLE, "deploy"
                )
            environment = _once_env(
                environment, _environment(following, service, catalog, DEPLOY_EXAMPLE)
            )
            i += 2
            continue
        if lowered in STRATEGY_WORDS:
            strategy = _once(strategy, STRATEGY_WORDS[lowered], "strategy")
            if strategy is StrategyName.FEATURE_FLAG:
                if following is None or _is_number(following):
                    raise UsageError(
                        "The flag strategy needs the flag's name.",
                        "/deploy checkout flag new-cart 25%",
                        "deploy",
                    )
                flag = following.lower()
                i += 2
                continue
            i += 1
            continue
        if lowered == "batches" or lowered == "batch":
            i += 1
            continue
        if (match := PERCENT.match(lowered)) and not VERSION.match(lowered):
            number = int(match.group(1))
            counts_batches = following is not None and following.lower() in ("batch", "batches")
            if counts_batches or (strategy is StrategyName.ROLLING and not word.endswith("%")):
                batches = _bounded(number, 1, 20, "batches")
            else:
                if percent is not None and percent != number:
                    raise UsageError(
                        f"Pick one starting percentage: `{percent}%` or `{number}%`; the "
                        "catalog's steps follow it.",
                        DEPLOY_EXAMPLE,
                        "deploy",
                    )
                percent = _bounded(number, 1, 100, "percent")
            i += 1
            continue
        if lowered == "latest":
            i += 1
            continue
        if VERSION.match(word):
            if version is not None:
                raise UsageError(
                    f"Two versions given: `{version}` and `{word}`.", DEPLOY_EXAMPLE, "deploy"
                )
            if len(word) > MAX_VERSION_LENGTH:
                raise UsageError(
                    f"That version is {len(word)} characters long; the most is "
                    f"{MAX_VERSION_LENGTH}.",
                    DEPLOY_EXAMPLE,
                    "deploy",
                )
            version = word
            i += 1
            continue
        if catalog.environment(lowered) is not None:
            environment = _once_env(
                environment, _environment(word, service, catalog, DEPLOY_EXAMPLE)
            )
            i += 1
            continue
        raise UsageError(
            f"I don't understand `{word}` in this deploy. I expect a version (v1.4.2 or a "
            "commit), a strategy (canary, blue-green, rolling, flag NAME), a percentage and "
            "`to ENVIRONMENT`.",
            DEPLOY_EXAMPLE,
            "deploy",
        )
    chosen = strategy or service.default_strategy
    if batches is not None and chosen is not StrategyName.ROLLING:
        raise UsageError(
            f"Batches apply to the rolling strategy only, not to {chosen.value}.",
            "/deploy checkout rolling 4 batches",
            "deploy",
        )
    if percent is not None and chosen in (StrategyName.BLUE_GREEN, StrategyName.ROLLING):
        raise UsageError(
            f"A percentage does not apply to {chosen.value}; it moves all traffic at once "
            "or in batches.",
            "/deploy checkout rolling 4 batches",
            "deploy",
        )
    if chosen is StrategyName.FEATURE_FLAG and flag is None:
        raise UsageError(
            "The flag strategy needs the flag's name.",
            "/deploy checkout flag new-cart 25%",
            "deploy",
        )
    return Deploy(
        service=service.name,
        environment=environment or service.first_environment,
        strategy=StrategyChoice(chosen, start_percent=percent, flag=flag, batches=batches),
        version=version,
        break_glass=break_glass,
    )


def _parse_rollback(words: list[str], catalog: Catalog) -> RollbackCommand:
    example = "/rollback checkout production"
    if not words:
        raise UsageError("Which service should I roll back?", example, "rollback")
    service = _service(words[0], catalog, example)
    environment = None
    rest = words[1:]
    if rest and rest[0].lower() in ENV_PREPOSITIONS:
        rest = rest[1:]
        if not rest:
            raise UsageError("Which environment?", example, "rollback")
        environment = _environment(rest[0], service, catalog, example)
        rest = rest[1:]
    elif rest and catalog.environment(rest[0]) is not None:
        environment = _environment(rest[0], service, catalog, example)
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


def _parse_release(words: list[str], catalog: Catalog) -> Command:
    if not words:
        return Help()
    sub, rest = words[0].lower(), words[1:]
    match sub:
        case "help" | "?":
            return Help(topic=rest[0].lower() if rest else "")
        case "list" | "active" | "ls":
            return ListActive()
        case "status":
            release_id, service, environment, _ = _target(rest, catalog, "/release status checkout")
            return Status(release_id=release_id, service=service, environment=environment)
        case "history":
            limit = 10
            if rest and rest[-1].isascii() and rest[-1].isdigit():
                limit = _bounded(
                    int(rest[-1]),
                    1,
                    50,
                    "history length",
                    "/release history checkout production 10",
                )
                rest = rest[:-1]
            _, service, environment, _ = _target(
                rest, catalog, "/release history checkout production"
            )
            return History(service=service, environment=environment, limit=limit)
        case policy if policy in POLICY_SUBCOMMANDS:
            return parse_policy(policy, rest, catalog)
        case action if action in RELEASE_ACTIONS:
            example = f"/release {action} checkout production"
            release_id, service, environment, reason = _target(
                rest, catalog, example, allow_reason=True
            )
            if release_id is None and service is None:
                raise UsageError(
                    f"Which release should I {action}? Name it or its service.",
                    f"/release {action} #12",
                    "release",
                )
            return ReleaseAction(action, release_id, service, environment, reason)
    suggestion = difflib.get_close_matches(
        sub, ["help", "list", "status", "history", *RELEASE_ACTIONS, *POLICY_SUBCOMMANDS], 1
    )
    hint = f" Did you mean `{suggestion[0]}`?" if suggestion else ""
    raise UsageError(
        f"`/release {sub}` is not a release command.{hint}", "/release help", "release"
    )


def _target(
    words: list[str], catalog: Catalog, example: str, allow_reason: bool = False
) -> tuple[int | None, str | None, str | None, str]:
    """`#12` | `12` | `SERVICE [ENV]`, then (optionally) a free-text reason."""
    if not words:
        return None, None, None, ""
    if _looks_like_release_number(words[0]):
        number = release_number(words[0])
        if number is None:
            raise UsageError(
                f"`{plain_text(words[0], 40)}` is not a release number: write it like #12, in "
                f"digits 0-9, from 1 to {RELEASE_NUMBER_MAX}.",
                example,
            )
        reason = " ".join(words[1:])
        if reason and not allow_reason:
            raise UsageError(f"Unexpected `{reason}` after the release number.", example)
        return number, None, None, reason
    service = _service(words[0], catalog, example)
    rest = words[1:]
    environment = None
    if len(rest) > 1 and rest[0].lower() in ENV_PREPOSITIONS:
        environment = _environment(rest[1], service, catalog, example)
        rest = rest[2:]
    elif rest and catalog.environment(rest[0]) is not None:
        environment = _environment(rest[0], service, catalog, example)
        rest = rest[1:]
    if rest and not allow_reason:
        raise UsageError(f"I don't understand `{' '.join(rest)}` here.", example)
    return None, service.name, environment, " ".join(rest)


BREAK_GLASS_WORDS = ("break-glass", "breakglass", "break_glass")
INCIDENT = re.compile(r"[A-Za-z0-9#._/-]{1,40}")
BREAK_GLASS_EXAMPLE = "/deploy checkout v1.4.3 to production break-glass INC-123 checkout is down"


def _take_break_glass(words: list[str], catalog: Catalog) -> tuple[list[str], BreakGlass | None]:
    """`... break-glass INC-123 why it cannot wait`: the incident and the reason end the line."""
    for at, word in enumerate(words):
        if word.lower() not in BREAK_GLASS_WORDS:
            continue
        incident, reason_words = words[at + 1 : at + 2], words[at + 2 :]
        if not incident or not reason_words:
            raise UsageError(
                "Breaking glass needs an incident reference and a reason, after the word.",
                BREAK_GLASS_EXAMPLE,
                "deploy",
            )
        if not INCIDENT.fullmatch(incident[0]):
            raise UsageError(
                f"`{plain_text(incident[0])}` does not look like an incident reference "
                "(INC-123, #4521).",
                BREAK_GLASS_EXAMPLE,
                "deploy",
            )
        for position, reason_word in enumerate(reason_words[:-1]):
            following = reason_words[position + 1]
            if reason_word.lower() in ENV_PREPOSITIONS and catalog.environment(following):
                raise UsageError(
                    "Put `break-glass INCIDENT reason` last, after the environment: everything "
                    "after the incident is the reason.",
                    BREAK_GLASS_EXAMPLE,
                    "deploy",
                )
        return words[:at], BreakGlass(incident[0], plain_text(" ".join(reason_words)))
    return words, None


def _once(current: StrategyName | None, new: StrategyName, what: str) -> StrategyName:
    if current is not None and current is not new:
        raise UsageError(f"Pick one {what}: `{current.value}` or `{new.value}`.", DEPLOY_EXAMPLE)
    return new


def _once_env(current: str | None, new: str) -> str:
    if current is not None and current != new:
        raise UsageError(f"Pick one environment: `{current}` or `{new}`.", DEPLOY_EXAMPLE, "deploy")
    return new


def _bounded(number: int, low: int, high: int, what: str, example: str = DEPLOY_EXAMPLE) -> int:
    if not low <= number <= high:
        raise UsageError(f"{number} is not a valid {what}: use {low} to {high}.", example)
    return number


def _is_number(word: str) -> bool:
    return bool(PERCENT.match(word))
