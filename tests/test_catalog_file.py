"""Reading the catalog file: one parse (ruamel.yaml with libyaml's parser when installed) gives the
data and the line of every field, as PyYAML (which read it before) found them; errors read as the
pure-Python parser words them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.app import catalog_file
from bot.app.catalog_file import CatalogError, line_of, parse_catalog_file, read_catalog

REPO = Path(__file__).resolve().parents[1]
CATALOGS = [
    REPO / "bot" / "app" / "releasebot.example.yaml",
    *sorted((REPO / "tests" / "support").glob("*catalog*.yaml")),
]

needs_libyaml = pytest.mark.skipif(
    catalog_file._FastLoader is None, reason="ruamel.yaml without libyaml: one parser"
)


def every_path(node: yaml.Node, path: tuple = ()):
    """(path, line) of every node, found with PyYAML's pure-Python parser's nodes."""
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if key.value in seen:
                continue
            seen.add(key.value)
            yield (*path, key.value), key.start_mark.line + 1
            yield from ((p, line) for p, line in every_path(value, (*path, key.value)) if p)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            yield from every_path(item, (*path, position))


@needs_libyaml
@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_the_lines_and_data_are_those_pyyaml_found(path):
    text = path.read_text()
    loaded = parse_catalog_file(text, str(path))
    reference = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = {}
    for where, line in every_path(reference):
        lines.setdefault(where, line)
    assert len(lines) > 50
    assert {where: loaded.line_of(where) for where in lines} == lines
    assert catalog_file._compose_and_construct(text)[1] == yaml.load(text, Loader=yaml.SafeLoader)
    pure = catalog_file._load_with(catalog_file._PureLoader, text)[1]
    assert catalog_file._load_with(catalog_file._FastLoader, text)[1] == pure


YAML_1_1 = """\
switches: [yes, no, on, off, true, False]
numbers: [0777, 0x1F, 1_000, 1.5, .inf]
minutes: 12:30
texts: [0o17, "yes", ~]
start: 2026-12-24T00:00
twice: first
twice: last
"""


@pytest.mark.parametrize("loader", ["_FastLoader", "_PureLoader"])
def test_the_yaml_is_read_as_yaml_1_1_as_pyyaml_read_it(loader):
    if getattr(catalog_file, loader) is None:
        pytest.skip("ruamel.yaml without libyaml")
    data = catalog_file._load_with(getattr(catalog_file, loader), YAML_1_1)[1]
    assert data == yaml.safe_load(YAML_1_1)
    assert data["switches"] == [True, False, True, False, True, False]
    assert (data["numbers"][:3], data["minutes"]) == ([511, 31, 1000], 750)
    assert data["twice"] == "last"


def test_many_look_ups_parse_the_file_once(monkeypatch):
    parses = []
    real = catalog_file._load_with

    def counted(loader_class, text):
        parses.append(loader_class)
        return real(loader_class, text)

    monkeypatch.setattr(catalog_file, "_load_with", counted)
    loaded = read_catalog(CATALOGS[0])
    for name in loaded.catalog.services:
        assert loaded.line_of(("services", name, "repository"))
    assert len(parses) == 1


def test_a_path_that_is_not_there_names_the_deepest_line_found():
    text = "environments:\n  staging: {}\nservices:\n  web:\n    repository: a/b\n"
    loaded = parse_catalog_file(text + "    environments: [staging]\n")
    assert loaded.line_of(("services", "web", "nope", 3)) == 4
    assert loaded.line_of(("groups", "S0X")) == 1
    assert line_of(text, ("services", "web", "repository")) == 5


@needs_libyaml
def test_a_syntax_error_reads_as_the_pure_python_parser_words_it():
    text = "environments: {staging: {}}\nservices:\n  a: b: c\n"
    with pytest.raises(CatalogError) as caught:
        parse_catalog_file(text, "catalog.yaml")
    report = caught.value.report()
    assert "catalog.yaml:3: (top level): not valid YAML: mapping values are not allowed here" in (
        report
    )
    assert 'in "<unicode string>", line 3, column 7' in report
