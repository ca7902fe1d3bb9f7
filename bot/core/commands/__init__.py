"""Slash command text -> typed commands. `parse` (parser.py) picks the grammar by the command's
name: deploy.py (/deploy), rollback.py (/rollback), release.py (/release and its actions on a
release), policy.py (locks, freezes, who may do what), reports.py (dora, export, integrations);
words.py holds the words they share and UsageError. The names importers use are re-exported
here."""

from bot.core.commands.deploy import Deploy
from bot.core.commands.parser import Command, parse
from bot.core.commands.policy import (
    FreezeEnvironments,
    LockEnvironment,
    PolicyCommand,
    UnfreezeEnvironments,
    UnlockEnvironment,
    Where,
    WhoAmI,
    WhoCan,
)
from bot.core.commands.release import (
    Help,
    History,
    ListActive,
    ReleaseAction,
    ReleaseCommand,
    Status,
)
from bot.core.commands.reports import (
    Dora,
    ExportAudit,
    Integrations,
    NotifyPlanQuery,
    ReportCommand,
)
from bot.core.commands.rollback import RollbackCommand
from bot.core.commands.words import RELEASE_NUMBER_MAX, UsageError, release_number

__all__ = [
    "RELEASE_NUMBER_MAX",
    "Command",
    "Deploy",
    "Dora",
    "ExportAudit",
    "FreezeEnvironments",
    "Help",
    "History",
    "Integrations",
    "NotifyPlanQuery",
    "ListActive",
    "LockEnvironment",
    "PolicyCommand",
    "ReleaseAction",
    "ReleaseCommand",
    "ReportCommand",
    "RollbackCommand",
    "Status",
    "UnfreezeEnvironments",
    "UnlockEnvironment",
    "UsageError",
    "Where",
    "WhoAmI",
    "WhoCan",
    "parse",
    "release_number",
]
