"""The real peers that run as processes beside the tests: Prometheus, Prism serving GitHub's
OpenAPI description, unleash-server on PostgreSQL, and oidc-provider standing in for Sign in
with Slack.

.ci/run starts them once (`python -m tests.support.peer_processes start DIR`) and exports the
addresses it writes to DIR/peers.env; on a developer's machine the fixtures start whichever
are not given by the environment, the same way, and stop them afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.network import free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
GITHUB_SPEC = NODE_MODULES / "@octokit/openapi/generated/api.github.com.deref.json"
PRISM = NODE_MODULES / ".bin/prism"
UNLEASH_SERVER = NODE_MODULES / "unleash-server/dist/server.js"
UNLEASH_ADMIN_TOKEN = "*:*.releasebot-test-admin-token"
OIDC_PROVIDER = NODE_MODULES / "oidc-provider/package.json"
OIDC_SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class PeerUnavailable(Exception):
    """The peer cannot run here; the message says what to install."""


@dataclass
class PeerProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)  # what tests read to find the peer
    cleanup: list[str] = field(default_factory=list)  # databases to drop afterwards

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for database in self.cleanup:
            _postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _spawn(
    name: str,
    command: list[str],
    *,
    workdir: Path,
    url: str,
    ready_path: str,
    env: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 90,
) -> PeerProcess:
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    peer = PeerProcess(name, url, process, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailable(f"{name} exited ({process.returncode}): {_tail(log_path)}")
        if _answers(url + ready_path, headers or {}):
            return peer
        time.sleep(0.2)
    peer.stop()
    raise PeerUnavailable(f"{name} did not answer within {timeout_s:.0f}s: {_tail(log_path)}")


def _answers(url: str, headers: dict[str, str]) -> bool:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


# Prometheus


def start_prometheus(workdir: Path) -> PeerProcess:
    """Scrapes every target listed in TARGETS_DIR/*.json (file service discovery) each second,
    so a test adds its own app by writing a file there."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise PeerUnavailable("prometheus not found (apt-get install prometheus)")
    targets = workdir / "prometheus-targets"
    targets.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "test-apps",
                        "scrape_interval": "1s",
                        "scrape_timeout": "1s",
                        "file_sd_configs": [
                            {"files": [str(targets / "*.json")], "refresh_interval": "1s"}
                        ],
                    }
                ],
            }
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    peer = _spawn(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
        ],
        workdir=workdir,
        url=url,
        ready_path="/-/ready",
    )
    peer.env = {"PROMETHEUS_URL": url, "PROMETHEUS_TARGETS_DIR": str(targets)}
    return peer


# Prism serving GitHub's REST API description


def start_prism(workdir: Path) -> PeerProcess:
    if not PRISM.exists() or not GITHUB_SPEC.exists():
        raise PeerUnavailable("Prism or @octokit/openapi missing (npm ci --ignore-scripts)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    peer = _spawn(
        "prism",
        [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", str(GITHUB_SPEC)],
        workdir=workdir,
        url=url,
        ready_path="/rate_limit",
        headers={"Accept": "application/json"},
        timeout_s=120,
    )
    peer.env = {"PRISM_GITHUB_URL": url}
    return peer


# unleash-server on its own PostgreSQL database


def start_unleash(workdir: Path) -> PeerProcess:
    if not UNLEASH_SERVER.exists():
        raise PeerUnavailable("unleash-server missing (npm ci --ignore-scripts)")
    if shutil.which("node") is None:
        raise PeerUnavailable("node not found")
    database = f"releasebot_unleash_{uuid.uuid4().hex[:8]}"
    _postgres(f'CREATE DATABASE "{database}"')
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    host = POSTGRES_ADMIN_URL.split("@", 1)[-1].rsplit("/", 1)[0]
    user = POSTGRES_ADMIN_URL.split("//", 1)[-1].split("@", 1)[0]
    try:
        peer = _spawn(
            "unleash",
            ["node", str(UNLEASH_SERVER)],
            workdir=workdir,
            url=url,
            ready_path="/health",
            env={
                "TZ": "UTC",
                "DATABASE_URL": f"postgres://{user}@{host}/{database}",
                "DATABASE_SSL": "false",
                "HTTP_PORT": str(port),
                "HTTP_HOST": "127.0.0.1",
                "INIT_ADMIN_API_TOKENS": UNLEASH_ADMIN_TOKEN,
                "LOG_LEVEL": "warn",
                "CHECK_VERSION": "false",
                "SEND_TELEMETRY": "false",
            },
            timeout_s=120,
        )
    except BaseException:
        _postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        raise
    peer.cleanup.append(database)
    peer.env = {"UNLEASH_URL": url, "UNLEASH_ADMIN_TOKEN": UNLEASH_ADMIN_TOKEN}
    return peer


# oidc-provider: an OpenID Connect provider issuing Slack's claims


def start_oidc(workdir: Path) -> PeerProcess:
    if not OIDC_PROVIDER.exists():
        raise PeerUnavailable("oidc-provider missing (npm ci --ignore-scripts)")
    if shutil.which("node") is None:
        raise PeerUnavailable("node not found")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    peer = _spawn(
        "oidc",
        ["node", str(OIDC_SCRIPT)],
        workdir=workdir,
        url=url,
        ready_path="/.well-known/openid-configuration",
        env={"PORT": str(port)},
    )
    peer.env = {"OIDC_TEST_ISSUER": url}
    return peer


def _postgres(statement: str) -> None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise PeerUnavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}") from exc


STARTERS = {
    "prometheus": start_prometheus,
    "prism": start_prism,
    "unleash": start_unleash,
    "oidc": start_oidc,
}


# Command line for .ci/run


def _start_all(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    pids = {}
    for name, start in STARTERS.items():
        began = time.monotonic()
        peer = start(directory)
        pids[name] = {"pid": peer.process.pid, "cleanup": peer.cleanup}
        (directory / "pids.json").write_text(json.dumps(pids))  # so `stop` finds each one
        lines += [f"export {key}={value}" for key, value in peer.env.items()]
        print(f"{name}: {peer.url} (ready in {time.monotonic() - began:.1f}s)", flush=True)
    (directory / "peers.env").write_text("\n".join(lines) + "\n")


def _stop_all(directory: Path) -> None:
    try:
        pids = json.loads((directory / "pids.json").read_text())
    except OSError:
        return
    for name, entry in pids.items():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(entry["pid"], signal.SIGTERM)
        for database in entry["cleanup"]:
            try:
                _postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            except PeerUnavailable as exc:
                print(f"{name}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: python -m tests.support.peer_processes start|stop DIR")
    (_start_all if sys.argv[1] == "start" else _stop_all)(Path(sys.argv[2]))
