"""The /release grammar: help, list, status, history and the actions on one release (approve,
reject, promote, pause, resume, abort); the policy and report subcommands are read by
policy.py and reports.py."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.commands.policy import POLICY_SUBCOMMANDS, PolicyCommand, parse_policy
from bot.core.commands.reports import REPORT_SUBCOMMANDS, ReportCommand, parse_report
from bot.core.commands.words import (
    ENV_PREPOSITIONS,
    RELEASE_NUMBER_MAX,
    UsageError,
    bounded_number,
    environment_named,
    looks_like_release_number,
    release_number,
    service_named,
)
from bot.core.wording import plain_text

RELEASE_ACTIONS = ("approve", "reject", "promote", "pause", "resume", "abort")
SUBCOMMANDS = (
    "help",
    "list",
    "scheduled",
    "status",
    "history",
    *RELEASE_ACTIONS,
    *POLICY_SUBCOMMANDS,
    *REPORT_SUBCOMMANDS,
)


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
    """Active releases; `scheduled`: only those waiting for their time (of `service`)."""

    scheduled: bool = False
    service: str | None = None


@dataclass(frozen=True)
class History:
    service: str | None = None
    environment: str | None = None
    limit: int = 10


@dataclass(frozen=True)
class Help:
    topic: str = ""


ReleaseCommand = ReleaseAction | Status | ListActive | History | Help


def parse_release(
    words: list[str], catalog: Catalog
) -> ReleaseCommand | PolicyCommand | ReportCommand:
    if not words:
        return Help()
    sub, rest = words[0].lower(), words[1:]
    match sub:
        case "help" | "?":
            return Help(topic=rest[0].lower() if rest else "")
        case "list" | "active" | "ls":
            return ListActive()
        case "scheduled":
            example = "/release scheduled checkout"
            service = service_named(rest[0], catalog, example).name if rest else None
            return ListActive(scheduled=True, service=service)
        case "status":
            release_id, service, environment, _ = _target(rest, catalog, "/release status checkout")
            return Status(release_id=release_id, service=service, environment=environment)
        case "history":
            limit = 10
            if rest and rest[-1].isascii() and rest[-1].isdigit():
                limit = bounded_number(
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
        case report if report in REPORT_SUBCOMMANDS:
            return parse_report(report, rest, catalog)
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
    suggestion = difflib.get_close_matches(sub, SUBCOMMANDS, 1)
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
    if looks_like_release_number(words[0]):
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
    service = service_named(words[0], catalog, example)
    rest = words[1:]
    environment = None
    if len(rest) > 1 and rest[0].lower() in ENV_PREPOSITIONS:
        environment = environment_named(rest[1], service, catalog, example)
        rest = rest[2:]
    elif rest and catalog.environment(rest[0]) is not None:
        environment = environment_named(rest[0], service, catalog, example)
        rest = rest[1:]
    if rest and not allow_reason:
        raise UsageError(f"I don't understand `{' '.join(rest)}` here.", example)
    return None, service.name, environment, " ".join(rest)
