"""Shared fixtures: a database per test on each backend, and the whole bot on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app.catalog_file import load_catalog
from bot.core.catalog import Catalog
from tests.support.databases import postgres_database, sqlite_database
from tests.support.peer_processes import PeerUnavailable
from tests.support.peers import missing, postgres_available

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOG = REPO / "bot" / "app" / "releasebot.example.yaml"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as url:
            yield url
        return
    if (why := postgres_available()) is not None:
        missing(why)
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """PostgreSQL only: for what SQLite does not do (several replicas, its own triggers)."""
    if (why := postgres_available()) is not None:
        missing(why)
    with postgres_database() as url:
        yield url


@pytest.fixture
def example_catalog() -> Catalog:
    return load_catalog(EXAMPLE_CATALOG)


@pytest.fixture
async def example_bot(database_url: str, example_catalog: Catalog) -> AsyncIterator:
    from tests.support.harness import BotHarness

    async with BotHarness.running(database_url, example_catalog) as harness:
        yield harness


@pytest.fixture(scope="session")
def peer_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Starts a peer process on first use (unless .ci/run gave its address in the
    environment) and stops it when the session ends."""
    from tests.support.peer_processes import STARTERS

    started: dict[str, object] = {}
    failures: dict[str, str] = {}
    workdir = tmp_path_factory.mktemp("peers")

    def get(name: str, variable: str) -> dict[str, str]:
        import os

        if os.environ.get(variable):
            return dict(os.environ)
        if name in failures:
            missing(failures[name])
        if name not in started:
            try:
                started[name] = STARTERS[name](workdir)
            except PeerUnavailable as exc:
                failures[name] = f"{name}: {exc}"
                missing(failures[name])
        return started[name].env  # type: ignore[attr-defined]

    yield get
    problems = []
    for name, peer in started.items():
        try:
            peer.stop()  # type: ignore[attr-defined]
        except Exception as exc:  # stop the others all the same
            problems.append(f"{name}: {exc}")
    assert not problems, f"peers did not stop cleanly: {problems}"


@pytest.fixture
def prometheus_env(peer_processes) -> dict[str, str]:
    """PROMETHEUS_URL and PROMETHEUS_TARGETS_DIR of a real Prometheus."""
    return peer_processes("prometheus", "PROMETHEUS_URL")


@pytest.fixture
def prism_env(peer_processes) -> dict[str, str]:
    """PRISM_GITHUB_URL: Prism serving GitHub's REST API description."""
    return peer_processes("prism", "PRISM_GITHUB_URL")


@pytest.fixture
def unleash_env(peer_processes) -> dict[str, str]:
    """UNLEASH_URL and UNLEASH_ADMIN_TOKEN of a real unleash-server."""
    return peer_processes("unleash", "UNLEASH_URL")


@pytest.fixture
def oidc_issuer(peer_processes) -> str:
    """The issuer URL of a real OpenID Connect provider giving Slack's claims."""
    return peer_processes("oidc", "OIDC_TEST_ISSUER")["OIDC_TEST_ISSUER"]


# The inner loop (`pytest -m "not slow"`) is what runs in this process alone: the core, the
# services over the in-memory unit of work, the adapters in-process. Whatever needs more is
# slow by what it needs, so nobody has to remember to mark it.
WHOLE_BOT_FIXTURES = {
    "example_bot", "scenario_bot", "policy_bot", "github_bot", "unleash_bot", "webhook_bot",
    "patient_bot", "impatient", "peer_processes", "browser",
}  # fmt: skip
SLOW_DIRECTORIES = ("scenarios", "faults")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        directory = Path(str(item.fspath)).relative_to(REPO / "tests").parts[0]
        callspec = getattr(item, "callspec", None)
        real_peer = (
            callspec is not None and callspec.params.get("world", "simulated") != "simulated"
        )
        if (
            item.get_closest_marker("postgres")
            or item.get_closest_marker("browser")
            or needs & WHOLE_BOT_FIXTURES
            or directory in SLOW_DIRECTORIES
            or (directory == "contracts" and real_peer)
        ):
            item.add_marker(pytest.mark.slow)
