"""Reads a catalog YAML file and validates it, naming the field and the line of every error."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class CatalogFile:
    """A catalog as read from its YAML: the validated catalog, and where each field is written
    (so later findings, such as policies that cannot work, name their line too)."""

    source: str
    text: str
    catalog: Catalog
    node: yaml.Node | None = field(repr=False)
    _keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The line that `path` (e.g. ("environments", "production", "approvals")) points at."""
        return _line_of(self.node, path, self._keys)


def read_catalog(path: Path) -> CatalogFile:
    """The catalog at `path`, parsed once; CatalogError names the line of every problem."""
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise CatalogError(str(path), [CatalogProblem("", None, "file not found")]) from exc
    return parse_catalog_file(text, str(path))


def load_catalog(path: Path) -> Catalog:
    return read_catalog(path).catalog


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    return parse_catalog_file(text, source).catalog


def parse_catalog_file(text: str, source: str = "<catalog>") -> CatalogFile:
    # A large catalog is some 100,000 new objects (nodes, data, models), none of them garbage:
    # the cyclic collector would walk them over and over while they are made (half the time).
    with _collector_paused():
        return _parse(text, source)


def _parse(text: str, source: str) -> CatalogFile:
    try:
        node, data = _compose_and_construct(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise CatalogError(source, [CatalogProblem("", line, f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise CatalogError(source, [CatalogProblem("", 1, "the catalog must be a mapping")])
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}
        problems = []
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            located = (
                cause.problems
                if isinstance(cause, CatalogReferenceError)
                else [(error["loc"], _message(error))]
            )
            problems += [
                CatalogProblem(
                    ".".join(str(part) for part in loc), _line_of(node, loc, keys), message
                )
                for loc, message in located
            ]
        raise CatalogError(source, problems) from None
    return CatalogFile(source, text, catalog, node)


def line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The line in catalog `text` that `path` (e.g. ("environments", "production",
    "approvals")) points at. To look up many paths, use CatalogFile.line_of: it parses once."""
    try:
        return _line_of(_compose_and_construct(text)[0], path, {})
    except yaml.YAMLError:
        return None


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML's node tree (with line numbers) and its data, from one parse: with libyaml's
    parser when PyYAML has it (same nodes and lines, many times faster). Should it refuse the
    text, the pure-Python parser decides, so that errors read as they always have."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _load_with(fast, text)
        except yaml.YAMLError:
            pass
    return _load_with(yaml.SafeLoader, text)


def _load_with(loader_class: type, text: str) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


@contextmanager
def _collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _message(error: dict[str, Any]) -> str:
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling and indentation)"
    return message


def _line_of(
    node: yaml.Node | None,
    loc: tuple[Any, ...],
    keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]],
) -> int | None:
    """The line of the deepest YAML node that `loc` reaches (1-based). `keys` remembers each
    mapping's keys once looked through, so many look-ups in a large catalog stay linear."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = _keys_of(node, keys).get(str(part))
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


def _keys_of(
    node: yaml.MappingNode, keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]]
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping's pairs by key (the first, when a key is written twice)."""
    found = keys.get(id(node))
    if found is None:
        found = {}
        for pair in node.value:
            if isinstance(pair[0].value, str):
                found.setdefault(pair[0].value, pair)
        keys[id(node)] = found
    return found
