"""The /deploy grammar: a service, then in any order a version, a strategy (with its flag,
percentage or batches), an environment and when to start (bot/core/commands/when.py), and
last, when it cannot wait, `break-glass` with an incident and a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.catalog import Catalog, StrategyName
from bot.core.commands.when import SCHEDULE_EXAMPLE, When, starts_a_time, take_when
from bot.core.commands.words import (
    ENV_PREPOSITIONS,
    VERSION,
    UsageError,
    bounded_number,
    environment_named,
    service_named,
)
from bot.core.release import BreakGlass
from bot.core.strategies import StrategyChoice
from bot.core.wording import plain_text

PERCENT = re.compile(r"^(\d{1,3})%?$", re.ASCII)
MAX_VERSION_LENGTH = 100
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
DEPLOY_EXAMPLE = "/deploy checkout canary 10% to production"
BREAK_GLASS_WORDS = ("break-glass", "breakglass", "break_glass")
INCIDENT = re.compile(r"[A-Za-z0-9#._/-]{1,40}")
BREAK_GLASS_EXAMPLE = "/deploy checkout v1.4.3 to production break-glass INC-123 checkout is down"


@dataclass(frozen=True)
class Deploy:
    service: str
    environment: str
    strategy: StrategyChoice
    version: str | None = None
    break_glass: BreakGlass | None = None
    when: When | None = None  # scheduled: at 22:00, tonight, in 2h...


def deploy_words(command: Deploy, at: datetime) -> str:
    """The /deploy text that asks for `command` again, to start at `at` (UTC): what a
    "Schedule for then" button sends."""
    choice = command.strategy
    words = [command.service]
    if command.version:
        words.append(command.version)
    if choice.name is StrategyName.FEATURE_FLAG and choice.flag:
        words += ["flag", choice.flag]
    else:
        words.append(choice.name.value)
    if choice.start_percent is not None:
        words.append(f"{choice.start_percent}%")
    if choice.batches is not None:
        words.append(f"{choice.batches} batches")
    words += ["to", command.environment, "at", at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), "UTC"]
    return " ".join(words)


def parse_deploy(words: list[str], catalog: Catalog) -> Deploy:
    if not words:
        raise UsageError("Which service should I deploy?", DEPLOY_EXAMPLE, "deploy")
    service = service_named(words[0], catalog, DEPLOY_EXAMPLE)
    environment: str | None = None
    version: str | None = None
    strategy: StrategyName | None = None
    percent: int | None = None
    flag: str | None = None
    batches: int | None = None
    when: When | None = None
    rest, break_glass = _take_break_glass(words[1:], catalog)
    i = 0
    while i < len(rest):
        word, lowered = rest[i], rest[i].lower()
        following = rest[i + 1] if i + 1 < len(rest) else None
        if starts_a_time(rest, i):
            if when is not None:
                raise UsageError(
                    f"Two start times given: `{when.said}` and more.", SCHEDULE_EXAMPLE, "deploy"
                )
            when, i = take_when(rest, i)
            continue
        if lowered in ENV_PREPOSITIONS:
            if following is None:
                raise UsageError(
                    f"`{word}` needs an environment after it.", DEPLOY_EXAMPLE, "deploy"
                )
            environment = _once_env(
                environment, environment_named(following, service, catalog, DEPLOY_EXAMPLE)
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
                batches = bounded_number(number, 1, 20, "batches", DEPLOY_EXAMPLE)
            else:
                if percent is not None and percent != number:
                    raise UsageError(
                        f"Pick one starting percentage: `{percent}%` or `{number}%`; the "
                        "catalog's steps follow it.",
                        DEPLOY_EXAMPLE,
                        "deploy",
                    )
                percent = bounded_number(number, 1, 100, "percent", DEPLOY_EXAMPLE)
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
                environment, environment_named(word, service, catalog, DEPLOY_EXAMPLE)
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
        when=when,
    )


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


def _is_number(word: str) -> bool:
    return bool(PERCENT.match(word))
