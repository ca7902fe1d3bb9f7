"""Reads a catalog YAML file and validates it, naming the field and the line of every error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.core.catalog import Catalog, CatalogReferenceError
from bot.core.wording import plural


@dataclass(frozen=True)
class CatalogProblem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '(top level)'}: {self.message}"


class CatalogError(Exception):
    def __init__(self, source: str, problems: list[CatalogProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))

    def report(self) -> str:
        lines = [f"{self.source}: {plural(len(self.problems), 'problem')}"]
        lines += [
            f"  {self.source}:{p.line or '?'}: {p.path or '(top level)'}: {p.message}"
            for p in self.problems
        ]
        return "\n".join(lines)


def load_catalog(path: Path) -> Catalog:
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise CatalogError(str(path), [CatalogProblem("", None, "file not found")]) from exc
    return parse_catalog(text, str(path))


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise CatalogError(source, [CatalogProblem("", line, f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise CatalogError(source, [CatalogProblem("", 1, "the catalog must be a mapping")])
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            located = (
                cause.problems
                if isinstance(cause, CatalogReferenceError)
                else [(error["loc"], _message(error))]
            )
            problems += [
                CatalogProblem(".".join(str(part) for part in loc), _line_of(node, loc), message)
                for loc, message in located
            ]
        raise CatalogError(source, problems) from None


def line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The line in catalog `text` that `path` (e.g. ("environments", "production",
    "approvals")) points at."""
    try:
        return _line_of(yaml.compose(text, Loader=yaml.SafeLoader), path)
    except yaml.YAMLError:
        return None


def _message(error: dict[str, Any]) -> str:
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling and indentation)"
    return message


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest YAML node that `loc` reaches (1-based)."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((pair for pair in node.value if pair[0].value == str(part)), None)
            if match is None:
                break
            best = match[0].start_mark.line + 1
            node = match[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            best = node.start_mark.line + 1
        else:
            break
    return best
