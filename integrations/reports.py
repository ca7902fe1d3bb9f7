"""Quality reports found by URL: where CI publishes them (an artifact store, a static site, a
shared folder), as templates in the catalog. Each configured report is fetched and read as its
format; one that is not there or cannot be read is named, with why, and its gate fails.

Catalog block:
  backends:
    reports:
      type: reports
      settings:
        junit: https://ci.example/{repository}/{version}/junit.xml      # tests gate
        sarif: https://ci.example/{repository}/{version}/scan.sarif     # vulnerabilities gate
        cobertura: https://ci.example/{repository}/{version}/coverage.xml
        token_env: REPORTS_TOKEN        # optional: a bearer token for http(s)
        timeout_s: 10

Placeholders: {service}, {environment}, {version}, {repository}. `file:///path/...` reads a
local file (a shared volume). A 404 or a missing file is a missing report; a 5xx or a timeout
is retried, as CI checks are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from bot.core.ports import IntegrationError, Target
from bot.core.quality.gates import Reports
from bot.core.quality.reports import ReportError, parse_cobertura, parse_junit, parse_sarif
from integrations.base import BackendContext, Session, SettingsProblem, reject_unknown, secret

NAME = "reports"
PLACEHOLDERS = ("service", "environment", "version", "repository")
# The report each gate reads, and how.
KINDS: dict[str, tuple[str, Callable[[bytes], Any]]] = {
    "junit": ("tests", parse_junit),
    "sarif": ("vulnerabilities", parse_sarif),
    "cobertura": ("coverage", parse_cobertura),
}
RETRYABLE = (429, 500, 502, 503, 504)
MAX_BYTES = 50 * 1024 * 1024


class UrlReports:
    """Implements QualitySource (bot/core/ports/integrations.py)."""

    def __init__(self, templates: Mapping[str, str], headers: Mapping[str, str], timeout_s: float):
        self._templates = dict(templates)
        self._headers = dict(headers)
        self._timeout_s = timeout_s
        self._session = Session()

    async def close(self) -> None:
        await self._session.close()

    async def reports(self, target: Target, version: str) -> Reports:
        values = {
            "service": target.service,
            "environment": target.environment,
            "version": version,
            "repository": target.repository,
        }
        found: dict[str, Any] = {}
        missing: dict[str, str] = {}
        for kind, template in self._templates.items():
            gate, parse = KINDS[kind]
            url = template.format(**{k: quote(v, safe="") for k, v in values.items()})
            data, why = await self._fetch(url)
            if data is None:
                missing[gate] = why
                continue
            try:
                found[gate] = parse(data)
            except ReportError as exc:
                missing[gate] = f"{url}: {exc}"
        return Reports(**found, missing=missing or None)

    async def _fetch(self, url: str) -> tuple[bytes | None, str]:
        """The report's bytes, or None and why it is missing."""
        if url.startswith("file://"):
            path = Path(unquote(urlsplit(url).path))  # {repository} `acme/checkout`: folders
            try:
                return await asyncio.to_thread(path.read_bytes), ""
            except OSError as exc:
                return None, f"{path}: {exc.strerror or exc}"
        import aiohttp  # here, not at import: `config check` builds backends without HTTP

        try:
            async with self._session.get().get(
                url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=self._timeout_s)
            ) as response:
                if response.status in RETRYABLE:
                    raise IntegrationError(f"reports: GET {url} answered {response.status}")
                if response.status != 200:
                    return None, f"GET {url} answered {response.status}"
                data = await response.content.read(MAX_BYTES + 1)
                if len(data) > MAX_BYTES:
                    return None, f"GET {url}: larger than {MAX_BYTES // 2**20} MiB"
                return data, ""
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise IntegrationError(f"reports: GET {url}: {type(exc).__name__}") from exc


def build(settings: Mapping[str, Any], context: BackendContext) -> UrlReports:
    reject_unknown(settings, (*KINDS, "token_env", "token_file", "timeout_s"), NAME)
    templates = {kind: settings[kind] for kind in KINDS if settings.get(kind)}
    if not templates:
        raise SettingsProblem(f"a reports backend needs at least one of {', '.join(KINDS)}")
    for kind, template in templates.items():
        if not isinstance(template, str) or not template.startswith(
            ("http://", "https://", "file://")
        ):
            raise SettingsProblem(f"reports `{kind}` is an http(s):// or file:// URL template")
        try:
            template.format(**{p: "" for p in PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as exc:
            raise SettingsProblem(
                f"reports `{kind}`: unknown placeholder {exc}; use {', '.join(PLACEHOLDERS)}"
            ) from None
    token = secret(settings, "token", context.env)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return UrlReports(templates, headers, float(settings.get("timeout_s", 10)))
