"""`releasebot api-token create | list | revoke`: tokens for scripts that fetch the audit export
over HTTP (GET /api/v1/audit/export)."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer

from bot.cli.common import DatabaseOption, fail, settings

api_token_app = typer.Typer(
    help="Tokens for scripts that fetch the audit export over HTTP.", no_args_is_help=True
)
T = TypeVar("T")


@api_token_app.command("create")
def create(
    user: Annotated[
        str,
        typer.Option(help="The Slack user ID the token acts as; their roles decide what it may."),
    ],
    name: Annotated[str, typer.Option(help='What uses it, e.g. "quarterly SOX export".')],
    expires_in: Annotated[
        str, typer.Option(help="How long it lasts: a span like 90d, or never.")
    ] = "90d",
    database_url: DatabaseOption = None,
) -> None:
    """Make a token and print it once; only its SHA-256 is kept. Audited."""
    from bot.services.api_tokens import ApiTokenError, lifetime_from

    try:
        lifetime = lifetime_from(expires_in)
        token, secret = _run(
            database_url, lambda tokens: tokens.create(name, user, by=_who(), lifetime=lifetime)
        )
    except ApiTokenError as exc:
        raise fail(str(exc)) from None
    until = _time(token.expires_at, "never")
    typer.echo(secret)
    typer.echo(
        f"token {token.id} ({token.name}) acts as {token.user_id}, expires {until}. "
        "This is the only time it is shown: keep it in your secret store.",
        err=True,
    )


@api_token_app.command("list")
def list_tokens(database_url: DatabaseOption = None) -> None:
    """Every token: what it is for, whom it acts as, when it expires and was last used."""
    tokens = _run(database_url, lambda tokens: tokens.all())
    if not tokens:
        typer.echo("no API tokens (releasebot api-token create makes one)")
        return
    now = datetime.now(UTC)
    typer.echo(f"{'ID':>4}  {'STATE':8} {'ACTS AS':12} {'EXPIRES':20} {'LAST USED':20} NAME")
    for token in tokens:
        typer.echo(
            f"{token.id:>4}  {token.state_at(now):8} {token.user_id:12} "
            f"{_time(token.expires_at, 'never'):20} {_time(token.last_used_at, '-'):20} "
            f"{token.name}"
        )


@api_token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's ID (see api-token list).")],
    database_url: DatabaseOption = None,
) -> None:
    """Stop a token working at once. Audited."""
    from bot.services.api_tokens import ApiTokenError

    try:
        token = _run(database_url, lambda tokens: tokens.revoke(token_id, by=_who()))
    except ApiTokenError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"token {token.id} ({token.name}) revoked")


def _run(database_url: str | None, use: Callable[..., Awaitable[T]]) -> T:
    from bot.core.clock import SystemClock
    from bot.services.api_tokens import ApiTokens
    from bot.storage import migrate
    from bot.storage.database import create_engine, session_factory
    from bot.storage.unit_of_work import SqlUnitOfWork

    async def main() -> T:
        engine = create_engine(database_url or settings().database_url)
        try:
            if await migrate.pending(engine):
                raise fail("the database is not migrated: run `releasebot migrate` first")
            sessions = session_factory(engine)
            clock = SystemClock()
            return await use(ApiTokens(lambda: SqlUnitOfWork(sessions, clock), clock))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _who() -> str:
    """Audit rows name who ran the command on this machine."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _time(moment: datetime | None, otherwise: str) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else otherwise
