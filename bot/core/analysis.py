"""Judging one measured value against a metric's thresholds, the same for every monitor."""

from __future__ import annotations

import math
import re

from bot.core.catalog import QUERY_PLACEHOLDER, QUERY_PLACEHOLDERS, Metric
from bot.core.ports import Measurement


def thresholds(metric: Metric) -> str:
    limits = []
    if metric.max is not None:
        limits.append(f"max {metric.max:g}")
    if metric.min is not None:
        limits.append(f"min {metric.min:g}")
    return ", ".join(limits)


def judge(metric: Metric, value: float | None, note: str = "") -> Measurement:
    """No value (no data, NaN) is a failure, never a pass: a canary nobody calls proves nothing."""
    if value is None or math.isnan(value):
        return Measurement(metric.name, None, thresholds(metric), passed=False, note=note)
    passed = (metric.max is None or value <= metric.max) and (
        metric.min is None or value >= metric.min
    )
    return Measurement(metric.name, value, thresholds(metric), passed)


class QueryTemplateError(ValueError):
    pass


def render_query(template: str, values: dict[str, str]) -> str:
    """Fills the `{{service}}`-style placeholders of a metric's query."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise QueryTemplateError(
                f"unknown placeholder {{{{{name}}}}}; known: {', '.join(QUERY_PLACEHOLDERS)}"
            )
        return values[name]

    return QUERY_PLACEHOLDER.sub(fill, template)
