"""A releasebot installation in processes, as an operator runs it, to break on purpose:

- N `releasebot serve` replicas in HTTP mode behind a round-robin balancer (a Service),
- the Slack stand-in as its own process (`releasebot slack-standin serve`), which sends
  Slack's signed requests to the balancer and can be told to fail (/_faults),
- the chaos deploy script (bot/chaos/deployer.py), which logs every call,
- a fresh PostgreSQL database, dropped afterwards.

Tests and `releasebot chaos` drive it the way Slack and an operator would: signed commands
through the stand-in, real signals to the replicas, faults in Slack, `pg_terminate_backend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import yaml
from sqlalchemy.engine import make_url

from bot.chaos.balancer import Balancer
from bot.chaos.catalog import catalog
from bot.chaos.deployer import SECRET_ENV
from bot.chaos.processes import Child, python_module
from bot.core.release import ACTIVE_STATES

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CHANNEL = "C0DEPLOYS"
HARNESS_APP = "releasebot-chaos"  # the harness's own connections; never terminated on purpose
# Settings of the shell that must not leak into the replicas (they would change their mode).
FOREIGN_SETTINGS = re.compile(r"^(SLACK_|RELEASEBOT_|DATABASE_URL$|PORT$|HOSTNAME$|LOG_LEVEL$)")
PENDING_SQL = """
SELECT (SELECT count(*) FROM inbox WHERE done_at IS NULL),
       (SELECT count(*) FROM releases WHERE state IN ({active})),
       (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND due_at IS NOT NULL)
