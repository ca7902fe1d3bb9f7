"""The `releasebot` command: the groups and commands of bot/cli/, assembled in the order
`releasebot --help` lists them."""

from __future__ import annotations

import typer

from bot.cli.api_tokens import api_token_app
from bot.cli.audit import audit_app
from bot.cli.bench import bench_app, bench_dora, bench_export, bench_start, bench_verify
from bot.cli.chaos import chaos
from bot.cli.config import config_app
from bot.cli.serve import migrate, serve
from bot.cli.standin import standin_app

# Heavy modules (the catalog's pydantic models, SQLAlchemy, slack_bolt, aiohttp) are imported
# inside the commands that use them, so `releasebot --help` starts fast;
# tests/cli/test_cold_start.py keeps them out.

app = typer.Typer(
    name="releasebot",
    help="A chat-first release coordinator for Slack.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(config_app, name="config")
app.add_typer(audit_app, name="audit")
app.add_typer(api_token_app, name="api-token")
app.add_typer(standin_app, name="slack-standin")
app.add_typer(bench_app, name="bench")
app.command()(chaos)
app.command()(serve)
app.command()(migrate)
app.command("bench-start")(bench_start)
app.command("bench-export")(bench_export)
app.command("bench-verify")(bench_verify)
app.command("bench-dora")(bench_dora)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
