"""The `reports` backend over HTTP and files: a report that is not there is missing (its gate
fails, saying why), a server error is retryable, a misconfigured template is refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.core.clock import ManualClock
from bot.core.ports import IntegrationError, Target
from integrations.base import BackendContext, SettingsProblem
from integrations.reports import build
from tests.support.network import free_port
from tests.support.quality_tools import make_reports

TARGET = Target("checkout", "staging", "acme/checkout")
CONTEXT = BackendContext(clock=ManualClock(), env={"TOKEN": "s3cret"})


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """Serves tmp_path/<repository>/<version>/<file>; /broken/ answers 503."""
    seen: list[web.Request] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        if request.path.startswith("/broken/"):
            return web.Response(status=503, text="<html>down</html>")
        path = tmp_path / request.path.lstrip("/")
        return web.FileResponse(path) if path.is_file() else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_a_report_that_is_not_there_is_missing_with_why(server):
    base, seen = server
    reports = build(
        {"junit": base + "/{repository}/{version}/junit.xml", "token_env": "TOKEN"}, CONTEXT
    )
    try:
        found = await reports.reports(TARGET, "v1.4.3")
    finally:
        await reports.close()
    assert found.tests is None
    assert found.missing == {"tests": f"GET {base}/acme%2Fcheckout/v1.4.3/junit.xml answered 404"}
    assert seen[0].headers["Authorization"] == "Bearer s3cret"


async def test_a_server_error_is_retryable(server):
    base, _ = server
    reports = build({"sarif": base + "/broken/{version}.sarif"}, CONTEXT)
    try:
        with pytest.raises(IntegrationError) as raised:
            await reports.reports(TARGET, "v1")
    finally:
        await reports.close()
    assert raised.value.retryable and "503" in str(raised.value)


@pytest.mark.slow  # makes the reports with the tools
async def test_reports_the_tools_wrote_are_read_over_http_and_from_files(server, tmp_path):
    base, _ = server
    folder = tmp_path / "acme" / "checkout" / "v1.4.3"  # the server decodes %2F
    folder.mkdir(parents=True)
    make_reports(folder)
    templates = {
        "junit": base + "/{repository}/{version}/junit.xml",
        "sarif": base + "/{repository}/{version}/bandit.sarif",
        "cobertura": f"file://{tmp_path}/{{repository}}/{{version}}/coverage.xml",
    }
    reports = build(templates, CONTEXT)
    try:
        found = await reports.reports(TARGET, "v1.4.3")
    finally:
        await reports.close()
    assert found.missing is None
    assert found.tests.total == 4 and found.vulnerabilities.count("high") == 1
    assert 0 < found.coverage.line_rate < 1


async def test_a_file_template_finds_the_repository_as_folders(tmp_path):
    reports = build({"junit": f"file://{tmp_path}/{{repository}}/{{version}}/junit.xml"}, CONTEXT)
    found = await reports.reports(TARGET, "v1.4.3")
    assert found.missing == {
        "tests": f"{tmp_path}/acme/checkout/v1.4.3/junit.xml: No such file or directory"
    }


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({}, "needs at least one of junit, sarif, cobertura"),
        ({"junit": "ftp://x/{version}"}, "http(s):// or file:// URL template"),
        ({"junit": "https://x/{branch}"}, "unknown placeholder 'branch'"),
        ({"junit": "https://x/", "jnuit": "https://y/"}, "unknown reports setting(s): jnuit"),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict, problem: str):
    with pytest.raises(SettingsProblem, match=re.escape(problem)):
        build(settings, CONTEXT)
