"""`releasebot --help` starts without the heavy libraries: each command imports what it uses
(no timing here: `releasebot bench-start` measures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What `serve`, `config check` or the audit commands need, and `--help` must not load.
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "jinja2",
    "apscheduler",
    "yaml",
    "prometheus_client",
    "cryptography",
    "bot.core.catalog",
    "bot.storage.database",
    "bot.app.runtime",
    "integrations",
)

LOADED_AFTER = """
import importlib, json, sys
module, args = sys.argv[1], json.loads(sys.argv[2])
sys.argv = ["releasebot", *args]
if args:
    from bot.cli.main import main
    try:
        main()
    except SystemExit:
        pass
else:
    importlib.import_module(module)
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_after(*args: str, module: str = "bot.cli") -> set[str]:
    """The modules loaded after running `releasebot ARGS`, or importing `module`."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, module, json.dumps(args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(
        name for name in HEAVY if any(m == name or m.startswith(f"{name}.") for m in modules)
    )


@pytest.mark.parametrize(
    "args", [(), ("--help",), ("config", "--help"), ("audit", "--help")], ids=" ".join
)
def test_help_imports_no_heavy_library(args):
    assert heavy_in(loaded_after(*args)) == []


@pytest.mark.parametrize("args", [(), ("--help",)], ids=" ".join)
def test_the_top_level_help_does_not_even_load_pydantic(args):
    """(typer itself loads pydantic to read a command's options, so a command's --help does.)"""
    assert [m for m in loaded_after(*args) if m.split(".")[0] == "pydantic"] == []


@pytest.mark.slow
def test_serve_loads_neither_postgresql_nor_sign_in_libraries_until_configured():
    loaded = loaded_after(module="bot.app.runtime")
    assert "sqlalchemy" in loaded  # the probe sees what serve does load
    assert [m for m in ("psycopg", "authlib", "joserfc", "httpx2") if m in loaded] == []


@pytest.mark.slow
def test_the_check_finds_a_heavy_import():
    """The probe itself works: a command that needs the catalog does load it."""
    example = str(REPO / "bot" / "app" / "releasebot.example.yaml")
    assert "bot.core.catalog" in heavy_in(loaded_after("config", "check", example))


def test_serve_reads_the_catalog_once_and_hands_it_to_the_runtime(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import bot.app.runtime
    import bot.app.serving
    from bot.app import catalog_file
    from bot.cli.main import app

    parses, given = [], []
    real = catalog_file._load_with

    def counted(loader_class, text):
        parses.append(loader_class)
        return real(loader_class, text)

    async def build_runtime(settings, **kwargs):
        given.append(kwargs.get("catalog"))
        return object()

    async def serve(runtime):
        return None

    monkeypatch.setattr(catalog_file, "_load_with", counted)
    monkeypatch.setattr(bot.app.runtime, "build_runtime", build_runtime)
    monkeypatch.setattr(bot.app.serving, "serve", serve)
    result = CliRunner().invoke(
        app,
        ["serve", "--catalog", str(REPO / "bot" / "app" / "releasebot.example.yaml")],
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert len(parses) == 1
    assert [sorted(catalog.services) for catalog in given] == [
        ["checkout", "payments", "search", "web"]
    ]
