"""The audit export's file formats: the one list that chat, the web pages, the API and the CLI
offer and check."""

from __future__ import annotations

FORMATS = ("csv", "jsonl")
DEFAULT = "csv"
CHOICES = " or ".join(FORMATS)


def format_problem(fmt: str, asked_as: str) -> str | None:
    """What is wrong with `fmt`, named as the person gave it (`format`, `--format`), or None."""
    return None if fmt in FORMATS else f"{asked_as} must be {CHOICES}, not {fmt!r}"
