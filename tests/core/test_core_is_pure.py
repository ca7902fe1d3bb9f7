"""bot/core imports nothing of the outer layers: no Slack, HTTP, database or scheduler code.

The check reads every module's source with `ast` (every import statement, wherever it sits:
top level, inside functions, under TYPE_CHECKING), resolves relative imports, and names the
offending file, line and import. A second check imports the core in a fresh interpreter and
looks at what ended up in sys.modules, which also catches transitive imports.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "bot" / "core"

FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "sqlmodel",
    "sqlalchemy",
    "apscheduler",
    "integrations",
    "bot.storage",
    "bot.slack",
    "bot.web",
    "bot.engine",
    "bot.services",
    "bot.emulator",
    "bot.cli",
    "bot.app.runtime",
    "bot.app.serving",
    "bot.app.settings",
    "bot.app.catalog_file",
)


def core_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.append((".".join(parts), path))
    return modules


def imported_names(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, dotted name) of everything `source` imports, relative imports made absolute."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def is_forbidden(name: str) -> str | None:
    for prefix in FORBIDDEN:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


def violations(source: str, module: str, where: str, is_package: bool = False) -> list[str]:
    return [
        f"{where}:{line}: imports {name} ({prefix} is outside the pure core)"
        for line, name in imported_names(source, module, is_package)
        if (prefix := is_forbidden(name))
    ]


def test_the_core_has_modules():
    names = {name for name, _ in core_modules()}
    assert {
        "bot.core.release",
        "bot.core.commands",
        "bot.core.policy",
        "bot.core.audit",
        "bot.core.catalog",
        "bot.core.strategies",
        "bot.core.ports",
    } <= names


@pytest.mark.parametrize(("module", "path"), core_modules(), ids=[m for m, _ in core_modules()])
def test_core_module_imports_nothing_from_outer_layers(module: str, path: Path):
    found = violations(
        path.read_text(), module, str(path.relative_to(REPO)), is_package=path.name == "__init__.py"
    )
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("module", "path"), core_modules(), ids=[m for m, _ in core_modules()])
def test_core_module_imports_cleanly(module: str, path: Path):
    assert Path(importlib.import_module(module).__file__ or "") == path


def test_importing_the_core_loads_no_outer_layer():
    modules = [name for name, _ in core_modules()]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    leaked = sorted(name for name in loaded if is_forbidden(name))
    assert not leaked, f"importing bot.core loaded: {', '.join(leaked)}"


# The scanner itself must catch what it is meant to catch.


@pytest.mark.parametrize(
    ("source", "offending"),
    [
        ("import slack_bolt", "slack_bolt"),
        ("import sqlalchemy.orm as orm", "sqlalchemy.orm"),
        ("from aiohttp import web", "aiohttp"),
        ("from slack_sdk.web.async_client import AsyncWebClient", "slack_sdk.web.async_client"),
        ("from bot.storage.tables import ReleaseRow", "bot.storage.tables"),
        ("from bot import services", "bot.services"),
        ("from ..engine import engine", "bot.engine"),
        ("from .. import web", "bot.web"),
        ("from integrations.github import GitHub", "integrations.github"),
        ("def f():\n    import apscheduler\n", "apscheduler"),
        (
            "import typing\nif typing.TYPE_CHECKING:\n    from sqlmodel import Session\n",
            "sqlmodel",
        ),
        ("import importlib\nimportlib.import_module('bot.slack.app')", "bot.slack.app"),
    ],
)
def test_scanner_catches(source: str, offending: str):
    found = violations(source, "bot.core.example", "bot/core/example.py")
    assert found, source
    assert any(f"imports {offending}" in line for line in found), found
    assert found[0].startswith("bot/core/example.py:")


@pytest.mark.parametrize(
    "source",
    [
        "from bot.core.release import Release",
        "from . import stages",
        "from .catalog import Catalog",
        "import pydantic",
        "import slack_bolt_like_but_not",  # a prefix match needs a dot or the whole name
        "from bot.core import storage_helpers",
    ],
)
def test_scanner_allows(source: str):
    assert violations(source, "bot.core.example", "bot/core/example.py") == []
