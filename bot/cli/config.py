"""`releasebot config check`, and reading the catalog and building its backends as `serve`
does (serve uses the same two)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail
from bot.cli.common import settings as read_settings
from bot.core.wording import plural

config_app = typer.Typer(help="Check the catalog (services, environments, roles, backends).")


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="The catalog YAML to check.")],
    probe: Annotated[
        bool, typer.Option("--probe", help="Also ask every backend whether it answers.")
    ] = False,
) -> None:
    """Validate a catalog: every problem is printed with its field and line, including
    policies that cannot work (more approvals than approvers) and backend settings that
    cannot work (an unknown setting, a secret variable that is not set). With SLACK_BOT_TOKEN
    set, the members of Slack user groups are read and counted too."""
    from bot.core.catalog_lint import policy_problems

    loaded = load_catalog(file)
    catalog = loaded.catalog
    registry = build_backends(catalog, file)
    if probe:
        _probe_backends(registry)
    problems = policy_problems(catalog, asyncio.run(_group_members(catalog)))
    for problem in problems:
        where = ".".join(str(part) for part in problem.path)
        typer.secho(
            f"{file}:{loaded.line_of(problem.path) or '?'}: {where}: {problem.severity}: "
            f"{problem.message}",
            fg=typer.colors.RED if problem.severity == "error" else typer.colors.YELLOW,
            err=True,
        )
    if any(problem.severity == "error" for problem in problems):
        raise typer.Exit(1)
    grants = sum(len(u) for u in catalog.roles.values()) + len(catalog.grants)
    typer.echo(
        f"{file}: ok — {plural(len(catalog.services), 'service')}, "
        f"{plural(len(catalog.environments), 'environment')}, "
        f"{plural(grants, 'role grant')}, {plural(len(catalog.freezes), 'freeze window')}, "
        f"{plural(len(catalog.backends), 'backend')}"
    )


def load_catalog(path: Path):
    """The catalog file, parsed and validated once; its problems end the command."""
    from bot.app.catalog_file import CatalogError, read_catalog

    try:
        return read_catalog(path)
    except CatalogError as exc:
        raise fail(exc.report(), code=1) from None


def build_backends(catalog, path: Path):
    """Every backend the catalog names, built as `serve` would (without calling any)."""
    from bot.core.clock import SystemClock
    from integrations.base import BackendContext, MemoryOperations, SettingsProblem
    from integrations.registry import Registry

    context = BackendContext(
        clock=SystemClock(),
        env=os.environ,
        operations=MemoryOperations(),
        public_url=read_settings().public_url,
    )
    try:
        return Registry(catalog, context)
    except SettingsProblem as exc:
        raise fail(f"{path}: {exc}", code=1) from None


def _probe_backends(registry) -> None:
    async def check() -> list:
        try:
            return await registry.check_health()
        finally:
            await registry.close()

    results = asyncio.run(check())
    for health in results:
        if health.ok:
            typer.echo(f"backend {health.name} ({health.type}): answers")
        else:
            typer.secho(
                f"backend {health.name} ({health.type}): {health.problem}",
                fg=typer.colors.RED,
                err=True,
            )
    if not all(health.ok for health in results):
        raise typer.Exit(1)


async def _group_members(catalog) -> dict[str, frozenset[str]]:
    """Members of the Slack user groups the catalog names, when Slack is configured."""
    from bot.core.access import groups_used
    from bot.core.ports import IntegrationError

    groups = groups_used(catalog)
    settings = read_settings()
    if not groups or not settings.bot_token:
        return {}
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.chat import SlackGroups

    client = AsyncWebClient(
        token=settings.bot_token, base_url=settings.slack_api_url or AsyncWebClient.BASE_URL
    )
    directory = SlackGroups(client)
    found = {}
    for group in sorted(groups):
        try:
            found[group] = await directory.members(group)
        except IntegrationError as exc:
            typer.secho(
                f"could not read user group {group}: {exc}", fg=typer.colors.YELLOW, err=True
            )
    return found
