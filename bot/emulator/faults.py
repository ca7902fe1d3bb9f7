"""Fault injection: a schedule of faults the stand-in plays on its Web API and response_url.

Slack rate-limits, has outages, hangs and drops connections; a bot must live through all of
it. A fault makes the calls it covers fail, for a window of time from now (it ends by
itself), or for a number of calls, whichever comes first. A faulted call changes nothing
(no message is posted), but it is recorded with the status it answered and the fault's id
(`RecordedCall.status`, `RecordedCall.fault`), so tests can count attempts.

HTTP API (JSON in and out; bad input answers 400 with `error` saying what is wrong, never 500):

POST   /_faults       add one, answers {"ok": true, "fault": FAULT}
    {"methods": ["chat.postMessage", "chat.update"],  # or ["*"]; "response_url" for those posts
     "mode": "ratelimit" | "error5xx" | "hang" | "reset",
     "seconds": 30,         # window from now; needed unless `times` is given
     "times": 3,            # optional: at most this many faulted calls
     "retry_after": 2,      # ratelimit only: the Retry-After header (seconds, default 1)
     "status": 503,         # error5xx only: 500-599 (default 503)
     "content_type": "text/html",  # error5xx only: or "text/plain" (see below)
     "probability": 1.0,    # optional: the share of covered calls that fail, in (0, 1]
     "seed": 7}             # optional: seeds that choice, so a run repeats exactly (default 0)
GET    /_faults       the active faults: {"ok": true, "faults": [FAULT, ...]}
DELETE /_faults       remove all: {"ok": true, "removed": N}
DELETE /_faults/{id}  remove one: {"ok": true, "removed": 1}, or 404 when there is no such fault

FAULT = the input with defaults filled in, plus "id", "started_at", "ends_at" (in the
stand-in's clock: Unix seconds in `releasebot slack-standin serve`; null without a window),
"seconds_left" and "hits" (faulted calls so far).

`"*"` covers every Web API method but not response_url posts: name "response_url" for those.
When several faults cover a call, the oldest one that fires answers it.

What a faulted call sees:
- ratelimit: HTTP 429, `Retry-After: N`, body {"ok": false, "error": "ratelimited"}, as Slack.
- error5xx:  the status with a load balancer's HTML page, as in a Slack outage. slack_sdk
             raises SlackApiError with `response.status_code` 503; its `response.data` is
             {} with text/html (AsyncWebClient drops a body that is not JSON), and the page
             as a str with "content_type": "text/plain".
- hang:      no answer until the window ends, the fault is removed or the stand-in stops;
             then HTTP 504 with an HTML page (a gateway giving up). Clients with a shorter
             timeout give up first. Other requests are served meanwhile. Recorded as 504.
             A hang needs `seconds`.
- reset:     the connection is dropped (TCP reset) without any HTTP answer: the client sees a
             connection reset / server disconnected. Recorded with status 0.

In Python: `emulator.faults.add(["chat.update"], "error5xx", seconds=30)`, `.active()`,
`.remove(id)`, `.clear()`; `emulator.rate_limit(method, retry_after, times)` adds a ratelimit
fault for `times` calls. See FAULTS.md beside this file for examples with curl.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bot.emulator.jsonapi import bad_request, json_object
from bot.emulator.records import RecordedCall
from bot.emulator.state import SlackState

MODES = ("ratelimit", "error5xx", "hang", "reset")
ANY_METHOD = "*"
RESPONSE_URL = "response_url"
MAX_SECONDS = 24 * 3600
MAX_RETRY_AFTER = 3600
HOLD_POLL_S = 0.25  # a hang re-reads the clock this often (an injected clock moves silently)
FIELDS = (
    "methods",
    "mode",
    "seconds",
    "times",
    "retry_after",
    "status",
    "content_type",
    "probability",
    "seed",
)
PAGE_TYPES = ("text/html", "text/plain")
RATELIMITED = {"ok": False, "error": "ratelimited"}


class FaultError(ValueError):
    """Bad fault input; the message says what is wrong."""


@dataclass
class Fault:
    id: str
    methods: tuple[str, ...]
    mode: str
    started_at: float
    seconds: float | None  # the window; None: until `times` calls were faulted
    retry_after: int | None
    status: int | None
    content_type: str | None
    probability: float
    seed: int
    times: int | None
    hits: int = 0
    removed: bool = False
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def ends_at(self) -> float:
        return math.inf if self.seconds is None else self.started_at + self.seconds

    def covers(self, target: str) -> bool:
        return target in self.methods or (ANY_METHOD in self.methods and target != RESPONSE_URL)

    def in_window(self, now: float) -> bool:
        return not self.removed and now < self.ends_at

    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    @property
    def answered_status(self) -> int:
        """The HTTP status a faulted call is answered (and recorded) with; 0 for no answer."""
        return {"ratelimit": 429, "error5xx": self.status or 503, "hang": 504}.get(self.mode, 0)

    def to_json(self, now: float) -> dict[str, Any]:
        windowed = self.seconds is not None
        out: dict[str, Any] = {
            "id": self.id,
            "methods": list(self.methods),
            "mode": self.mode,
            "seconds": self.seconds,
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
            "started_at": self.started_at,
            "ends_at": self.ends_at if windowed else None,
            "seconds_left": max(0.0, self.ends_at - now) if windowed else None,
            "hits": self.hits,
        }
        if self.mode == "ratelimit":
            out["retry_after"] = self.retry_after
        if self.mode == "error5xx":
            out.update(status=self.status, content_type=self.content_type)
        return out


class FaultSchedule:
    """The faults in force; `pick` decides, per call, whether one of them answers it."""

    def __init__(self, clock: Callable[[], float], methods: Iterable[str]) -> None:
        self._clock = clock
        self._methods = frozenset(methods)
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.closing = False

    def add(
        self,
        methods: Iterable[str],
        mode: str,
        seconds: float | None = None,
        *,
        times: int | None = None,
        retry_after: int | None = None,
        status: int | None = None,
        content_type: str | None = None,
        probability: float = 1.0,
        seed: int | None = None,
    ) -> Fault:
        """Validate and schedule a fault from now on; raises FaultError on bad input."""
        if mode not in MODES:
            raise FaultError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if seconds is None and times is None:
            raise FaultError("give `seconds` (the window from now) or `times` (a number of calls)")
        if retry_after is not None and mode != "ratelimit":
            raise FaultError("retry_after applies to mode ratelimit only")
        if (status is not None or content_type is not None) and mode != "error5xx":
            raise FaultError("status and content_type apply to mode error5xx only")
        if content_type not in (None, *PAGE_TYPES):
            raise FaultError(f"content_type must be one of {', '.join(PAGE_TYPES)}")
        if mode == "hang" and seconds is None:
            raise FaultError("a hang needs `seconds`: held calls are answered when it ends")
        if mode == "ratelimit":
            retry_after = _integer("retry_after", retry_after, 1, MAX_RETRY_AFTER, default=1)
        if mode == "error5xx":
            status = _integer("status", status, 500, 599, default=503)
            content_type = content_type or PAGE_TYPES[0]
        fault = Fault(
            id=f"f{next(self._ids)}",
            methods=self._check_methods(methods),
            mode=mode,
            started_at=self._clock(),
            seconds=_number("seconds", seconds, 0, MAX_SECONDS, low_open=True),
            retry_after=retry_after,
            status=status,
            content_type=content_type,
            probability=_number("probability", probability, 0, 1, low_open=True) or 1.0,
            seed=_integer("seed", seed, -(2**63), 2**63 - 1, default=0) or 0,
            times=_integer("times", times, 1, 10**9),
        )
        fault._rng.seed(fault.seed)
        self._faults.append(fault)
        self._wake()
        return fault

    def add_json(self, body: Any) -> Fault:
        """`add` from a decoded JSON object, refusing unknown fields."""
        if not isinstance(body, dict):
            raise FaultError("expected a JSON object")
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise FaultError(f"unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
        for required in ("methods", "mode"):
            if required not in body:
                raise FaultError(f"`{required}` is required")
        return self.add(**body)

    def active(self) -> list[Fault]:
        now = self._clock()  # a spent hang stays until its window ends: clear() releases it
        self._faults = [
            f for f in self._faults if f.in_window(now) and (f.mode == "hang" or not f.spent())
        ]
        return [f for f in self._faults if not f.spent()]

    def remove(self, fault_id: str) -> bool:
        found = [f for f in self._faults if f.id == fault_id]
        for fault in found:
            fault.removed = True
            self._faults.remove(fault)
        self._wake()
        return bool(found)

    def clear(self) -> int:
        removed = len(self.active())
        for fault in self._faults:
            fault.removed = True
        self._faults = []
        self._wake()
        return removed

    def pick(self, target: str) -> Fault | None:
        """The fault that answers this call of `target` (a method or "response_url"), if any."""
        for fault in self.active():
            if fault.covers(target) and fault._rng.random() < fault.probability:
                fault.hits += 1
                return fault
        return None

    async def hold(self, fault: Fault) -> None:
        """Return once the fault's window is over, it is removed, or the stand-in stops."""
        while not self.closing and fault.in_window(now := self._clock()):
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(fault.ends_at - now, HOLD_POLL_S))

    def release(self) -> None:
        """Let every held request go (the stand-in is shutting down)."""
        self.closing = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _check_methods(self, methods: Any) -> tuple[str, ...]:
        if not isinstance(methods, list | tuple | set | frozenset) or not all(
            isinstance(name, str) for name in methods
        ):
            raise FaultError('methods must be a list of method names, e.g. ["chat.update"]')
        names = tuple(methods)
        if not names:
            raise FaultError('methods must not be empty (["*"] covers every Web API method)')
        for name in names:
            if name not in self._methods and name not in (ANY_METHOD, RESPONSE_URL):
                raise FaultError(
                    f"unknown method {name!r}: name Web API methods the stand-in serves, "
                    f'"*" or "response_url"'
                )
        return names


