"""The HTTP server's guard against slow or too many clients.

Left alone, aiohttp holds a connection for as long as its client keeps it open: one that sends
half a request head, or a head and then a body a byte at a time, costs a file descriptor and
a parser for an hour (aiohttp's keep-alive timeout), and nothing bounds how many there are.
The guard, put on the server by `Edge.runner()` and `Edge.site()`:

- *Request head*: a connection must deliver a complete request head within
  `header_timeout_s` of opening, and of its previous response (an idle keep-alive connection
  counts too), or it is closed without an answer. This is aiohttp's keep-alive timer, which
  it arms when a connection opens and after each response and which closes the connection
  when it fires while no complete request head is waiting; the guard sets it to the header
  timeout. tests/web/test_edge.py holds aiohttp to that.
- *Request body*: the body must have arrived `body_timeout_s` after its head. A middleware
  arms a timer for a request whose body is still on its way (most arrive with their head);
  when it fires, reading the rest fails with `BodyTimeout` and the client gets 408 and the
  connection is closed. The handler reads the body itself, as before (multipart included),
  and `client_max_size` still caps its size.
- *Connections*: at most `max_connections` are open at once; one more is answered 503 and
  closed at once, counted in `releasebot_http_connections_refused_total` and logged at most
  once every few seconds. A burst accepted in one go may pass the cap by up to the listen
  backlog (128), since aiohttp counts a connection a moment after it is accepted.

The cap needs that many file descriptors: the guard raises the process's soft limit
(RLIMIT_NOFILE) towards its hard limit when it is lower, or lowers the cap to fit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

log = logging.getLogger(__name__)

DESCRIPTORS_IN_RESERVE = 128  # the database, log files, the calls the bot makes itself
LOG_EVERY_S = 5.0
_BUSY_BODY = json.dumps({"error": "too many connections; try again"}).encode()
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n\r\n" + _BUSY_BODY
)


@dataclass(frozen=True)
class EdgeLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int = 4000


class BodyTimeout(asyncio.TimeoutError):
    """Raised by the request's body stream once its time is up. A TimeoutError, so that what
    aiohttp does with an unread body after the response (it drains it for a while) stops at
    once too."""


class _Every:
    """Says yes at most once every `seconds`, and how many times it said no in between."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._next = 0.0
        self._held = 0

    def due(self) -> int | None:
        now = time.monotonic()
        self._held += 1
        if now < self._next:
            return None
        self._next = now + self._seconds
        count, self._held = self._held, 0
        return count


class Edge:
    def __init__(self, limits: EdgeLimits, registry: CollectorRegistry | None = None) -> None:
        self.limits = replace(limits, max_connections=_fit_descriptors(limits.max_connections))
        registry = registry or CollectorRegistry()
        self._refused = Counter(
            "releasebot_http_connections_refused_total",
            "Connections answered 503 and closed at once: RELEASEBOT_MAX_CONNECTIONS were open",
            registry=registry,
        )
        self._late_bodies = Counter(
            "releasebot_http_body_timeouts_total",
            "Requests answered 408: the body had not arrived in RELEASEBOT_BODY_TIMEOUT_SECONDS",
            registry=registry,
        )
        self._open = Gauge(
            "releasebot_http_connections", "HTTP connections open now", registry=registry
        )
        self._refusals_logged = _Every(LOG_EVERY_S)
        self._timeouts_logged = _Every(LOG_EVERY_S)

    def runner(self, app: web.Application, **kwargs: Any) -> web.AppRunner:
        """web.AppRunner(app, **kwargs), with the request head and body deadlines."""
        app.middlewares.insert(0, self._body_deadline())
        return web.AppRunner(app, keepalive_timeout=self.limits.header_timeout_s, **kwargs)

    def site(self, runner: web.BaseRunner, host: str, port: int) -> web.BaseSite:
        """Like web.TCPSite(runner, host, port), with the cap on open connections."""
        return EdgeSite(runner, host, port, self)

    def protocol_factory(self, server: web.Server) -> Callable[[], Any]:
        """What the listening socket makes for each connection it accepts: aiohttp's handler,
        or past the cap a protocol that answers 503 and closes."""
        cap = self.limits.max_connections
        self._open.set_function(lambda: len(server.connections))

        def accept() -> Any:
            if len(server.connections) < cap:
                return server()
            self._refused.inc()
            if (count := self._refusals_logged.due()) is not None:
                log.warning(
                    "refused %d connection(s) in the last %g s: %d are open, the most "
                    "RELEASEBOT_MAX_CONNECTIONS allows",
                    count,
                    LOG_EVERY_S,
                    cap,
                )
            return _Busy()

        return accept

    def _body_deadline(self):
        seconds = self.limits.body_timeout_s

        @web.middleware
        async def body_deadline(request: web.Request, handler) -> web.StreamResponse:
            body = request.content
            if body.is_eof():  # no body, or all of it came with the head
                return await handler(request)
            timer = asyncio.get_running_loop().call_later(seconds, _expire, body)
            try:
                return await handler(request)
            except BodyTimeout:
                self._late_bodies.inc()
                if (count := self._timeouts_logged.due()) is not None:
                    log.warning(
                        "%d request(s) in the last %g s did not send their body within %g s: "
                        "answered 408",
                        count,
                        LOG_EVERY_S,
                        seconds,
                    )
                response = web.json_response(
                    {"error": "the request's body did not arrive in time"}, status=408
                )
                response.force_close()
                return response
            finally:
                if body.is_eof():  # otherwise it fires, and ends aiohttp's draining too
                    timer.cancel()

        return body_deadline


def _expire(body) -> None:
    if not body.is_eof():
        body.set_exception(BodyTimeout())


class _Busy(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(BUSY)
        transport.close()


class EdgeSite(web.BaseSite):
    """web.TCPSite whose listening socket hands each new connection to the guard first."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, edge: Edge) -> None:
        super().__init__(runner)
        self._host, self._port, self._edge = host, port, edge

    @property
    def name(self) -> str:
        return f"http://{self._host or '0.0.0.0'}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._edge.protocol_factory(server), self._host, self._port
        )


def _fit_descriptors(cap: int) -> int:
    """The cap, if the process may open that many file descriptors (its soft limit raised
    towards the hard one if need be); else as many as it may."""
    try:
        import resource
    except ImportError:  # not on Unix: nothing to fit
        return cap
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = cap + DESCRIPTORS_IN_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < wanted:
        fitted = max(1, soft - DESCRIPTORS_IN_RESERVE)
        log.warning(
            "RELEASEBOT_MAX_CONNECTIONS=%d needs %d file descriptors, the process may open "
            "%d: at most %d connections are let in",
            cap,
            wanted,
            soft,
            fitted,
        )
        return fitted
    return cap
