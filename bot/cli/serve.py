"""`releasebot serve` and `releasebot migrate`: run an installation, and bring its database up to
date."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import DatabaseOption, fail
from bot.cli.common import settings as read_settings
from bot.cli.config import build_backends, load_catalog


def serve(
    catalog: Annotated[
        Path | None,
        typer.Option(help="Catalog YAML (default: the example).", envvar="RELEASEBOT_CATALOG"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 3000).")] = None,
    database_url: DatabaseOption = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="all (default), web (answers Slack, writes requests down) or engine (works "
            "them); web and engine as separate processes need PostgreSQL.",
            envvar="RELEASEBOT_ROLE",
        ),
    ] = None,
) -> None:
    """Run the bot: Slack endpoint, engine and, without Slack tokens, the local Slack console."""
    from dataclasses import replace

    from bot.app.runtime import build_runtime
    from bot.app.serving import serve as run_server
    from bot.app.settings import SettingsError, check_role
    from bot.services.audit_watch import AuditUnprotected

    settings = read_settings()
    overrides = {
        key: value
        for key, value in {
            "catalog_path": catalog,
            "host": host,
            "port": port,
            "database_url": database_url,
            "role": role.strip().lower() if role else None,
        }.items()
        if value is not None
    }
    settings = replace(settings, **overrides)
    try:
        check_role(settings)
    except SettingsError as exc:
        raise fail(str(exc)) from None
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick otherwise
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    loaded = load_catalog(settings.catalog_path)  # read once: the runtime gets this one
    _refuse_broken_policies(loaded)
    build_backends(loaded.catalog, settings.catalog_path)  # refuse settings that cannot work

    async def main() -> None:
        runtime = await build_runtime(settings, catalog=loaded.catalog)
        await run_server(runtime)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # before the signal handlers were installed
        pass
    except AuditUnprotected as exc:
        raise fail(str(exc), code=1) from None
    except OSError as exc:
        raise fail(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}. "
            "Pick another port with --port or PORT."
        ) from None
    typer.echo("stopped")


def migrate(database_url: DatabaseOption = None) -> None:
    """Bring the database schema up to date (Alembic migrations), and recreate the audit
    trail's append-only triggers if someone dropped, disabled or changed them."""
    from bot.storage import migrate as migrations
    from bot.storage.audit_integrity import restore_triggers
    from bot.storage.database import create_engine

    url = database_url or read_settings().database_url

    async def main() -> tuple[list[str], list[str]]:
        engine = create_engine(url)
        try:
            before = await migrations.pending(engine)
            await migrations.upgrade(engine)
            return before, await restore_triggers(engine)
        finally:
            await engine.dispose()

    applied, restored = asyncio.run(main())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    if restored:
        typer.echo(
            f"recreated the audit trail's append-only trigger {', '.join(restored)}: it was "
            "missing, disabled or changed. Run `releasebot audit verify` to see whether the "
            "trail was edited meanwhile."
        )


def _refuse_broken_policies(loaded) -> None:
    """`serve` will not start with a policy that cannot work (checked without Slack)."""
    from bot.core.catalog_lint import policy_problems

    errors = [p for p in policy_problems(loaded.catalog) if p.severity == "error"]
    if errors:
        path = loaded.source
        lines = [
            f"{path}:{loaded.line_of(p.path) or '?'}: {'.'.join(map(str, p.path))}: {p.message}"
            for p in errors
        ]
        raise fail("\n".join(["the catalog's policies cannot work:", *lines]), code=1)