def _number(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False
) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError(f"{name} must be a number, not {value!r}")
    if value < low or (low_open and value == low) or value > high:
        opening = "(" if low_open else "["
        raise FaultError(f"{name} must be in {opening}{low}, {high}], not {value!r}")
    return float(value)


def _integer(
    name: str, value: Any, low: int, high: int, *, default: int | None = None
) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultError(f"{name} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise FaultError(f"{name} must be between {low} and {high}, not {value!r}")
    return value


# -- on the wire -----------------------------------------------------------------------------


async def play(
    schedule: FaultSchedule,
    fault: Fault,
    request: web.Request,
    state: SlackState,
    target: str,
    args: dict[str, Any],
) -> web.Response:
    """Record the call as faulted (changing nothing else) and answer as the fault's mode says."""
    answer = dict(RATELIMITED) if fault.mode == "ratelimit" else {}  # the pages are not JSON
    state.record(RecordedCall(target, args, answer, state.clock(), fault.answered_status, fault.id))
    if fault.mode == "ratelimit":
        headers = {"Retry-After": str(fault.retry_after)}
        return web.json_response(RATELIMITED, status=429, headers=headers)
    if fault.mode == "hang":
        await schedule.hold(fault)
    if fault.mode == "reset":
        drop_connection(request)
    return _error_page(fault.answered_status or 503, fault.content_type or PAGE_TYPES[0])


def _error_page(status: int, content_type: str) -> web.Response:
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = f"{status} Server Error"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type=content_type)


