"""`/release export`: an auditor gets the audit trail and its signed manifest in a direct
message; anyone else is refused, and both are in the trail."""

from __future__ import annotations

import csv
import hashlib
import io

from bot.core.audit_manifest import Manifest
from bot.services.audit_signing import HmacSigner
from tests.support.audit import export_rows
from tests.support.harness import BotHarness

KEY = "scenario-audit-key-0123456789"


async def test_an_auditor_receives_the_export_and_its_signed_manifest(
    scenario_bot: BotHarness, monkeypatch
):
    monkeypatch.setenv("RELEASEBOT_AUDIT_HMAC_KEY", KEY)
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.advance(3)
    await scenario_bot.command("U0ERIN", "/release export last 30d staging")
    assert "will arrive in a direct message" in scenario_bot.replies_to("U0ERIN")[-1]

    uploaded = {f.name: f for f in scenario_bot.slack.state.files.values() if f.completed}
    [export_name] = [name for name in uploaded if name.endswith(".csv")]
    export, manifest_file = uploaded[export_name], uploaded[f"{export_name}.manifest.json"]
    dm = scenario_bot.slack.state.channel(export.channels[0])
    assert dm is not None and dm.is_im and "U0ERIN" in dm.members
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert rows and {r["environment"] for r in rows} == {"staging"}
    assert any(r["action"] == "command.deploy" and r["actor_id"] == "U0ALICE" for r in rows)

    manifest = Manifest.from_json(manifest_file.content.decode())
    assert manifest.count == len(rows) and manifest.filters["environment"] == "staging"
    signer = HmacSigner(KEY.encode())
    assert signer.verify(manifest.signed_content(), manifest.signature) is None
    assert hashlib.sha256(export.content).hexdigest() == manifest.file_sha256
    [comment] = [m.text for m in scenario_bot.slack.messages(dm.id) if m.files]
    assert f"Audit export: {len(rows)} events" in comment and "signed" in comment


async def test_an_engineer_may_not_export_and_the_refusal_is_audited(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/release export last 7d")
    assert (
        "Only auditors and admins may export the audit trail."
        in scenario_bot.replies_to("U0ALICE")[-1]
    )
    assert not [f for f in scenario_bot.slack.state.files.values() if f.completed]
    rows = await export_rows(scenario_bot.runtime.db)
    refused = [r for r in rows if r["action"] == "command.export"]
    assert refused and refused[-1]["outcome"] == "refused" and refused[-1]["rule"] == "rbac.export"
