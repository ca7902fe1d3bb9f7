"""`releasebot bench-start`: how long the command takes to start, beside what Python and a
bare Slack app take (a benchmark that prints figures, not a test).

Every figure is the median wall time of fresh processes, as an operator or Kubernetes sees
them: `releasebot --help` beside `python -c pass`; `releasebot config check` of a generated
catalog (the example's four services repeated to the size asked for); `releasebot serve`
(SQLite, the embedded Slack stand-in) until /healthz answers, beside a bare slack-bolt
AsyncApp served by aiohttp until it answers.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXAMPLE_CATALOG = Path(__file__).resolve().parents[1] / "app" / "releasebot.example.yaml"

# A Slack app with nothing of releasebot: the floor for "serve until it answers".
BARE_BOLT_APP = """
import sys
from aiohttp import web
from slack_bolt.async_app import AsyncApp

bolt = AsyncApp(token="xoxb-bench", signing_secret="bench-secret")
app = bolt.web_app()

async def healthz(request):
    return web.json_response({"ok": True})

app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@dataclass(frozen=True)
class Figure:
    """Wall time of each run, and the CPU time the process used (steadier than wall time on a
    busy machine; None where it cannot be read)."""

    label: str
    runs: list[tuple[float, float | None]]
    baseline: bool = False

    @property
    def seconds(self) -> list[float]:
        return [wall for wall, _ in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float | None:
        cpu = [used for _, used in self.runs if used is not None]
        return statistics.median(cpu) if cpu else None


@dataclass(frozen=True)
class StartResult:
    runs: int
    services: int
    figures: list[Figure]
    releasebot: str

    def report(self) -> str:
        width = max(len(figure.label) for figure in self.figures)
        lines = [
            f"start-up, wall time: median of {self.runs} runs (min-max), and the median CPU "
            f"time used; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{self.releasebot}:"
        ]
        for figure in self.figures:
            cpu = figure.cpu_median
            lines.append(
                f"  {figure.label:<{width}}  {figure.median:6.3f} s  "
                f"({min(figure.seconds):.3f}-{max(figure.seconds):.3f})"
                + (f"  CPU {cpu:.3f} s" if cpu is not None else "")
                + ("  baseline" if figure.baseline else "")
            )
        return "\n".join(lines)


def run_start_bench(runs: int, services: int, releasebot_script: str | None = None) -> StartResult:
    """`releasebot_script`: another installation's `releasebot` (e.g. a checkout of main, to
    compare); by default the one beside this Python."""
    releasebot = [releasebot_script] if releasebot_script else _releasebot_command()
    env = _clean_environment()
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-start-") as directory:
        workdir = Path(directory)
        catalog = workdir / "catalog.yaml"
        catalog.write_text(generated_catalog(services))
        database = f"sqlite:///{workdir / 'bot.db'}"
        example = ["--catalog", str(EXAMPLE_CATALOG)]
        figures = [
            Figure("python -c pass", _times(runs, [sys.executable, "-c", "pass"], env), True),
            Figure("releasebot --help", _times(runs, [*releasebot, "--help"], env)),
            Figure(
                f"releasebot config check ({services:,} services)",
                _times(runs, [*releasebot, "config", "check", str(catalog)], env),
            ),
            Figure(
                "slack-bolt AsyncApp on aiohttp until it answers",
                _until_answered(
                    runs, lambda port: [sys.executable, "-c", BARE_BOLT_APP, str(port)], env
                ),
                True,
            ),
            Figure(
                "releasebot serve until /healthz answers",
                _until_answered(
                    runs,
                    lambda port: [*releasebot, "serve", "--port", str(port), *example],
                    {**env, "DATABASE_URL": database},
                    warm_up=True,  # the first start creates the schema
                ),
            ),
        ]
    return StartResult(runs, services, figures, " ".join(releasebot))


def generated_catalog(services: int) -> str:
    """The example catalog with its services repeated: checkout-0000, payments-0001, ...
    (each written out in full, not as YAML aliases)."""
    import copy

    import yaml

    data = yaml.safe_load(EXAMPLE_CATALOG.read_text())
    examples = list(data["services"].items())
    data["services"] = {
        f"{name}-{n:04d}": copy.deepcopy(body)
        for n in range(services)
        for name, body in [examples[n % len(examples)]]
    }
    return yaml.safe_dump(data, sort_keys=False)


def _releasebot_command() -> list[str]:
    """The installed `releasebot` script beside this Python, as an operator runs it."""
    script = Path(sys.executable).parent / "releasebot"
    if script.exists():
        return [str(script)]
    found = shutil.which("releasebot")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def _clean_environment() -> dict[str, str]:
    """Without Slack tokens or releasebot settings: the local mode, the defaults."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "RELEASEBOT_")) and key not in ("DATABASE_URL", "PORT")
    }


def _times(runs: int, command: list[str], env: dict[str, str]) -> list[tuple[float, float | None]]:
    _run(command, env)  # warm the file cache and the compiled modules
    found = []
    for _ in range(runs):
        cpu_before = _children_cpu()
        began = time.perf_counter()
        _run(command, env)
        found.append((time.perf_counter() - began, _children_cpu() - cpu_before))
    return found


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")


def _until_answered(
    runs: int,
    command: Callable[[int], list[str]],
    env: dict[str, str],
    *,
    warm_up: bool = True,
) -> list[tuple[float, float | None]]:
    found = []
    for attempt in range(runs + (1 if warm_up else 0)):
        port = _free_port()
        began = time.perf_counter()
        with (
            tempfile.TemporaryFile() as log,
            subprocess.Popen(command(port), env=env, stdout=log, stderr=log) as process,
        ):
            try:
                _wait_for(f"http://127.0.0.1:{port}/healthz", process, log)
                elapsed = time.perf_counter() - began
                cpu = _process_cpu(process.pid)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if attempt or not warm_up:
            found.append((elapsed, cpu))
    return found


def _process_cpu(pid: int) -> float | None:
    """CPU seconds a running process has used so far (Linux's /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(url: str, process: subprocess.Popen, log, within_s: float = 60.0) -> None:
    deadline = time.perf_counter() + within_s
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer within {within_s:g} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
