"""The stand-in's JSON APIs (console, control, faults) act as anyone in the workspace: they
answer only loopback clients addressing them by a loopback name and the server's port, from
their own origin, with application/json bodies (issue 12)."""

from __future__ import annotations

import json
from unittest import mock

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from bot.emulator.guard import _problem
from tests.support.browser import (
    TIMEOUT_MS,
    browser,  # noqa: F401 (a fixture)
)
from tests.support.cross_site import other_site

COMMAND = {"user": "U0ALICE", "channel": "C0DEPLOYS", "text": "/deploy checkout"}
CONTROL = {**COMMAND, "command": "/deploy"}
ROUTES = [
    ("console/api/command", COMMAND),
    ("_control/command", CONTROL),
    ("_faults", {"methods": ["chat.update"], "mode": "error5xx", "times": 1}),
]


async def post(url: str, data: bytes, **headers: str) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


@pytest.mark.parametrize(("path", "body"), ROUTES)
async def test_only_json_from_the_console_itself_is_taken(harness, path, body):
    url = f"{harness.base}/{path}"
    raw = json.dumps(body).encode()
    port = harness.origin.rsplit(":", 1)[1]

    status, answer = await post(url, raw, **{"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in answer["error"]
    status, answer = await post(url, raw, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and answer["ok"] is False
    json_from = {"Content-Type": "application/json"}
    status, answer = await post(url, raw, **json_from, Origin="http://127.0.0.1:1")
    assert status == 403 and "http://127.0.0.1:1" in answer["error"]
    status, answer = await post(url, raw, **json_from, Origin="null")
    assert status == 403
    # DNS rebinding: a name of the attacker's that points at 127.0.0.1.
    for host in (f"evil.example:{port}", "127.0.0.1:1", f"127.0.0.1.evil.example:{port}"):
        status, answer = await post(url, raw, **json_from, Host=host)
        assert status == 403 and "Host" in answer["error"], host
    assert harness.bot.received == [] and harness.emu.faults.active() == []

    for own in (harness.origin, None):
        headers = {**json_from, **({"Origin": own} if own else {})}
        status, answer = await post(url, raw, **headers)
        assert status == 200 and answer["ok"] is True, answer
    status, _ = await post(url, raw, **json_from, Host=f"localhost:{port}")
    assert status == 200


def test_a_client_on_another_machine_is_refused():
    def extra(name, default=None):
        return {"peername": ("192.0.2.7", 40000), "sockname": ("0.0.0.0", 3000)}.get(name, default)

    transport = mock.Mock(get_extra_info=extra)
    request = make_mocked_request(
        "POST",
        "/emulator/console/api/command",
        headers={"Host": "127.0.0.1:3000", "Content-Type": "application/json"},
        transport=transport,
    )
    assert _problem(request) == (
        403,
        "the console answers only on this machine (a loopback client)",
    )


ATTACK = """<script>
const api = "{base}/console/api/command";
const body = JSON.stringify({command});
Promise.allSettled([
  fetch(api, {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body}}),
  fetch(api, {{method: "POST", headers: {{"Content-Type": "application/json"}}, body}}),
  fetch("{base}/_control/command",
        {{method: "POST", mode: "no-cors", body: JSON.stringify({control})}}),
]).then(() => {{ document.title = "sent"; }});
</script>"""


@pytest.mark.browser
async def test_a_page_of_another_site_cannot_drive_the_console(harness, browser):  # noqa: F811
    page_html = ATTACK.format(
        base=harness.base, command=json.dumps(COMMAND), control=json.dumps(CONTROL)
    )
    async with other_site({"attack": page_html}) as elsewhere:
        page = await browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{elsewhere}/attack")
        await page.wait_for_function("document.title === 'sent'")
        await page.close()
    assert harness.bot.received == []
