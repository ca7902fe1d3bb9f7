"""Real peers (PostgreSQL, Chromium): skip with the reason when absent; under
REQUIRE_PEERS=1 (CI) fail instead."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_PEERS = os.environ.get("REQUIRE_PEERS") == "1"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing(reason: str) -> None:
    """Skip, or fail when the peers are required (CI)."""
    if REQUIRE_PEERS:
        pytest.fail(f"required peer missing (REQUIRE_PEERS=1): {reason}")
    pytest.skip(reason)


def postgres_available() -> str | None:
    """None when reachable, else why not."""
    try:
        import psycopg

        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return None
    except Exception as exc:  # any failure means "not here"
        return f"PostgreSQL at {POSTGRES_URL} unreachable: {type(exc).__name__}: {exc}"


def chromium_available() -> str | None:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")
