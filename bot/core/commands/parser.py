"""Slash command text -> a typed command, or a UsageError that says what was wrong.

The grammar is forgiving: words may come in any order after the service, case does not
matter, `10%` and `10` are the same, and environment aliases from the catalog (`prod`) work.
Each command's grammar has its module (deploy, rollback, release, policy, reports); this one
picks it by the command's name and fits the examples in its errors to the catalog.
"""

from __future__ import annotations

from bot.core.catalog import Catalog
from bot.core.commands.deploy import Deploy, parse_deploy
from bot.core.commands.policy import PolicyCommand
from bot.core.commands.release import ReleaseCommand, parse_release
from bot.core.commands.reports import ReportCommand
from bot.core.commands.rollback import RollbackCommand, parse_rollback
from bot.core.commands.words import UsageError

Command = Deploy | RollbackCommand | ReleaseCommand | PolicyCommand | ReportCommand


def parse(command: str, text: str, catalog: Catalog) -> Command:
    name = command.strip().lstrip("/").lower()
    words = text.split()
    try:
        match name:
            case "deploy":
                return parse_deploy(words, catalog)
            case "rollback":
                return parse_rollback(words, catalog)
            case "release":
                return parse_release(words, catalog)
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
