"""One aiohttp session per adapter (integrations/base.py Session, Registry.close), against a real
aiohttp server on a loopback port: the server sees which connection each request came on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.core.catalog import Catalog
from bot.core.clock import ManualClock
from integrations.base import BackendContext, Http
from integrations.registry import Registry


class Server:
    def __init__(self) -> None:
        self.peers: list[tuple[str, int]] = []  # the client's address and port, per request
        self.url = ""

    async def answer(self, request: web.Request) -> web.Response:
        self.peers.append(request.transport.get_extra_info("peername")[:2])
        if request.path == "/api/v1/query":
            return web.json_response({"status": "success", "data": {"result": []}})
        return web.json_response({"ok": True})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    server = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


async def test_one_session_serves_every_request_until_closed(server):
    http = Http(server.url, name="test")
    for path in ("/a", "/b", "/c"):
        assert (await http.request("GET", path)).body == {"ok": True}
    session = http.session.get()
    assert len(server.peers) == 3
    assert len(set(server.peers)) == 1  # one pooled connection, not one per request

    await http.close()
    assert session.closed

    await http.request("GET", "/d")  # after close, a new session: the closed one is not reused
    assert http.session.get() is not session
    assert not http.session.get().closed
    assert server.peers[3] != server.peers[0]
    await http.close()


async def test_the_registry_closes_every_backends_session(server):
    catalog = Catalog.model_validate(
        {
            "environments": {"production": {}},
            "services": {},
            "backends": {"metrics": {"type": "prometheus", "settings": {"url": server.url}}},
        }
    )
    registry = Registry(catalog, BackendContext(clock=ManualClock(), env={}))
    monitor = registry.backends["metrics"]
    assert await monitor.health() is None
    assert await monitor.health() is None
    session = monitor._http.session.get()
    assert len(set(server.peers)) == 1

    await registry.close()
    assert session.closed
