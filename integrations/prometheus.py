"""Monitor for analysis stages: one PromQL instant query per metric, judged against the
catalog's thresholds, as an Argo Rollouts AnalysisTemplate with a Prometheus provider does.

Catalog block:
  backends:
    metrics:
      type: prometheus
      settings:
        url: http://prometheus.monitoring:9090
        token_env: PROMETHEUS_TOKEN        # optional: a bearer token
        timeout_s: 10
        queries:                           # defaults for services whose metric has no query
          error_rate: sum(rate(http_requests_total{service="{{service}}",code=~"5.."}[{{window}}]))
            / sum(rate(http_requests_total{service="{{service}}"}[{{window}}]))

A service's `analysis.metrics[].query` overrides the default of the same name. Placeholders:
{{service}}, {{environment}}, {{version}}, {{repository}}, {{window}} (the analysis interval,
e.g. "60s"). An empty result or NaN is "no data" and fails the check: no traffic proves
nothing. A query Prometheus rejects fails the check with Prometheus's own words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bot.core.analysis import QueryTemplateError, judge, render_query
from bot.core.catalog import QUERY_PLACEHOLDERS, Metric
from bot.core.ports import (
    AnalysisRequest,
    AnalysisResult,
    IntegrationError,
    Measurement,
)
from integrations.base import (
    BackendContext,
    Http,
    SettingsProblem,
    reject_unknown,
    required,
    secret,
    with_retries,
)

NAME = "prometheus"


class PrometheusMonitor:
    """Implements Monitor and Probe (bot/core/ports/integrations.py)."""

    def __init__(self, http: Http, queries: Mapping[str, str]) -> None:
        self._http = http
        self._queries = dict(queries)

    async def close(self) -> None:
        await self._http.close()

    async def health(self) -> str | None:
        try:
            await self._query("vector(1)")
        except IntegrationError as exc:
            return str(exc)
        return None

    async def analyze(self, request: AnalysisRequest) -> AnalysisResult:
        values = {
            "service": request.target.service,
            "environment": request.target.environment,
            "version": request.version,
            "repository": request.target.repository,
            "window": f"{max(1, request.window_s)}s",
        }
        return AnalysisResult(
            tuple([await self._measure(metric, values) for metric in request.metrics])
        )

    async def _measure(self, metric: Metric, values: dict[str, str]) -> Measurement:
        template = metric.query or self._queries.get(metric.name)
        if not template:
            return judge(metric, None, note="no query configured")
        try:
            query = render_query(template, values)
        except QueryTemplateError as exc:
            return judge(metric, None, note=str(exc))
        try:
            data = await self._query(query)
        except QueryRejected as exc:
            return judge(metric, None, note=f"query rejected: {exc}")
        return judge(metric, *_value(metric, data))

    async def _query(self, query: str) -> dict[str, Any]:
        async def call() -> Any:
            return await self._http.request(
                "POST",
                "/api/v1/query",
                data=_form({"query": query}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                expect=(200, 400, 422),
            )

        response = await with_retries(call)
        body = response.body if isinstance(response.body, dict) else {}
        if body.get("status") != "success":
            if response.status in (400, 422) or body.get("errorType") in ("bad_data", "execution"):
                raise QueryRejected(str(body.get("error") or response.body)[:300])
            raise IntegrationError(f"{NAME}: unexpected answer {str(response.body)[:200]}")
        return body.get("data") or {}


class QueryRejected(Exception):
    """Prometheus refused the query (bad PromQL, an execution error): the check fails."""


def _value(metric: Metric, data: Mapping[str, Any]) -> tuple[float | None, str]:
    """The value to judge and, when there is none, why. Several series: the worst one."""
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        return _number(result[1]), ""
    if kind != "vector":
        return None, f"the query returns a {kind}, not an instant vector"
    samples = [_number(series["value"][1]) for series in result or []]
    samples = [s for s in samples if s is not None and not math.isnan(s)]
    if not samples:
        return None, "no data"
    return _worst(metric, samples), ""


def _worst(metric: Metric, samples: list[float]) -> float:
    """The series that breaks a threshold, if one does; else the one nearest to breaking."""
    if metric.max is not None and max(samples) > metric.max:
        return max(samples)
    if metric.min is not None and min(samples) < metric.min:
        return min(samples)
    return max(samples) if metric.max is not None else min(samples)


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _form(fields: Mapping[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


def build(settings: Mapping[str, Any], context: BackendContext) -> PrometheusMonitor:
    reject_unknown(settings, ("url", "token_env", "token_file", "timeout_s", "queries"), NAME)
    url = str(required(settings, "url", NAME))
    token = secret(settings, "token", context.env)
    queries = settings.get("queries") or {}
    if not isinstance(queries, Mapping) or not all(isinstance(v, str) for v in queries.values()):
        raise SettingsProblem("prometheus `queries` maps metric names to PromQL strings")
    for name, query in queries.items():
        try:
            render_query(query, {p: "" for p in QUERY_PLACEHOLDERS})
        except QueryTemplateError as exc:
            raise SettingsProblem(f"prometheus queries.{name}: {exc}") from exc
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = Http(url, name=NAME, headers=headers, timeout_s=float(settings.get("timeout_s", 10)))
    return PrometheusMonitor(http, queries)
