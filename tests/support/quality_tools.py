"""Quality reports made by the real tools over a sample (tests/support/quality_sample):
pytest's --junitxml, coverage.py's `coverage xml`, Bandit's SARIF, and each tool's own JSON
to check them against."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "quality_sample"


def tool(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, timeout=120)
    assert done.returncode in ok, done.stdout.decode() + done.stderr.decode()


def make_reports(work: Path) -> Path:
    """junit.xml, coverage.xml (+ .json) and bandit.sarif (+ .json) in `work`."""
    for name in ("sample_code.py", "sample_suite.py"):
        shutil.copy(SAMPLE / name, work / name)
    tests = ("pytest", "-q", "-p", "no:cacheprovider", "--junitxml=junit.xml", "sample_suite.py")
    tool("coverage", "run", "--source=sample_code", "-m", *tests, cwd=work, ok=(1,))
    tool("coverage", "xml", "-o", "coverage.xml", cwd=work)
    tool("coverage", "json", "-o", "coverage.json", cwd=work)
    tool("bandit", "-q", "-f", "sarif", "-o", "bandit.sarif", "sample_code.py", cwd=work, ok=(1,))
    tool("bandit", "-q", "-f", "json", "-o", "bandit.json", "sample_code.py", cwd=work, ok=(1,))
    return work
