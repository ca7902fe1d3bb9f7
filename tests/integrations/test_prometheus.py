"""The Prometheus monitor against a real Prometheus scraping a test app whose error rate and
latency the test sets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.analysis import render_query
from bot.core.catalog import Metric
from bot.core.clock import ManualClock
from bot.core.ports import AnalysisRequest, IntegrationError, Target
from integrations.base import BackendContext, SettingsProblem
from integrations.prometheus import build
from tests.support.harness import free_port
from tests.support.metrics_app import (
    MetricsApp,
    error_rate_query,
    latency_p99_query,
    wait_until_measured,
)

TARGET = Target("checkout", "staging", "acme/checkout")
WINDOW_S = 5


@pytest.fixture
def app(prometheus_env: dict[str, str]) -> Iterator[MetricsApp]:
    metrics_app = MetricsApp().start(prometheus_env["PROMETHEUS_TARGETS_DIR"])
    try:
        yield metrics_app
    finally:
        metrics_app.stop()


def monitor(prometheus_env: dict[str, str], app: MetricsApp, **settings):
    return build(
        {
            "url": prometheus_env["PROMETHEUS_URL"],
            "queries": {
                "error_rate": error_rate_query(app.run),
                "latency_p99_s": latency_p99_query(app.run),
            },
            **settings,
        },
        BackendContext(clock=ManualClock(), env={}),
    )


def request(*metrics: Metric) -> AnalysisRequest:
    return AnalysisRequest(TARGET, 7, "10%", "v2", metrics, WINDOW_S)


def settle(prometheus_env: dict[str, str], app: MetricsApp, error_rate: float) -> None:
    query = render_query(error_rate_query(app.run), {"service": "checkout", "window": "5s"})
    wait_until_measured(prometheus_env["PROMETHEUS_URL"], query, error_rate)


ERROR_RATE = Metric(name="error_rate", max=0.05)


async def test_a_healthy_canary_passes_with_the_measured_values(prometheus_env, app):
    app.set("checkout", error_rate=0.01, latency_s=0.08)
    settle(prometheus_env, app, 0.01)
    result = await monitor(prometheus_env, app).analyze(
        request(ERROR_RATE, Metric(name="latency_p99_s", max=0.1))
    )
    assert result.passed, result.summary
    error_rate, latency = result.measurements
    assert error_rate.value == pytest.approx(0.01)
    assert 0.05 < latency.value <= 0.1, "p99 falls in the 50-100 ms bucket"
    assert result.summary.startswith("error_rate 0.01 (max 0.05), latency_p99_s 0.0")


async def test_an_error_rate_above_the_threshold_fails_and_says_by_how_much(prometheus_env, app):
    app.set("checkout", error_rate=0.2)
    settle(prometheus_env, app, 0.2)
    result = await monitor(prometheus_env, app).analyze(request(ERROR_RATE))
    assert not result.passed
    assert result.summary == "error_rate 0.2 (max 0.05)"


async def test_no_traffic_is_a_failure_not_a_pass(prometheus_env, app):
    app.set("checkout", error_rate=0.0)
    settle(prometheus_env, app, 0.0)
    cart = Target("cart", "staging", "acme/cart")
    quiet = AnalysisRequest(cart, 7, "10%", "v2", (ERROR_RATE,), WINDOW_S)
    result = await monitor(prometheus_env, app).analyze(quiet)
    assert not result.passed
    assert result.summary == "error_rate no data (max 0.05)"


async def test_a_service_query_overrides_the_default_and_min_thresholds_work(prometheus_env, app):
    app.set("checkout", error_rate=0.0)
    settle(prometheus_env, app, 0.0)
    success = Metric(
        name="success_rate",
        min=0.99,
        query=f"1 - ({error_rate_query(app.run)})",
    )
    result = await monitor(prometheus_env, app).analyze(request(success))
    assert result.passed and result.measurements[0].value == 1.0


async def test_a_query_prometheus_rejects_fails_the_check_in_its_words(prometheus_env, app):
    broken = Metric(name="error_rate", max=0.05, query="sum(rate(http_requests_total[5s]")
    result = await monitor(prometheus_env, app).analyze(request(broken))
    assert not result.passed
    assert result.measurements[0].note.startswith("query rejected: ")
    assert "parse error" in result.measurements[0].note


async def test_a_metric_without_any_query_fails_the_check(prometheus_env, app):
    result = await monitor(prometheus_env, app).analyze(request(Metric(name="saturation", max=1)))
    assert result.summary == "saturation no query configured (max 1)"


async def test_health_is_none_when_prometheus_answers(prometheus_env, app):
    assert await monitor(prometheus_env, app).health() is None


@pytest.mark.slow
async def test_an_unreachable_prometheus_is_a_retryable_error_without_the_token():
    unreachable = build(
        {"url": f"http://127.0.0.1:{free_port()}", "token_env": "PROM_TOKEN", "timeout_s": 2},
        BackendContext(clock=ManualClock(), env={"PROM_TOKEN": "s3cret-token"}),
    )
    with pytest.raises(IntegrationError) as raised:
        await unreachable.analyze(request(ERROR_RATE.model_copy(update={"query": "up"})))
    assert raised.value.retryable
    assert "s3cret" not in str(raised.value)
    problem = await unreachable.health()
    assert problem and "prometheus" in problem and "s3cret" not in problem


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({}, "a prometheus backend needs `url` in its settings"),
        ({"url": "http://p", "token_env": "NOPE"}, "token_env names NOPE, which is not set"),
        ({"url": "http://p", "queries": {"e": "x{{nope}}"}}, "queries.e: unknown placeholder"),
        ({"url": "http://p", "querys": {}}, "unknown prometheus setting(s): querys"),
    ],
)
def test_settings_problems_are_named(settings, problem):
    with pytest.raises(SettingsProblem) as raised:
        build(settings, BackendContext(clock=ManualClock(), env={}))
    assert problem in str(raised.value)


async def test_with_several_series_the_one_that_breaks_a_threshold_is_judged(prometheus_env, app):
    two_series = (
        'label_replace(vector(0.5), "pod", "a", "", "")'
        ' or label_replace(vector(2), "pod", "b", "", "")'
    )
    metric = Metric(name="ready_ratio", min=1, max=3, query=two_series)
    result = await monitor(prometheus_env, app).analyze(request(metric))
    assert not result.passed
    assert result.summary == "ready_ratio 0.5 (max 3, min 1)"
