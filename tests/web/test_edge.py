"""The guard at the HTTP edge (bot/web/edge.py), against real `releasebot serve` processes over
real sockets: slow clients are dropped, a signed command meanwhile is acked, and past the
connection cap a new connection is answered 503 and closed. Every wait is on a condition (a
response, or the end of the connection) with a generous bound; no timing is asserted."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.app.settings import SettingsError, from_environment
from bot.benchmarks.load import FORM, command_body
from bot.chaos.cluster import Cluster
from bot.emulator.signing import signed_headers

pytestmark = pytest.mark.slow
in_module_loop = pytest.mark.asyncio(loop_scope="module")

BOUND_S = 10.0  # far longer than any timeout below: a connection still open then is held
SHORT = {"RELEASEBOT_HEADER_TIMEOUT_SECONDS": "0.5", "RELEASEBOT_BODY_TIMEOUT_SECONDS": "0.5"}
CAP = 3


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def short_timeouts(tmp_path_factory) -> AsyncIterator[Cluster]:
    workdir = tmp_path_factory.mktemp("edge-timeouts")
    async with Cluster(workdir, sqlite=True, services=2, settings=SHORT) as cluster:
        yield cluster


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def capped(tmp_path_factory) -> AsyncIterator[Cluster]:
    workdir = tmp_path_factory.mktemp("edge-cap")
    settings = {"RELEASEBOT_MAX_CONNECTIONS": str(CAP)}
    async with Cluster(workdir, sqlite=True, services=2, settings=settings) as cluster:
        yield cluster


@in_module_loop
async def test_a_client_that_sends_half_its_headers_is_disconnected(short_timeouts):
    """Half a head, sent at once or a byte at a time: closed without an answer, counted from
    when the connection opened; a signed command is acked meanwhile."""
    half = await _connect(short_timeouts)
    half[1].write(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
    trickled = await _connect(short_timeouts)
    trickle = asyncio.create_task(_trickle(trickled[1], b"POST /slack/events HTTP/1.1\r\nX-A: b"))
    try:
        assert await _signed_command(short_timeouts) == 200
        assert await _read_to_end(half[0]) == b"", "closed without an answer"
        assert await _read_to_end(trickled[0]) == b""
    finally:
        trickle.cancel()
        for _, writer in (half, trickled):
            writer.close()


@in_module_loop
async def test_a_request_whose_body_stalls_is_answered_408_and_closed(short_timeouts):
    """A head announcing 200 bytes, then 10 (or a byte at a time): 408 and the end of the
    connection; a signed command is acked meanwhile."""
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
    )
    stalled = await _connect(short_timeouts)
    stalled[1].write(head + b"token=abcd")
    trickled = await _connect(short_timeouts)
    trickle = asyncio.create_task(_trickle(trickled[1], head))
    try:
        assert await _signed_command(short_timeouts) == 200
        for reader, _ in (stalled, trickled):
            answer = await _read_to_end(reader)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
            assert b'"error": "the request\'s body did not arrive in time"' in answer
    finally:
        trickle.cancel()
        for _, writer in (stalled, trickled):
            writer.close()


@in_module_loop
async def test_an_idle_keep_alive_connection_is_closed(short_timeouts):
    """After its response, a kept-alive connection has the same time to send its next head."""
    reader, writer = await _connect(short_timeouts)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _ = await _response(reader)
        assert status == 200
        assert await _read_to_end(reader) == b""
    finally:
        writer.close()


@in_module_loop
async def test_past_the_cap_a_connection_is_answered_503_and_closed(capped):
    """CAP connections are open (each has had an answer, so the server has them); the next is
    answered 503 and closed at once, and counted. Once one closes, a new one is served."""
    held = [await _connect(capped) for _ in range(CAP)]
    for reader, writer in held:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert (await _response(reader))[0] == 200
    try:
        extra, extra_writer = await _connect(capped)
        answer = await _read_to_end(extra)
        extra_writer.close()
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:80]
        assert b"too many connections" in answer

        held.pop()[1].close()
        metrics = await _once_served(capped, "/metrics")
        refused = re.search(rb"^releasebot_http_connections_refused_total (\S+)$", metrics, re.M)
        assert refused and float(refused[1]) >= 1, "counted (and any refused while retrying)"
        assert re.search(rb"^releasebot_http_connections \S+$", metrics, re.M)
    finally:
        for _, writer in held:
            writer.close()


def test_the_limits_are_read_from_the_environment():
    settings = from_environment(
        {
            "RELEASEBOT_HEADER_TIMEOUT_SECONDS": "2.5",
            "RELEASEBOT_BODY_TIMEOUT_SECONDS": "3",
            "RELEASEBOT_MAX_CONNECTIONS": "50",
        }
    )
    assert (settings.header_timeout_s, settings.body_timeout_s, settings.max_connections) == (
        2.5,
        3.0,
        50,
    )
    defaults = from_environment({})
    assert (defaults.header_timeout_s, defaults.body_timeout_s) == (10.0, 10.0)
    assert defaults.max_connections == 4000
    with pytest.raises(SettingsError, match="RELEASEBOT_MAX_CONNECTIONS"):
        from_environment({"RELEASEBOT_MAX_CONNECTIONS": "0"})
    with pytest.raises(SettingsError, match="RELEASEBOT_HEADER_TIMEOUT_SECONDS"):
        from_environment({"RELEASEBOT_HEADER_TIMEOUT_SECONDS": "0"})


# -- plumbing -------------------------------------------------------------------------------


async def _connect(cluster: Cluster) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(cluster.replica_url(0).rsplit(":", 1)[1])
    return await asyncio.open_connection("127.0.0.1", port)


async def _trickle(writer: asyncio.StreamWriter, start: bytes) -> None:
    """`start`, then one byte every 0.1 s until the server closes the connection."""
    writer.write(start)
    with contextlib.suppress(ConnectionError, OSError):
        while not writer.is_closing():
            await asyncio.sleep(0.1)
            writer.write(b"X")
            await writer.drain()


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = b""
    try:
        async with asyncio.timeout(BOUND_S):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {BOUND_S:g} s; got {received[:80]!r}") from None
    except ConnectionError:
        pass
    return received


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length, leaving the connection open."""
    async with asyncio.timeout(BOUND_S):
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(head.split(b" ", 2)[1]), await reader.readexactly(length)


