"""Reads a catalog YAML file and validates it, naming the field and the line of every error.

The YAML is read with ruamel.yaml as YAML 1.1, the version PyYAML (which read it before) speaks:
`yes`/`no`/`on`/`off` are booleans, `0777` is octal, `12:30` is a number of minutes. Two things
still read differently from PyYAML: a plain `y` or `n` is a boolean (as YAML 1.1 says), and
`1e3` is a number rather than text."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MantissaNoDotYAML1_1Warning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from bot.core.catalog import Catalog, CatalogReferenceError
from bot.core.wording import plural

try:  # libyaml's parser, as ruamel.yaml.clibz (or the older ruamel.yaml.clib) brings it
    from ruamel.yaml.cyaml import CParser
except ImportError:
    CParser = None


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
    node: Node | None = field(repr=False)
    _keys: dict[int, dict[str, tuple[Node, Node]]] = field(
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
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise CatalogError(source, [CatalogProblem("", line, f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise CatalogError(source, [CatalogProblem("", 1, "the catalog must be a mapping")])
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        keys: dict[int, dict[str, tuple[Node, Node]]] = {}
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
    except YAMLError:
        return None


def _compose_and_construct(text: str) -> tuple[Node | None, Any]:
    """The YAML's node tree (with line numbers) and its data, from one parse: with libyaml's
    parser when installed (same nodes and lines, many times faster). Should it refuse the text,
    the pure-Python parser decides, so that errors read as they always have."""
    if _FastLoader is not None:
        try:
            return _load_with(_FastLoader, text)
        except YAMLError:
            pass
    return _load_with(_PureLoader, text)


def _load_with(loader_class: type, text: str) -> tuple[Node | None, Any]:
    with warnings.catch_warnings():
        # `1e3` is a float to ruamel but not to YAML 1.1: it warns, PyYAML read it as text.
        warnings.simplefilter("ignore", MantissaNoDotYAML1_1Warning)
        return loader_class(text).load()


class _LastKeyWins(SafeConstructor):
    """A key written twice keeps its last value, as PyYAML did (ruamel would refuse it)."""

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        return True


class _PureLoader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.yaml = YAML(typ="safe", pure=True)
        self.yaml.version = (1, 1)
        self.yaml.Constructor = _LastKeyWins

    def load(self) -> tuple[Node | None, Any]:
        node = self.yaml.compose(self.text)
        return node, (self.yaml.constructor.construct_document(node) if node is not None else None)


if CParser is None:
    _FastLoader = None
else:

    class _FastLoader(CParser, _LastKeyWins, VersionedResolver):  # type: ignore[no-redef]
        # Fixed rather than looked up for every scalar (that was a third of the parse).
        processing_version = (1, 1)

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            self._parser = self._composer = self
            _LastKeyWins.__init__(self, loader=self)
            VersionedResolver.__init__(self, version=(1, 1), loadumper=self)

        def load(self) -> tuple[Node | None, Any]:
            node = self.get_single_node()
            return node, (self.construct_document(node) if node is not None else None)


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
    node: Node | None,
    loc: tuple[Any, ...],
    keys: dict[int, dict[str, tuple[Node, Node]]],
) -> int | None:
    """The line of the deepest YAML node that `loc` reaches (1-based). `keys` remembers each
    mapping's keys once looked through, so many look-ups in a large catalog stay linear."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, MappingNode):
            match = _keys_of(node, keys).get(str(part))
            if match is None:
                break
            best = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            best = node.start_mark.line + 1
        else:
            break
    return best


def _keys_of(
    node: MappingNode, keys: dict[int, dict[str, tuple[Node, Node]]]
) -> dict[str, tuple[Node, Node]]:
    """A mapping's pairs by key (the first, when a key is written twice)."""
    found = keys.get(id(node))
    if found is None:
        found = {}
        for pair in node.value:
            if isinstance(pair[0].value, str):
                found.setdefault(pair[0].value, pair)
        keys[id(node)] = found
    return found
