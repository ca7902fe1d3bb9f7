"""The /release subcommands that report: dora (the DORA metrics), export (the audit trail as a
file) and integrations (whether the backends answer)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.core.catalog import Catalog
from bot.core.commands.words import UsageError, environment_named, service_named
from bot.core.durations import parse_duration
from bot.core.export_formats import DEFAULT, FORMATS

REPORT_SUBCOMMANDS = ("integrations", "dora", "export", "notify")


@dataclass(frozen=True)
class Dora:
    """The DORA metrics of production releases over the last `window_s`."""

    service: str | None = None
    window_s: int = 30 * 86400


MAX_WINDOW_S = 365 * 86400


@dataclass(frozen=True)
class ExportAudit:
    """The audit trail of the last `window_s`, as a file sent to the auditor who asked."""

    window_s: int = 30 * 86400
    service: str | None = None
    environment: str | None = None
    fmt: str = DEFAULT


@dataclass(frozen=True)
class Integrations:
    """Which backends are configured, whether they answer, and their last error."""


@dataclass(frozen=True)
class NotifyPlanQuery:
    """Who hears what about `service`'s releases, per environment (or in one)."""

    service: str
    environment: str | None = None


ReportCommand = Dora | ExportAudit | Integrations | NotifyPlanQuery


def parse_report(sub: str, words: list[str], catalog: Catalog) -> ReportCommand:
    match sub:
        case "integrations":
            return Integrations()
        case "dora":
            return _dora(words, catalog)
        case "export":
            return _export(words, catalog)
        case "notify":
            example = "/release notify checkout production"
            if not words or len(words) > 2:
                raise UsageError(
                    "Whose plan? Name a service, and an environment if you like.", example
                )
            service = service_named(words[0], catalog, example)
            environment = (
                environment_named(words[1], service, catalog, example) if len(words) == 2 else None
            )
            return NotifyPlanQuery(service.name, environment)
    raise AssertionError(sub)


def _dora(words: list[str], catalog: Catalog) -> Dora:
    example = "/release dora checkout 90d"
    service: str | None = None
    window_s = Dora.window_s
    for word in words:
        if word.lower() in ("last", "over", "for", "all"):
            continue
        if word[:1].isdigit():
            window_s = _window(word, example)
            continue
        service = service_named(word, catalog, example).name
    return Dora(service, window_s)


def _export(words: list[str], catalog: Catalog) -> ExportAudit:
    example = "/release export last 30d production"
    found = ExportAudit()
    for word in words:
        lowered = word.lower()
        if lowered in ("last", "for", "of", "as", "the", "audit", "trail"):
            continue
        if lowered in FORMATS:
            found = replace(found, fmt=lowered)
        elif word[:1].isdigit():
            found = replace(found, window_s=_window(word, example))
        elif (environment := catalog.environment(word)) is not None:
            found = replace(found, environment=environment.name)
        else:
            found = replace(found, service=service_named(word, catalog, example).name)
    return found


def _window(word: str, example: str) -> int:
    """How far back a question or an export looks: 30d, 12h; between 1h and 365d."""
    try:
        window_s = parse_duration(word)
    except ValueError:
        raise UsageError(f"`{word}` is not a window; write it like 30d or 12h.", example) from None
    if not 3600 <= window_s <= MAX_WINDOW_S:
        raise UsageError("The window is between 1h and 365d.", example)
    return window_s