async def _signed_command(cluster: Cluster) -> int:
    """A signed `/release status` to POST /slack/events, on a connection of its own."""
    body = command_body(1, "/release status {service}", "http://127.0.0.1:9/response")
    headers = signed_headers(cluster.signing_secret, body, FORM, int(time.time()))
    timeout = aiohttp.ClientTimeout(total=BOUND_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(f"{cluster.replica_url(0)}/slack/events", data=body, headers=headers) as answer,
    ):
        await answer.read()
        return answer.status


async def _once_served(cluster: Cluster, path: str) -> bytes:
    """GET `path` on new connections until one is served (the server notices a closed
    connection a moment after it closes)."""
    deadline = time.monotonic() + BOUND_S
    while True:
        reader, writer = await _connect(cluster)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            status, body = await _response(reader)
            if status == 200:
                return body
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
        assert time.monotonic() < deadline, f"no connection served within {BOUND_S:g} s"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("limits", "settable", "cap", "asked"),
    [
        ((1024, 65536), True, 4000, (4128, 65536)),  # the soft limit is raised to fit
        ((1024, 1024), False, 896, None),  # it cannot be: the cap fits what there is
        ((65536, 65536), True, 4000, None),  # it fits already
    ],
)
def test_the_cap_fits_the_open_files_limit(monkeypatch, limits, settable, cap, asked):
    import resource

    from bot.web.edge import Edge, EdgeLimits

    set_to = []

    def setrlimit(which, value):
        if not settable:
            raise ValueError("not allowed")
        set_to.append(value)

    monkeypatch.setattr(resource, "getrlimit", lambda which: limits)
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert Edge(EdgeLimits(max_connections=4000)).limits.max_connections == cap
    assert set_to == ([asked] if asked else [])
