"""A tiny service for Prometheus to scrape, whose error rate and latency the test controls.

Every scrape counts `requests_per_scrape` more requests for each service it serves, a share
`error_rate` of them answered 500 and all of them taking `latency_s`. Since every scrape adds
the same mix, PromQL ratios over any window give exactly the configured rate, once Prometheus
has scraped enough samples under it (`wait_until`)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class ServiceMix:
    error_rate: float = 0.0
    latency_s: float = 0.08


@dataclass
class MetricsApp:
    """Serves /metrics on a free loopback port from a thread; `run` labels every series so
    tests sharing one Prometheus never see each other's numbers."""

    requests_per_scrape: int = 100
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    services: dict[str, ServiceMix] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._registry = CollectorRegistry()
        self._requests = Counter(
            "http_requests",
            "Requests served",
            ["service", "code"],
            registry=self._registry,
        )
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Request latency",
            ["service"],
            buckets=LATENCY_BUCKETS,
            registry=self._registry,
        )
        self.scrapes = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._target_file: Path | None = None

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def set(self, service: str, *, error_rate: float | None = None, latency_s: float | None = None):
        with self._lock:
            mix = self.services.setdefault(service, ServiceMix())
            if error_rate is not None:
                mix.error_rate = error_rate
            if latency_s is not None:
                mix.latency_s = latency_s

    def start(self, targets_dir: str) -> MetricsApp:
        self._thread.start()
        self._target_file = Path(targets_dir) / f"{self.run}.json"
        staged = self._target_file.with_suffix(".tmp")
        staged.write_text(json.dumps([{"targets": [self.address], "labels": {"run": self.run}}]))
        staged.rename(self._target_file)  # Prometheus must never read half a file
        return self

    def stop(self) -> None:
        if self._target_file is not None:
            self._target_file.unlink(missing_ok=True)
        self._server.shutdown()
        self._server.server_close()

    def _scrape(self) -> bytes:
        with self._lock:
            self.scrapes += 1
            for service, mix in self.services.items():
                errors = round(self.requests_per_scrape * mix.error_rate)
                self._requests.labels(service, "500").inc(errors)
                self._requests.labels(service, "200").inc(self.requests_per_scrape - errors)
                for _ in range(self.requests_per_scrape):
                    self._latency.labels(service).observe(mix.latency_s)
            return generate_latest(self._registry)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = app._scrape()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


def error_rate_query(run: str) -> str:
    """The error rate as a team would write it, limited to one test app's series."""
    selector = f'service="{{{{service}}}}",run="{run}"'
    return (
        f'sum(rate(http_requests_total{{{selector},code=~"5.."}}[{{{{window}}}}]))'
        f" / sum(rate(http_requests_total{{{selector}}}[{{{{window}}}}]))"
    )


def latency_p99_query(run: str) -> str:
    selector = f'service="{{{{service}}}}",run="{run}"'
    return (
        "histogram_quantile(0.99, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{{selector}}}[{{{{window}}}}])))"
    )


def instant_query(prometheus_url: str, query: str) -> list[dict[str, Any]]:
    data = urllib.parse.urlencode({"query": query}).encode()
    with urllib.request.urlopen(f"{prometheus_url}/api/v1/query", data=data, timeout=5) as r:
        return json.loads(r.read())["data"]["result"]


def wait_until_measured(
    prometheus_url: str, query: str, expected: float, *, timeout_s: float = 60
) -> None:
    """Until Prometheus answers `query` with `expected` (the test app's new mix has filled
    the query's window)."""
    deadline = time.monotonic() + timeout_s
    seen: Any = None
    while time.monotonic() < deadline:
        result = instant_query(prometheus_url, query)
        seen = [float(series["value"][1]) for series in result]
        if seen and all(abs(value - expected) < 1e-9 for value in seen):
            return
        time.sleep(0.25)
    raise AssertionError(f"Prometheus did not measure {expected} for {query!r}; last: {seen}")
