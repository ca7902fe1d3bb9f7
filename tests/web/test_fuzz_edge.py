"""No 500 from any input (DESIGN invariant 11): generated requests to every public route of one
running bot (started once for the module, in a thread of its own, on a loopback port).

For each request: never a 5xx; the body a person or a script gets back is JSON, HTML or a
line of plain text, never a traceback; a refused request (4xx) writes nothing (inbox, audit,
releases, outbox counted before and after); a request Slack's signature let in is carried out
without a bug (no audit row with outcome `error` once the bot has settled).

RELEASEBOT_FUZZ_EXAMPLES sets the examples per route (100 by default, for CI); PostgreSQL runs
a fifth of them. The issue's done-when (2,000 per route, no 500):

    RELEASEBOT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest -q -p no:cacheprovider \\
        tests/web/test_fuzz_edge.py -s
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.core.catalog import Catalog
from bot.core.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.emulator.signing import signed_headers
from bot.services.api_tokens import ApiTokens
from bot.storage.database import session_factory
from bot.storage.tables import AuditRow, InboxRow, OutboxRow, ReleaseRow
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.audit import verify
from tests.support.databases import postgres_database, sqlite_database
from tests.support.harness import BotHarness
from tests.support.peers import missing, postgres_available

EXAMPLES = int(os.environ.get("RELEASEBOT_FUZZ_EXAMPLES", "100"))
pytestmark = [
    pytest.mark.timeout(300 + EXAMPLES),  # a run of 2,000 per route takes minutes
    pytest.mark.slow,  # a running bot per module
]
CATALOG = Path(__file__).resolve().parents[1] / "support" / "scenario_catalog.yaml"
FORM = "application/x-www-form-urlencoded"
HOOK_SECRET = b"fuzz-hook-secret"
GITHUB_SECRET = b"fuzz-github-secret"
TABLES = (InboxRow, AuditRow, ReleaseRow, OutboxRow)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/")


def fuzz_catalog() -> Catalog:
    document = yaml.safe_load(CATALOG.read_text())
    document["backends"]["deploy-hook"] = {
        "type": "webhook",
        "settings": {
            "url": "http://127.0.0.1:9/hook",
            "secret_env": "RELEASEBOT_FUZZ_HOOK_SECRET",
            "mode": "callback",
        },
    }
    document["backends"]["github"] = {
        "type": "github",
        "settings": {
            "api_url": "http://127.0.0.1:9",
            "token_env": "RELEASEBOT_FUZZ_GITHUB_TOKEN",
            "webhook_secret_env": "RELEASEBOT_FUZZ_GITHUB_SECRET",
        },
    }
    return Catalog.model_validate(document)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass
class Edge:
    """The bot on its own event loop in a thread; the tests talk to it over HTTP."""

    bot: BotHarness
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    backend: str
    examples: int
    token: str = ""
    cookie: str = ""
    sent: Counter[str] = field(default_factory=Counter)
    failed_before: list = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)

    def run(self, coroutine, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def port(self) -> int:
        return int(self.bot.base_url.rsplit(":", 1)[1])

    def request(
        self, route: str, method: str, path: str, body: bytes = b"", headers: dict | None = None
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                connection.putheader(name, value.encode("utf-8", "surrogatepass"))
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            answer = Answer(
                response.status, response.getheader("Content-Type", ""), response.read()
            )
        finally:
            connection.close()
        self.sent[route] += 1
        self.statuses.setdefault(route, Counter())[answer.status] += 1
        return answer

    def rows(self) -> tuple[int, ...]:
        async def count() -> tuple[int, ...]:
            async with self.bot.runtime.db.connect() as connection:
                return tuple(
                    [
                        (await connection.execute(select(func.count()).select_from(t))).scalar_one()
                        for t in TABLES
                    ]
                )

        return self.run(count())

    def failures(self) -> list[tuple[str, str]]:
        async def failed() -> list[tuple[str, str]]:
            async with self.bot.runtime.db.connect() as connection:
                found = await connection.execute(
                    select(AuditRow.action, AuditRow.reason).where(AuditRow.outcome == "error")
                )
                return [tuple(row) for row in found]

        return self.run(failed())

    def settle(self) -> None:
        self.run(self.bot.settle())

    def now(self) -> int:
        return int(self.bot.clock.now().timestamp())


def _start(url: str, backend: str) -> Edge:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"fuzz-bot-{backend}", daemon=True)
    thread.start()
    started = asyncio.run_coroutine_threadsafe(BotHarness.start(url, fuzz_catalog()), loop)
    bot = started.result(120)
    examples = EXAMPLES if backend == "sqlite" else max(10, EXAMPLES // 5)
    edge = Edge(bot, loop, thread, backend, examples)
    edge.token = edge.run(_api_token(bot, "U0ERIN"))
    edge.cookie = _sign_in(edge, "U0ERIN")
    return edge


async def _api_token(bot: BotHarness, user: str) -> str:
    sessions = session_factory(bot.runtime.db)
    tokens = ApiTokens(lambda: SqlUnitOfWork(sessions, bot.clock), bot.clock)
    _, secret = await tokens.create("fuzz", user, by="cli:fuzz")
    return secret


def _sign_in(edge: Edge, user: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=30)
    body = urlencode({"user": user}).encode()
    connection.request(
        "POST",
        "/signin",
        body,
        {"Content-Type": FORM, "Origin": edge.bot.base_url, "Sec-Fetch-Site": "same-origin"},
    )
    response = connection.getresponse()
    response.read()
    cookies = [
        value.split(";", 1)[0] for name, value in response.getheaders() if name == "Set-Cookie"
    ]
    connection.close()
    assert cookies, f"sign-in gave no cookie ({response.status})"
    return "; ".join(cookies)


def _stop(edge: Edge) -> None:
    chain = edge.run(verify(edge.bot.runtime.db))
    edge.run(edge.bot.stop())
    edge.loop.call_soon_threadsafe(edge.loop.stop)
    edge.thread.join(10)
    edge.loop.close()
    report = ", ".join(
        f"{route} {count} ({dict(sorted(edge.statuses[route].items()))})"
        for route, count in sorted(edge.sent.items())
    )
    print(f"\nfuzz on {edge.backend}: {sum(edge.sent.values())} requests: {report}")
    if target := os.environ.get("RELEASEBOT_FUZZ_REPORT"):
        with open(target, "a") as out:
            out.write(
                json.dumps(
                    {
                        "backend": edge.backend,
                        "examples": edge.examples,
                        "sent": dict(edge.sent),
                        "statuses": {r: dict(c) for r, c in edge.statuses.items()},
                    }
                )
                + "\n"
            )
    assert chain.ok, f"hostile input broke the audit chain: {chain.broken}"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def edge(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Edge]:
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    try:
        if request.param == "sqlite":
            with sqlite_database(tmp_path_factory.mktemp("fuzz")) as url:
                edge = _start(url, "sqlite")
                try:
                    yield edge
                finally:
                    _stop(edge)
            return
        if (why := postgres_available()) is not None:
            missing(why)
        with postgres_database() as url:
            edge = _start(url, "postgres")
            try:
                yield edge
            finally:
                _stop(edge)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


ENVIRONMENT = {
    "RELEASEBOT_FUZZ_HOOK_SECRET": HOOK_SECRET.decode(),
    "RELEASEBOT_FUZZ_GITHUB_SECRET": GITHUB_SECRET.decode(),
    "RELEASEBOT_FUZZ_GITHUB_TOKEN": "ghp-fuzz-unused",
}


# -- what every answer must be ----------------------------------------------------------------


def check(edge: Edge, route: str, method: str, path: str, body: bytes, headers: dict) -> Answer:
    before = edge.rows()
    answer = edge.request(route, method, path, body, headers)
    assert answer.status < 500, (route, method, path, body[:300], headers, answer)
    text = answer.body.decode("utf-8", "replace")
    assert not TRACEBACK.search(text), (route, path, text[:500])
    kind = answer.content_type.split(";")[0].strip()
    if answer.status >= 400:
        assert kind in ("application/json", "text/html", "text/plain"), (route, answer)
        if kind == "application/json":
            assert isinstance(json.loads(text), dict), (route, text[:200])
        if kind == "text/plain":  # aiohttp's own: "404: Not Found", a parser's complaint
            assert len(text) < 500, (route, text[:500])
        assert edge.rows() == before, (route, method, path, body[:300], answer)
    else:
        edge.settle()
        assert edge.failures() == edge.failed_before, (route, method, path, body[:300])
    return answer


def fuzz(edge: Edge, strategy: st.SearchStrategy, send: Callable[[Any], None]) -> None:
    edge.failed_before = edge.failures()  # one test's failure does not fail the next ones

    @settings(
        max_examples=edge.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Any) -> None:
        send(case)

    run()


# -- strategies shaped like what Slack and scripts send ----------------------------------------

NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
ANY_TEXT = st.text(NO_SURROGATES, max_size=80)
NASTY = st.sampled_from(
    ["\x00", "\x1b[31m", "٣", "²", "١٢", "#٣", "\u202e", "\ufeff", "𝟗", "<!channel>", "\n", "%00"]
)
BOUNDARIES = st.sampled_from(
    ["2147483647", "2147483648", "9999999999", "9223372036854775808", "99999999999999999999"]
)
NUMBERS = st.one_of(
    BOUNDARIES,
    BOUNDARIES.map(lambda n: f"#{n}"),
    st.integers(-(10**25), 10**25).map(str),
    st.integers(-(10**25), 10**25).map(lambda n: f"#{n}"),
    st.sampled_from([str(2**31 - 1), str(2**31), str(2**63), "#0", "0", "-1", "#9999999999"]),
    st.text(st.characters(whitelist_categories=("Nd", "No")), min_size=1, max_size=12),
)
WORDS = st.sampled_from([
    "status", "approve", "reject", "promote", "pause", "resume", "abort", "history", "list",
    "help", "lock", "unlock", "freeze", "unfreeze", "export", "dora", "whoami", "whocan",
    "where", "integrations", "checkout", "search", "legacy", "jobs", "staging", "production",
    "prod", "to", "canary", "blue-green", "rolling", "flag", "10%", "4", "batches", "v1.4.3",
    "latest", "break-glass", "INC-1", "for", "2h", "30d", "csv", "jsonl", "because",
])  # fmt: skip
RELEASE_TARGETS = st.tuples(
    st.sampled_from(["status", "approve", "reject", "promote", "pause", "resume", "abort",
                     "history checkout", "status checkout"]),
    st.one_of(NUMBERS, BOUNDARIES, NASTY),
    st.lists(st.one_of(WORDS, NASTY, ANY_TEXT), max_size=3).map(" ".join),
).map(" ".join)  # fmt: skip
COMMAND_TEXT = (
    RELEASE_TARGETS
    | st.lists(st.one_of(WORDS, NUMBERS, NASTY, ANY_TEXT), max_size=8).map(" ".join)
    | st.text(NO_SURROGATES, max_size=5000)
)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """`good` nine times in ten (so requests get past the first check and go deep), else
    `bad`. (st.one_of(good, good, bad) would not do: it draws each distinct branch alike.)"""
    return st.integers(0, 9).flatmap(lambda n: good if n else bad)


SLACK_IDS = st.sampled_from(["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN", "U0FRANK"])
BAD_IDS = st.one_of(st.from_regex(r"[A-Z][A-Z0-9]{1,45}", fullmatch=True), ANY_TEXT, NASTY)
# Mostly people and channels that exist (so requests go deep), sometimes anything at all.
IDS = mostly(SLACK_IDS, BAD_IDS)
CHANNELS = mostly(st.sampled_from(["C0DEPLOYS", "C0RELEASES"]), BAD_IDS)
TRIGGERS = mostly(st.uuids().map(str), ANY_TEXT)
COMMAND_NAMES = mostly(st.sampled_from(["/deploy", "/rollback", "/release"]), ANY_TEXT)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
SLACK_TS = st.from_regex(r"[0-9]{10}\.[0-9]{6}", fullmatch=True)
TS = mostly(st.one_of(st.just("1767000000.000100"), SLACK_TS), st.one_of(ANY_TEXT, NUMBERS))
BUTTONS = st.sampled_from(
    ["release_approve", "release_promote", "release_pause", "release_resume", "release_rollback",
     "release_abort", "release_reject"]
)  # fmt: skip
BUTTON_VALUES = st.one_of(
    st.integers(0, 6).map(str),
    BOUNDARIES,
    st.tuples(st.integers(0, 6), st.integers(0, 4)).map(lambda p: f"{p[0]}:{p[1]}"),
    st.integers(-(10**22), 10**22).map(str),
    st.tuples(NUMBERS, st.integers(-5, 5000)).map(lambda p: f"{p[0]}:{p[1]}"),
    NUMBERS,
    NASTY,
    ANY_TEXT,
)
NOWHERE = "http://127.0.0.1:9/nowhere"
RESPONSE_URLS = mostly(
    st.sampled_from([None, NOWHERE]), st.one_of(ANY_TEXT, st.just("http://" + "a" * 3000))
)


def maybe_broken(shape: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """A Slack-shaped dict, sometimes with a key missing or its value replaced by any JSON."""
    whole = st.fixed_dictionaries(shape)
    return mostly(
        whole,
        st.one_of(
            st.tuples(whole, st.sampled_from(sorted(shape)), JSON).map(
                lambda t: {**t[0], t[1]: t[2]}
            ),
            st.tuples(whole, st.sampled_from(sorted(shape))).map(
                lambda t: {k: v for k, v in t[0].items() if k != t[1]}
            ),
        ),
    )


COMMANDS = maybe_broken(
    {
        "token": st.just("x"),
        "team_id": st.just("T0RELEASE"),
        "channel_id": CHANNELS,
        "user_id": IDS,
        "user_name": st.one_of(st.just("bob"), ANY_TEXT, NASTY),
        "command": COMMAND_NAMES,
        "text": COMMAND_TEXT,
        "trigger_id": TRIGGERS,
        "response_url": mostly(st.just(NOWHERE), RESPONSE_URLS),
    }
)
USERS = maybe_broken({"id": IDS, "username": st.one_of(ANY_TEXT, NASTY), "team_id": IDS})
ACTIONS = maybe_broken(
    {
        "action_id": mostly(BUTTONS, ANY_TEXT),
        "block_id": ANY_TEXT,
        "value": BUTTON_VALUES,
        "type": st.just("button"),
        "action_ts": TS,
    }
)
BLOCK_ACTIONS = maybe_broken(
    {
        "type": st.just("block_actions"),
        "user": USERS,
        "trigger_id": TRIGGERS,
        "response_url": RESPONSE_URLS,
        "container": maybe_broken(
            {
                "type": st.sampled_from(["message", "view", "x"]),
                "message_ts": TS,
                "channel_id": CHANNELS,
            }  # fmt: skip
        ),
        "channel": maybe_broken({"id": CHANNELS, "name": ANY_TEXT}),
        "actions": mostly(st.lists(ACTIONS, min_size=1, max_size=3), JSON),
        "view": maybe_broken({"id": ANY_TEXT, "private_metadata": st.text(max_size=200)}),
    }
)
METADATA = mostly(
    st.fixed_dictionaries(
        {
            "release_id": mostly(
                st.integers(1, 6), st.one_of(st.integers(-(10**22), 10**22), NUMBERS, JSON)
            ),
            "channel": CHANNELS,
            "message_ts": st.one_of(st.none(), TS),
        }
    ).map(json.dumps),
    st.one_of(ANY_TEXT, JSON.map(json.dumps)),
)
VIEW_SUBMISSIONS = maybe_broken(
    {
        "type": st.sampled_from(["view_submission", "view_closed"]),
        "user": USERS,
        "trigger_id": st.uuids().map(str),
        "view": maybe_broken(
            {
                "type": st.just("modal"),
                "callback_id": mostly(st.just("release_reject"), ANY_TEXT),
                "private_metadata": METADATA,
                "state": st.one_of(
                    st.fixed_dictionaries(
                        {
                            "values": st.fixed_dictionaries(
                                {"reason": st.fixed_dictionaries(
                                    {"reason": st.fixed_dictionaries(
                                        {"value": st.one_of(COMMAND_TEXT, NASTY, JSON)})})})
                        }
                    ),
                    JSON,
                ),
            }
        ),
    }
)  # fmt: skip


SIGNED = mostly(st.just(True), st.just(False))
HEADER_TEXT = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n"), max_size=80)


def slack_headers(edge: Edge, body: bytes, content_type: str = FORM) -> dict[str, str]:
    return signed_headers(edge.bot.slack.signing_secret, body, content_type, edge.now())


def form(fields: dict[str, Any]) -> bytes:
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()})


def interaction(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# -- POST /slack/events ------------------------------------------------------------------------


def test_slack_events_unsigned(edge: Edge):
    headers = st.fixed_dictionaries(
        {
            "X-Slack-Request-Timestamp": st.one_of(
                st.just(str(edge.now())), NUMBERS, NASTY.filter(str.isprintable), HEADER_TEXT
            ),
            "X-Slack-Signature": st.one_of(st.just("v0=" + "0" * 64), HEADER_TEXT),
        },
        optional={"Content-Type": st.sampled_from([FORM, "application/json", "text/plain"])},
    )
    bodies = st.one_of(st.binary(max_size=2000), COMMANDS.map(form).map(str.encode))

    def send(case):
        body, sent = case
        answer = check(edge, "POST /slack/events unsigned", "POST", "/slack/events", body, sent)
        assert answer.status in (400, 401), answer

    fuzz(edge, st.tuples(bodies, headers), send)


def test_slack_events_signed_random_bodies(edge: Edge):
    bodies = st.one_of(
        st.binary(max_size=3000),
        st.dictionaries(ANY_TEXT, ANY_TEXT).map(form).map(str.encode),
        JSON.map(lambda j: urlencode({"payload": json.dumps(j)}).encode()),
        JSON.map(lambda j: json.dumps(j).encode()),
        st.text(NO_SURROGATES, max_size=200).map(lambda t: f"payload={t}".encode()),
    )
    types = st.sampled_from([FORM, "application/json", "text/plain"])

    def send(case):
        body, content_type = case
        check(edge, "POST /slack/events signed (random body)", "POST", "/slack/events", body,
              slack_headers(edge, body, content_type))  # fmt: skip

    fuzz(edge, st.tuples(bodies, types), send)


def test_slack_events_signed_slash_commands(edge: Edge):
    def send(fields):
        body = form(fields).encode()
        check(edge, "POST /slack/events signed (slash command)", "POST", "/slack/events", body,
              slack_headers(edge, body))  # fmt: skip

    fuzz(edge, COMMANDS, send)


def test_slack_events_signed_block_actions(edge: Edge):
    def send(payload):
        body = interaction(payload)
        check(edge, "POST /slack/events signed (block_actions)", "POST", "/slack/events", body,
              slack_headers(edge, body))  # fmt: skip

    fuzz(edge, BLOCK_ACTIONS, send)


def test_slack_events_signed_view_submissions(edge: Edge):
    def send(payload):
        body = interaction(payload)
        check(edge, "POST /slack/events signed (view_submission)", "POST", "/slack/events",
              body, slack_headers(edge, body))  # fmt: skip

    fuzz(edge, VIEW_SUBMISSIONS, send)


# -- webhook receivers -------------------------------------------------------------------------

CALLBACKS = st.one_of(
    maybe_broken(
        {
            "operation_id": st.one_of(
                st.just("webhook:deploy-hook:release-7-stage-0"), ANY_TEXT, NUMBERS
            ),
            "state": st.one_of(st.sampled_from(["running", "succeeded", "failed"]), ANY_TEXT),
            "detail": st.one_of(ANY_TEXT, st.text(max_size=3000), NASTY),
        }
    ).map(lambda d: json.dumps(d).encode()),
    JSON.map(lambda j: json.dumps(j).encode()),
    st.binary(max_size=500),
)
BACKENDS = mostly(
    st.just("deploy-hook"), st.sampled_from(["github", "simulated", "nope"]) | ANY_TEXT
)


def test_webhook_callbacks(edge: Edge):
    def send(case):
        backend, body, signed, skew = case
        headers = {"Content-Type": "application/json"}
        if signed:
            timestamp = edge.now() + skew
            headers |= {TIMESTAMP_HEADER: str(timestamp),
                        SIGNATURE_HEADER: sign(HOOK_SECRET, timestamp, body)}  # fmt: skip
        path = f"/integrations/webhook/{quote(backend, safe='')}/callback"
        if not quote(backend, safe=""):
            path = "/integrations/webhook/x/callback"
        check(edge, "POST /integrations/webhook/{backend}/callback", "POST", path, body, headers)

    fuzz(edge, st.tuples(BACKENDS, CALLBACKS, SIGNED, mostly(st.just(0), st.just(-900))),
         send)  # fmt: skip


GITHUB_BODIES = st.one_of(
    maybe_broken(
        {
            "action": st.sampled_from(["completed", "created"]),
            "repository": maybe_broken({"full_name": st.one_of(
                st.sampled_from(["acme/checkout", "acme/search"]), ANY_TEXT, NASTY)}),
            "check_suite": JSON,
            "sha": st.one_of(st.just("0" * 40), ANY_TEXT),
        }
    ).map(lambda d: json.dumps(d).encode()),
    JSON.map(lambda j: json.dumps(j).encode()),
    st.binary(max_size=500),
)  # fmt: skip


def test_github_webhooks(edge: Edge):
    import hashlib
    import hmac

    events = st.one_of(
        st.sampled_from(["check_suite", "check_run", "status", "deployment_status",
                         "workflow_run", "ping", "push"]),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
    )  # fmt: skip

    def send(case):
        body, event, signed = case
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event}
        if signed:
            digest = hmac.new(GITHUB_SECRET, body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        check(edge, "POST /integrations/github/events", "POST", "/integrations/github/events",
              body, headers)  # fmt: skip

    fuzz(edge, st.tuples(GITHUB_BODIES, events, SIGNED), send)


# -- web pages and the export API --------------------------------------------------------------

QUERY_KEYS = mostly(
    st.sampled_from(["service", "environment", "state", "days", "since", "until", "actor",
                     "action", "format", "next", "id"]),
    ANY_TEXT,
)  # fmt: skip
QUERY_VALUES = st.one_of(
    NUMBERS, NASTY, ANY_TEXT, WORDS, st.sampled_from(["30d", "2026-11-01", "csv", "1h ago"])
)
QUERIES = st.one_of(
    st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=5).map(
        lambda pairs: urlencode(pairs, quote_via=quote)
    ),
    st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="#"),
            max_size=100),
)  # fmt: skip
PAGE_PATHS = st.one_of(
    st.sampled_from(["/", "/releases", "/dora", "/audit", "/signin", "/healthz", "/readyz",
                     "/metrics", "/emulator/", "/releases/1", "/releases/2"]),
    st.sampled_from(["/releases", "/dora", "/audit"]),
    st.one_of(NUMBERS, NASTY, ANY_TEXT).map(lambda n: "/releases/" + quote(n, safe="")),
    BOUNDARIES.map(lambda n: f"/releases/{n}"),
    st.tuples(ANY_TEXT, ANY_TEXT).map(
        lambda p: f"/audit/exports/{quote(p[0], safe='')}/{quote(p[1], safe='')}"
    ),
    ANY_TEXT.map(lambda p: "/" + quote(p, safe="/")),
)  # fmt: skip


def test_web_pages(edge: Edge):
    def send(case):
        path, query, signed_in = case
        headers = {"Cookie": edge.cookie} if signed_in else {}
        check(edge, "GET web pages", "GET", f"{path}?{query}" if query else path, b"", headers)

    fuzz(edge, st.tuples(PAGE_PATHS, QUERIES, SIGNED), send)


def test_audit_export_form(edge: Edge):
    fields = st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=6)

    def send(case):
        pairs, signed_in, same_origin = case
        body = urlencode(pairs, quote_via=quote).encode()
        headers = {"Content-Type": FORM}
        if signed_in:
            headers["Cookie"] = edge.cookie
        if same_origin:
            headers["Origin"] = edge.bot.base_url
        check(edge, "POST /audit/exports", "POST", "/audit/exports", body, headers)

    fuzz(edge, st.tuples(fields, st.booleans(), st.booleans()), send)


def test_audit_export_api(edge: Edge):
    tokens = mostly(st.just("valid"), st.none() | ANY_TEXT.filter(str.isprintable))

    def send(case):
        query, token = case
        headers = {}
        if token == "valid":
            headers["Authorization"] = f"Bearer {edge.token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        path = f"/api/v1/audit/export?{query}" if query else "/api/v1/audit/export"
        check(edge, "GET /api/v1/audit/export", "GET", path, b"", headers)

    fuzz(edge, st.tuples(QUERIES, tokens), send)
