"""What every real adapter shares: secrets named in the catalog, one HTTP client with timeouts
(one connection pool per adapter, closed when the bot stops), retries with backoff for
idempotent calls, and errors translated at the boundary.

Adapters raise only bot.core.ports.IntegrationError; messages never contain secrets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.ports import Clock, IntegrationError, OperationStatus, OperationStore

if TYPE_CHECKING:
    import aiohttp

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class BackendContext:
    """What the registry hands every adapter's `build(settings, context)`."""

    clock: Clock
    env: Mapping[str, str]  # where `*_env` secrets are read from (os.environ in production)
    operations: OperationStore | None = None  # results backends report back (webhook callbacks)
    public_url: str = ""  # the bot's own base URL, for callbacks
    production_environments: frozenset[str] = frozenset()
    name: str = ""  # the backend's name in the catalog


class MemoryOperations:
    """An OperationStore in memory, for checking settings without a database."""

    def __init__(self) -> None:
        self._statuses: dict[str, OperationStatus] = {}

    async def put(self, key: str, status: OperationStatus) -> None:
        self._statuses[key] = status

    async def get(self, key: str) -> OperationStatus | None:
        return self._statuses.get(key)


class SettingsProblem(ValueError):
    """A backend's catalog settings cannot work (a missing URL, an unset secret variable)."""


def secret(settings: Mapping[str, Any], name: str, env: Mapping[str, str]) -> str | None:
    """The secret a backend names with `NAME_env: VARIABLE` or `NAME_file: PATH`."""
    if variable := settings.get(f"{name}_env"):
        value = env.get(str(variable))
        if not value:
            raise SettingsProblem(f"{name}_env names {variable}, which is not set")
        return value.strip()
    if path := settings.get(f"{name}_file"):
        try:
            return Path(str(path)).read_text().strip()
        except OSError as exc:
            raise SettingsProblem(f"{name}_file {path}: cannot read it ({exc.strerror})") from exc
    return None


def reject_unknown(settings: Mapping[str, Any], known: Iterable[str], kind: str) -> None:
    """A misspelt setting is an error, not a default silently taken."""
    known = set(known)
    unknown = set(settings) - known
    if unknown:
        raise SettingsProblem(
            f"unknown {kind} setting(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )


def text_setting(settings: Mapping[str, Any], name: str, default: str, kind: str) -> str:
    value = settings.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise SettingsProblem(f"{kind} `{name}` must be a non-empty string")
    return value.strip()


def required(settings: Mapping[str, Any], name: str, kind: str) -> Any:
    if settings.get(name) in (None, ""):
        raise SettingsProblem(f"a {kind} backend needs `{name}` in its settings")
    return settings[name]


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]


class Session:
    """An adapter's one aiohttp ClientSession (its connection pool): made on first use, reused
    by every request after, ended by `close()`. A use after `close()`, or from another event
    loop, makes a new one: a closed session is never reused. Cookies are not kept, so each
    request goes out as it would on a session of its own."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        import aiohttp  # here, not at import: `config check` builds backends without HTTP

        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
            self._loop = loop
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


class Http:
    """JSON over HTTP with a timeout; errors become IntegrationError (retryable when a retry
    could help: timeouts, connection errors, 429 and 5xx)."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        ssl: Any = None,
        session: Session | None = None,
    ) -> None:
        """`session`: shared with other Http of the same adapter (default: one of its own)."""
        self.base_url = base_url.rstrip("/")
        self._name = name
        self._headers = dict(headers or {})
        self._timeout_s = timeout_s
        self._ssl = ssl
        self.session = session or Session()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Response:
        import aiohttp  # here, not at import: `config check` builds backends without HTTP

        url = f"{self.base_url}{path}"
        try:
            async with self.session.get().request(
                method,
                url,
                json=json_body,
                params=params,
                data=data,
                headers={**self._headers, **(headers or {})},
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            ) as response:
                text = await response.text(errors="replace")
                body = _json(text)
                if response.status not in expect:
                    raise IntegrationError(
                        f"{self._name}: {method} {path} answered {response.status}: "
                        f"{_short(body, text)}",
                        retryable=response.status in RETRYABLE_STATUS,
                        status=response.status,
                    )
                return Response(response.status, body, dict(response.headers))
        except IntegrationError:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise IntegrationError(
                f"{self._name}: {method} {path} {_why(exc, self._timeout_s)}"
            ) from exc

    async def close(self) -> None:
        await self.session.close()


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay_s: float = 0.2,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Retry an idempotent call on retryable IntegrationErrors, with jittered exponential
    backoff (tenacity); the last error is raised as it was."""
    from tenacity import (
        AsyncRetrying,
        retry_if_exception,
        stop_after_attempt,
        wait_exponential_jitter,
    )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=base_delay_s, jitter=base_delay_s),
        retry=retry_if_exception(lambda exc: isinstance(exc, IntegrationError) and exc.retryable),
        sleep=sleep,
        reraise=True,
    )

    async def attempt() -> T:  # a coroutine function, so tenacity awaits what `call` returns
        return await call()

    return await retrying(attempt)


def _why(exc: BaseException, timeout_s: float) -> str:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"failed: cannot connect to {exc.host}:{exc.port}"
    if isinstance(exc, TimeoutError):
        return f"failed: no answer within {timeout_s:g}s"
    return f"failed: {type(exc).__name__}"


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text


def _short(body: Any, text: str) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "details", "detail", "title"):
            if body.get(key):
                return str(body[key])[:200]
    return text[:200]