def drop_connection(request: web.Request) -> None:
    """Close the connection with a TCP reset and no HTTP answer."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# -- the HTTP API ------------------------------------------------------------------------------


def add_routes(app: web.Application, schedule: FaultSchedule, clock: Callable[[], float]) -> None:
    api = _FaultsApi(schedule, clock)
    app.router.add_post("/_faults", api.add)
    app.router.add_get("/_faults", api.show)
    app.router.add_delete("/_faults", api.clear)
    app.router.add_delete("/_faults/{id}", api.remove)


@dataclass
class _FaultsApi:
    schedule: FaultSchedule
    clock: Callable[[], float]

    async def add(self, request: web.Request) -> web.Response:
        try:
            fault = self.schedule.add_json(await json_object(request))
        except FaultError as exc:
            return bad_request(str(exc))
        return web.json_response({"ok": True, "fault": fault.to_json(self.clock())})

    async def show(self, request: web.Request) -> web.Response:
        now = self.clock()
        faults = [f.to_json(now) for f in self.schedule.active()]
        return web.json_response({"ok": True, "faults": faults})

    async def clear(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "removed": self.schedule.clear()})

    async def remove(self, request: web.Request) -> web.Response:
        fault_id = request.match_info["id"]
        if not self.schedule.remove(fault_id):
            return bad_request(f"no active fault {fault_id!r}", status=404)
        return web.json_response({"ok": True, "removed": 1})
