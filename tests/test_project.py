"""The project's own promises: packaging, the README's two commands, CI, manifests."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quick_start)


def test_readme_quick_start_has_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    run, test = commands
    assert run.endswith("releasebot serve")
    assert "pytest" in test and "'.[test]'" in test


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    last_command = [line for line in ci if line.strip() and not line.startswith("#")][-1]
    assert last_command == readme_commands()[1]


def test_every_package_is_listed_for_the_wheel():
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(path.parent.relative_to(REPO).parts)
        for root in ("bot", "integrations")
        for path in (REPO / root).rglob("__init__.py")
    }
    on_disk |= {"bot.migrations", "bot.migrations.versions"}
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"


def test_slack_manifest_declares_the_commands_interactivity_and_scopes():
    manifest = yaml.safe_load((REPO / "manifests" / "slack-app.yaml").read_text())
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/deploy", "/rollback", "/release"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "socket_mode_enabled" in manifest["settings"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:history",
        "groups:history",
        "im:write",
        "files:write",
        "usergroups:read",
    }, "ask for what the bot uses, no more"
    assert set(manifest["oauth_config"]["scopes"]["user"]) == {"openid", "profile", "email"}
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://releasebot.example.com/signin/slack/callback"
    ]
    for command in manifest["features"]["slash_commands"]:
        assert command["url"].endswith("/slack/events")


def test_dockerfile_is_slim_non_root_with_a_healthcheck():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile


def test_the_image_passes_sigterm_on_and_kubernetes_waits_long_enough():
    """PID 1 in a container gets no default signal handling: tini passes SIGTERM to
    releasebot, whose graceful stop (preStop pause + acks + engine grace) fits the period."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["/usr/bin/tini", "--", "releasebot"\]$', dockerfile, re.M)
    assert "install -y --no-install-recommends tini" in dockerfile
    deployment = yaml.safe_load((REPO / "manifests" / "kubernetes" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    pre_stop = int(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][1])
    from bot.app.serving import ACK_GRACE_S
    from bot.app.settings import Settings

    stopping = pre_stop + ACK_GRACE_S + Settings().shutdown_grace_s
    assert stopping < pod["terminationGracePeriodSeconds"]


def test_kubernetes_manifests_parse_and_probe_the_right_paths():
    for name, role in (("deployment.yaml", "web"), ("engine-deployment.yaml", "engine")):
        deployment = yaml.safe_load((REPO / "manifests" / "kubernetes" / name).read_text())
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert not any("value" in env and "xox" in str(env["value"]) for env in container["env"])
        assert {"name": "RELEASEBOT_ROLE", "value": role} in container["env"]
        assert pod["metadata"]["labels"]["tier"] == role
    service = yaml.safe_load((REPO / "manifests" / "kubernetes" / "service.yaml").read_text())
    assert service["spec"]["selector"] == {"app": "releasebot", "tier": "web"}, "Slack -> web"


def test_the_policies_example_in_the_readme_is_a_valid_catalog(tmp_path):
    from bot.app.catalog_file import parse_catalog

    text = (REPO / "README.md").read_text().split("## Policies", 1)[1]
    snippet = re.search(r"```yaml\n(.+?)\n```", text, re.S).group(1)
    snippet += (
        "\nservices:\n"
        "  checkout: {repository: acme/checkout, environments: [staging, production]}\n"
    )
    catalog = parse_catalog(snippet, "README.md")
    assert catalog.environments["production"].requires == "staging"
    assert {window.name for window in catalog.freezes} == {"holidays", "weekend"}


def test_readme_documents_every_backend_type_and_its_catalog_block():
    from bot.core.catalog import Service
    from integrations.registry import BACKEND_TYPES

    text = (REPO / "README.md").read_text().split("## Integrations", 1)[1].split("\n## ", 1)[0]
    for kind in BACKEND_TYPES:
        assert f"| `{kind}` |" in text, f"README's Integrations table lacks {kind}"
    snippet = re.search(r"```yaml\n(.+?)\n```", text, re.S).group(1)
    service = yaml.safe_load(snippet)["services"]["checkout"]
    parsed = Service.model_validate({"name": "checkout", **service})
    assert parsed.analysis.count == 5 and "{{window}}" in parsed.analysis.metrics[1].query


def test_readme_dora_bands_parse_in_a_catalog():
    from bot.core.catalog import DoraSettings

    text = (REPO / "README.md").read_text().split("## DORA metrics", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```yaml\n(.+?)\n```", text, re.S).group(1)
    settings = DoraSettings.model_validate(yaml.safe_load(snippet)["dora"])
    assert settings.bands.restore_hours == (1, 24, 168)


def test_test_modules_have_unique_basenames():
    """pytest imports test modules by basename (the folders are no packages): two of one name
    stop the whole run at collection."""
    names = [p.name for p in (REPO / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_the_scheduling_example_in_the_readme_is_a_valid_catalog():
    from datetime import UTC, datetime

    from bot.app.catalog_file import parse_catalog

    text = (REPO / "README.md").read_text().split("## Scheduling and windows", 1)[1]
    snippet = re.search(r"```yaml\n(.+?)\n```", text, re.S).group(1)
    catalog = parse_catalog(snippet, "README.md")
    production = catalog.deploy_windows("checkout", "production")
    saturday_11_berlin = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert production.open_at(saturday_11_berlin) is not None
    assert catalog.deploy_windows("payments", "production").open_at(saturday_11_berlin) is None
    assert catalog.deploy_windows("checkout", "staging").always_open
    assert production.when_closed == "pause"


def test_the_quality_gates_example_in_the_readme_is_a_valid_catalog():
    from bot.app.catalog_file import parse_catalog

    text = (REPO / "README.md").read_text().split("## Quality gates", 1)[1]
    snippet = re.search(r"```yaml\n(.+?)\n```", text, re.S).group(1)
    catalog = parse_catalog(snippet, "README.md")
    assert catalog.gates("checkout", "staging").tests.min_pass_rate == 0.9
    assert catalog.gates("checkout", "production").coverage.min == 0.8
    assert catalog.services["checkout"].backends.reports == "reports"


def test_the_notify_example_in_the_readme_is_a_valid_catalog():
    from bot.app.catalog_file import parse_catalog

    text = (REPO / "README.md").read_text().split("## Who hears what", 1)[1]
    snippet = re.search(r"```yaml\n(.+?)\n```", text, re.S).group(1)
    catalog = parse_catalog(snippet, "README.md")
    assert catalog.notify_plan("checkout", "staging").announcements() == (
        ("C0RELEASES", ("requested",)),
    )
    assert catalog.notify_plan("checkout", "production").announcements() == (
        ("C0CHECKOUT", ("started", "succeeded", "rolled_back")),
    )
