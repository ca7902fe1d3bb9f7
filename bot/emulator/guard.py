"""Who may drive the stand-in's JSON APIs (the console's /console/api/*, /_control, /_faults).

They act as anyone in the workspace, the admin included, so a web page open in the same
browser must not reach them: any page may send a `no-cors` POST, and a DNS-rebinding name
may point at 127.0.0.1. They answer only when
- the client is on a loopback address,
- the Host header is a loopback name or address with the port the server listens on,
- an Origin header, when present, is that same http origin, and
- a body (POST, PUT, PATCH) is `application/json`, which no page may send to another origin
  without a CORS preflight that is never granted here.
Refusals are JSON: 403 for a foreign client, host or origin; 415 for any other body.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

GUARDED = re.compile(r"(^|/)(console/api|_control|_faults)(/|$)")
LOOPBACK_NAMES = {"localhost", "localhost."}
BODY_METHODS = {"POST", "PUT", "PATCH"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def local_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if GUARDED.search(request.path) is None:
        return await handler(request)
    problem = _problem(request)
    if problem is not None:
        status, error = problem
        return web.json_response({"ok": False, "error": error}, status=status)
    return await handler(request)


def _problem(request: web.Request) -> tuple[int, str] | None:
    if not _is_loopback(request.remote or ""):
        return 403, "the console answers only on this machine (a loopback client)"
    port = _server_port(request)
    host = request.headers.get("Host", "")
    if not _loopback_host(host, port):
        return 403, f"Host {host!r} is not this console (a loopback name with port {port})"
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{host}":
        return 403, f"requests from {origin} may not drive this console"
    if request.method in BODY_METHODS and request.content_type != "application/json":
        return 415, f"send application/json, not {request.content_type or 'no content type'}"
    return None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _server_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sockname[1]) if isinstance(sockname, tuple) and len(sockname) >= 2 else None


def _loopback_host(host: str, port: int | None) -> bool:
    """`127.0.0.1:3000`, `localhost:3000` or `[::1]:3000`, with the server's own port."""
    match = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+)(?::(\d{1,5}))?", host)
    if match is None or port is None or int(match.group(2) or 80) != port:
        return False
    name = match.group(1).strip("[]").lower()
    return name in LOOPBACK_NAMES or _is_loopback(name)