""".format(active=", ".join(f"'{state.value}'" for state in ACTIVE_STATES))


@dataclass
class Sent:
    """A slash command as Slack sent it, and what the bot answered."""

    user: str
    command: str
    text: str
    status: int
    trigger_id: str
    response_url: str
    elapsed_ms: float
    at: float  # time.monotonic() when it was answered

    @property
    def acked(self) -> bool:
        return self.status == 200

    @property
    def key(self) -> str:
        return f"command:{self.trigger_id}"

    @property
    def token(self) -> str:
        return self.response_url.rsplit("/", 1)[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(
        self,
        workdir: Path,
        *,
        replicas: int = 1,
        roles: tuple[str, ...] = (),
        services: int = 40,
        admin_url: str = ADMIN_URL,
        sqlite: bool = False,
        slack_timeout_s: float = 2.0,
        tick_s: float = 0.2,
        keep: bool = False,
        catalog_options: dict[str, Any] | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`catalog_options` go to catalog() (deployer, bake, simulated); `settings` override
        the replicas' environment (e.g. RELEASEBOT_UPDATE_INTERVAL_SECONDS)."""
        self.workdir = workdir
        self.services = services
        self.admin_url = admin_url
        self.keep = keep
        self.sqlite = sqlite  # one process on a SQLite file instead of PostgreSQL
        self.database = f"chaos_{secrets.token_hex(4)}"
        self.database_url = (
            f"sqlite:///{workdir.resolve() / 'releasebot.db'}"
            if sqlite
            else make_url(admin_url)
            .set(database=self.database)
            .render_as_string(hide_password=False)
        )
        self._signing_secret = secrets.token_hex(16)
        self._bot_token = f"xoxb-chaos-{secrets.token_hex(8)}"
        self._deploy_secret = secrets.token_hex(16)
        self._slack_timeout_s = slack_timeout_s
        self._tick_s = tick_s
        self._catalog_options = catalog_options or {}
        self._settings = settings or {}
        self.roles = roles or ("all",) * replicas
        self._ports = [free_port() for _ in self.roles]
        self.replicas: list[Child] = []
        self.standin: Child | None = None
        self.deployer: Child | None = None
        self.balancer = Balancer(self._ports)
        self.standin_url = ""
        self._http: aiohttp.ClientSession | None = None
        self._db: psycopg.AsyncConnection | None = None

    # -- life -------------------------------------------------------------------------

    async def __aenter__(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        await self._create_database()
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        self._http = aiohttp.ClientSession(
            # idle connections go before serve closes them (RELEASEBOT_HEADER_TIMEOUT_SECONDS)
            connector=aiohttp.TCPConnector(keepalive_timeout=5),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        self.deployer = Child(
            "deployer",
            python_module("bot.chaos.deployer", "--log", str(self.deliveries_path), "--port", "0"),
            self._env({SECRET_ENV: self._deploy_secret}),
            self.workdir,
            "chaos deployer listening on",
        )
        await self.deployer.start()
        deployer_url = self.deployer.ready_line.rsplit(" ", 1)[1] + "/"
        self.catalog_path.write_text(
            yaml.safe_dump(catalog(self.services, deployer_url, **self._catalog_options))
        )
        self.standin = Child(
            "slack-standin",
            python_module("bot.cli", "slack-standin", "serve", "--port", "0"),
            self._env(
                {
                    "SLACK_SIGNING_SECRET": self._signing_secret,
                    "SLACK_BOT_TOKEN": self._bot_token,
                }
            ),
            self.workdir,
            "slack stand-in listening on",
        )
        await self.standin.start()
        self.standin_url = re.search(r"(http://\S+)", self.standin.ready_line).group(1)
        await self.balancer.start()
        await self._post(
            "/_control/bot", {"events_url": f"http://127.0.0.1:{self.balancer.port}/slack/events"}
        )
        for index, port in enumerate(self._ports):
            replica = Child(
                f"replica-{index}",
                python_module("bot.cli", "serve"),
                self._env(self._bot_settings(index, port)),
                self.workdir,
                "releasebot is running in http mode",
            )
            self.replicas.append(replica)
            await replica.start()  # one at a time: the first applies the migrations

    async def __aexit__(self, *exc: object) -> None:
        children = [*self.replicas, self.standin, self.deployer]
        await asyncio.gather(
            *(child.stop(signal.SIGTERM) for child in children if child is not None)
        )
        await self.balancer.close()
        if self._http is not None:
            await self._http.close()
        if self._db is not None:
            await self._db.close()
        if not self.keep:
            await self._drop_database()

    @property
    def signing_secret(self) -> str:
        return self._signing_secret

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self._ports[index]}"

    @property
    def catalog_path(self) -> Path:
        return self.workdir / "catalog.yaml"

    @property
    def deliveries_path(self) -> Path:
        return self.workdir / "deliveries.jsonl"

    def _bot_settings(self, index: int, port: int) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "SLACK_BOT_TOKEN": self._bot_token,
            "SLACK_SIGNING_SECRET": self._signing_secret,
            "SLACK_API_URL": f"{self.standin_url}/api/",
            "RELEASEBOT_CATALOG": str(self.catalog_path),
            "RELEASEBOT_HOST": "127.0.0.1",
            "PORT": str(port),
            "RELEASEBOT_REPLICA_ID": f"replica-{index}",
            "RELEASEBOT_ROLE": self.roles[index],
            "RELEASEBOT_TICK_SECONDS": str(self._tick_s),
            "RELEASEBOT_UPDATE_INTERVAL_SECONDS": "0.5",
            "RELEASEBOT_STATUS_REFRESH_SECONDS": "5",
            "RELEASEBOT_SLACK_TIMEOUT_SECONDS": str(self._slack_timeout_s),
            # The stand-in enforces no tiers, and the runs wait until every message is out:
            # no workspace budget here unless a run asks for one (bench fleet does).
            "RELEASEBOT_CHAT_UPDATES_PER_MINUTE": "0",
            SECRET_ENV: self._deploy_secret,
            "LOG_LEVEL": "WARNING",
            **self._settings,
        }

    @staticmethod
    def _env(extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not FOREIGN_SETTINGS.match(k)}
        # Replicas start again and again: let the first compile the modules for the others.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return {**env, "PYTHONUNBUFFERED": "1", **extra}

    # -- acting as Slack and as an operator -------------------------------------------

    async def command(self, user: str, command: str, text: str) -> Sent:
        answer = await self._post(
            "/_control/command",
            {"user": user, "channel": CHANNEL, "command": command, "text": text},
        )
        return Sent(
            user,
            command,
            text,
            int(answer.get("status") or 0),
            answer.get("trigger_id") or "",
            answer.get("response_url") or "",
            float(answer.get("elapsed_ms") or 0.0),
            time.monotonic(),
        )

    async def fault(self, **spec: Any) -> dict[str, Any]:
        return (await self._post("/_faults", spec))["fault"]

    async def clear_faults(self) -> None:
        assert self._http is not None
        async with self._http.delete(f"{self.standin_url}/_faults") as response:
            response.raise_for_status()

    async def signal(self, index: int, signum: int) -> int | None:
        """Send a real signal to a replica and wait for it to exit; returns its exit code."""
        return await self.replicas[index].stop(signum)

    async def start_replica(self, index: int) -> float:
        return await self.replicas[index].start()

    async def terminate_connections(self) -> int:
        """pg_terminate_backend on every connection the replicas hold to the database."""
        rows = await self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %(db)s AND pid <> pg_backend_pid() "
            "AND application_name <> %(harness)s",
            {"db": self.database, "harness": HARNESS_APP},
        )
        return sum(1 for (killed,) in rows if killed)

    # -- looking --------------------------------------------------------------------------

    async def messages(self) -> list[dict[str, Any]]:
        return (await self._get(f"/_control/messages?channel={CHANNEL}"))["messages"]

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Recorded Slack calls (Web API methods and `response_url`), all without `method`."""
        query = f"?method={method}" if method else ""
        return (await self._get(f"/_control/calls{query}"))["calls"]

    async def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """Rows of `sql`, with parameters written %(name)s as psycopg takes them."""
        if self.sqlite:
            return await asyncio.to_thread(self._sqlite_query, sql, params or {})
        for attempt in (1, 2):
            try:
                if self._db is None or self._db.closed:
                    self._db = await psycopg.AsyncConnection.connect(
                        self.database_url, autocommit=True, application_name=HARNESS_APP
                    )
                cursor = await self._db.execute(sql, params or {})
                return await cursor.fetchall() if cursor.description else []
            except psycopg.OperationalError:
                self._db = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _sqlite_query(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        path = self.database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            return connection.execute(re.sub(r"%\((\w+)\)s", r":\1", sql), params).fetchall()

    async def pending(self) -> tuple[int, int, int]:
        """(requests not yet handled, releases not finished, messages not yet sent)."""
        ((inbox, releases, outbox),) = await self.query(PENDING_SQL)
        return inbox, releases, outbox

    async def settle(self, within_s: float) -> float:
        """Wait until every request is handled, every release finished and every message
        sent; returns how long it took. Raises TimeoutError with what is left."""
        began = time.monotonic()
        left = await self.pending()
        while any(left):
            if time.monotonic() - began > within_s:
                raise TimeoutError(
                    f"not settled after {within_s:g}s: {left[0]} requests, {left[1]} releases, "
                    f"{left[2]} messages still pending"
                )
            await asyncio.sleep(0.2)
            left = await self.pending()
            if os.environ.get("CHAOS_DEBUG"):
                print(f"settling {time.monotonic() - began:.1f}s: pending {left}", flush=True)
        return time.monotonic() - began

    # -- plumbing -------------------------------------------------------------------------

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        async with self._http.post(f"{self.standin_url}{path}", json=body) as response:
            answer = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"stand-in {path}: {response.status} {answer}")
            return answer

    async def _get(self, path: str) -> dict[str, Any]:
        assert self._http is not None
        async with self._http.get(f"{self.standin_url}{path}") as response:
            response.raise_for_status()
            return await response.json()

    async def _create_database(self) -> None:
        if self.sqlite:
            return
        async with await psycopg.AsyncConnection.connect(
            self.admin_url, autocommit=True, application_name=HARNESS_APP
        ) as admin:
            await admin.execute(f'CREATE DATABASE "{self.database}"')

    async def _drop_database(self) -> None:
        if self.sqlite:
            return
        with contextlib.suppress(psycopg.Error):
            async with await psycopg.AsyncConnection.connect(
                self.admin_url, autocommit=True, application_name=HARNESS_APP
            ) as admin:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
