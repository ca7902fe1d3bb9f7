"""The catalog (bot/core/catalog.py) and its YAML loader (bot/app/catalog_file.py)."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.app.catalog_file import CatalogError, CatalogProblem, load_catalog, parse_catalog
from bot.core.catalog import (
    Backend,
    Catalog,
    CatalogReferenceError,
    Role,
    StrategyName,
)
from bot.core.catalog_lint import policy_problems

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "bot" / "app" / "releasebot.example.yaml"

GOOD: dict[str, Any] = {
    "version": 1,
    "environments": {
        "staging": {"order": 1, "aliases": ["Stage", "stg"]},
        "production": {"order": 2, "aliases": ["prod", "live"], "approvals": 1, "production": True},
        "dev": {"order": 0},
    },
    "roles": {
        "deployer": ["U0ALICE", "U0BOB"],
        "approver": ["U0BOB", "W0FRANK"],
        "oncall": ["U0CAROL"],
        "admin": ["U0DAVE"],
        "auditor": ["U0ERIN"],
    },
    "backends": {
        "simulated": {"type": "simulated"},
        "github": {"type": "github", "settings": {"token_env": "GITHUB_TOKEN", "owner": "acme"}},
    },
    "services": {
        "checkout": {
            "repository": "acme/checkout",
            "environments": ["staging", "production"],
            "default_environment": "production",
            "canary": {"steps": [5, 50, 100], "bake": "2m"},
            "blue-green": {"verify": "30s", "keep_blue": "1h"},
            "rolling": {"batches": 4, "bake": 90},
            "feature-flag": {"steps": [10, 100], "bake": "1m30s"},
            "analysis": {
                "interval": "15s",
                "failure_limit": 1,
                "metrics": [{"name": "error_rate", "max": 0.01}],
            },
            "backends": {"ci": "github"},
        },
        "payments": {
            "repository": "acme/payments",
            "environments": ["staging", "production"],
            "default_strategy": "blue-green",
        },
    },
}


def catalog_with(**changes: Any) -> dict[str, Any]:
    """GOOD with dotted-path changes: catalog_with(**{"services.checkout.repository": "x"})."""
    data = copy.deepcopy(GOOD)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    return data


def reference_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        Catalog.model_validate(data)
    causes = [(e.get("ctx") or {}).get("error") for e in caught.value.errors()]
    refs = [c for c in causes if isinstance(c, CatalogReferenceError)]
    assert refs, caught.value
    return refs[0].problems


def error_text(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Catalog.model_validate(data)
    return str(caught.value)


def test_good_catalog():
    catalog = Catalog.model_validate(GOOD)
    checkout = catalog.services["checkout"]
    assert checkout.name == "checkout"  # names come from the mapping keys
    assert catalog.environments["staging"].aliases == ("stage", "stg")  # lower-cased
    assert checkout.canary.bake == 120 and checkout.canary.steps == (5, 50, 100)
    assert (checkout.blue_green.verify, checkout.blue_green.keep_blue) == (30, 3600)
    assert checkout.rolling.batches == 4 and checkout.rolling.bake == 90
    assert checkout.feature_flag.bake == 90
    assert checkout.analysis.interval == 15 and checkout.analysis.failure_limit == 1
    assert checkout.backends.ci == "github" and checkout.backends.deployer == "simulated"
    assert checkout.first_environment == "production"
    payments = catalog.services["payments"]
    assert payments.default_strategy is StrategyName.BLUE_GREEN
    assert payments.first_environment == "staging"
    assert payments.canary.steps == (10, 50, 100)  # defaults
    assert catalog.reference_problems() == []


def test_lookups():
    catalog = Catalog.model_validate(GOOD)
    assert catalog.roles_of("U0BOB") == {Role.DEPLOYER, Role.APPROVER}
    assert catalog.roles_of("W0FRANK") == {Role.APPROVER}
    assert catalog.roles_of("U0NOBODY") == frozenset()
    assert catalog.users_with(Role.APPROVER) == ("U0BOB", "W0FRANK")
    assert Catalog.model_validate({**GOOD, "roles": {}}).users_with(Role.ADMIN) == ()
    for word, name in [
        ("production", "production"),
        ("PROD", "production"),
        ("live", "production"),
        ("stage", "staging"),
        ("STG", "staging"),
        ("dev", "dev"),
    ]:
        env = catalog.environment(word)
        assert env is not None and env.name == name, word
    assert catalog.environment("mars") is None
    assert catalog.service("CHECKOUT") is catalog.services["checkout"]
    assert catalog.service("nope") is None
    assert [e.name for e in catalog.ordered_environments()] == ["dev", "staging", "production"]


def test_unknown_environment():
    data = catalog_with(**{"services.checkout.environments": ["staging", "production", "prd"]})
    assert reference_problems(data) == [
        (
            ("services", "checkout", "environments", 2),
            "unknown environment 'prd' (declared: staging, production, dev)",
        )
    ]


def test_unknown_backend():
    data = catalog_with(**{"services.checkout.backends": {"monitor": "prometheus"}})
    assert reference_problems(data) == [
        (
            ("services", "checkout", "backends", "monitor"),
            "backend 'prometheus' is not declared under backends (declared: simulated, github)",
        )
    ]


def test_declaring_backends_drops_the_implicit_simulated_one():
    data = catalog_with(backends={"github": {"type": "github"}})
    problems = reference_problems(data)
    assert {loc[-1] for loc, _ in problems} == {"ci", "deployer", "monitor", "flags"}
    assert all("'simulated' is not declared" in message for _, message in problems)


def test_duplicate_alias():
    data = catalog_with(**{"environments.staging.aliases": ["stage", "live"]})
    assert reference_problems(data) == [
        (
            ("environments", "production", "aliases"),
            "alias 'live' names both 'staging' and 'production'",
        )
    ]


def test_alias_that_is_another_environments_name():
    data = catalog_with(**{"environments.staging.aliases": ["production"]})
    problems = reference_problems(data)
    assert problems == [
        (
            ("environments", "production", "aliases"),
            "alias 'production' names both 'staging' and 'production'",
        )
    ]


def test_default_environment_not_listed():
    data = catalog_with(**{"services.checkout.default_environment": "dev"})
    assert reference_problems(data) == [
        (
            ("services", "checkout", "default_environment"),
            "'dev' is not one of the service's environments",
        )
    ]


def test_name_that_disagrees_with_its_key():
    data = catalog_with(**{"environments.dev.name": "develop"})
    assert reference_problems(data) == [
        (("environments", "dev", "name"), "'dev' has name 'develop': leave the name out")
    ]


def test_service_without_environments():
    data = catalog_with(**{"services.payments.environments": []})
    assert reference_problems(data) == [
        (("services", "payments", "environments"), "needs at least one environment")
    ]


def test_several_reference_problems_are_reported_together():
    data = catalog_with(
        **{
            "services.checkout.environments": ["mars", "production"],
            "services.payments.backends": {"ci": "jenkins"},
        }
    )
    locations = [loc for loc, _ in reference_problems(data)]
    assert locations == [
        ("services", "checkout", "environments", 0),
        ("services", "payments", "backends", "ci"),
    ]


# Policy references: grants, freezes, environment order and approval overrides.

WEEKEND = {"name": "weekend", "weekly": {"start": "fri 16:00", "end": "mon 08:00"}}


def test_good_policies():
    data = catalog_with(
        grants=[
            {"role": "deployer", "users": ["U0ALICE"], "environments": ["staging"]},
            {"role": "rollback-only", "groups": ["S0ONCALL"], "services": ["checkout"]},
        ],
        freezes=[{**WEEKEND, "environments": ["production"], "timezone": "Europe/Berlin"}],
        **{
            "environments.production.requires": "staging",
            "environments.staging.approval": {"auto_when_ci_green": True},
            "services.checkout.approvals": {"production": {"required": 2}},
        },
    )
    catalog = Catalog.model_validate(data)
    assert catalog.reference_problems() == []
    assert catalog.environments["production"].requires == "staging"
    assert [grant.role for grant in catalog.all_grants()][-2:] == [
        Role.DEPLOYER,
        Role.ROLLBACK_ONLY,
    ]
    # The service's override wins for that service; others keep the environment's policy.
    assert catalog.approval_policy("checkout", "production").required == 2
    assert catalog.approval_policy("payments", "production").required == 1
    assert catalog.approval_policy("checkout", "staging").auto_when_ci_green


def test_grants_naming_unknown_services_and_environments():
    data = catalog_with(
        grants=[
            {"role": "approver", "users": ["U0BOB"]},
            {
                "role": "deployer",
                "users": ["U0ALICE"],
                "services": ["checkout", "billing"],
                "environments": ["prod"],  # an alias is not an environment's name
            },
        ]
    )
    assert reference_problems(data) == [
        (("grants", 1, "services", 1), "unknown service 'billing' (declared: checkout, payments)"),
        (
            ("grants", 1, "environments", 0),
            "unknown environment 'prod' (declared: dev, production, staging)",
        ),
    ]


def test_freezes_naming_unknown_services_and_environments():
    data = catalog_with(freezes=[{**WEEKEND, "services": ["search"], "environments": ["qa"]}])
    assert reference_problems(data) == [
        (("freezes", 0, "services", 0), "unknown service 'search' (declared: checkout, payments)"),
        (
            ("freezes", 0, "environments", 0),
            "unknown environment 'qa' (declared: dev, production, staging)",
        ),
    ]


def test_requires_an_unknown_environment():
    data = catalog_with(**{"environments.production.requires": "qa"})
    assert reference_problems(data) == [
        (
            ("environments", "production", "requires"),
            "unknown environment 'qa' (declared: dev, production, staging)",
        )
    ]


@pytest.mark.parametrize(
    ("env", "requires"), [("staging", "production"), ("staging", "staging"), ("dev", "staging")]
)
def test_requires_an_environment_that_does_not_come_before(env: str, requires: str):
    data = catalog_with(**{f"environments.{env}.requires": requires})
    assert reference_problems(data) == [
        (
            ("environments", env, "requires"),
            f"{requires!r} must come before {env!r} (order)",
        )
    ]


def test_service_approvals_for_an_environment_it_does_not_deploy_to():
    data = catalog_with(
        **{"services.payments.approvals": {"production": {"required": 1}, "dev": {"required": 1}}}
    )
    assert reference_problems(data) == [
        (("services", "payments", "approvals", "dev"), "payments is not deployed to 'dev'")
    ]


def test_approvals_and_approval_required_must_agree():
    text = error_text(
        catalog_with(**{"environments.production.approval": {"required": 2}})  # approvals: 1
    )
    assert "approvals: 1 and approval.required: 2 disagree; keep one" in text
    agreeing = catalog_with(**{"environments.production.approval": {"required": 1}})
    assert Catalog.model_validate(agreeing).approval_policy("checkout", "production").required == 1
    only_policy = catalog_with(**{"environments.staging.approval": {"required": 2}})
    assert Catalog.model_validate(only_policy).environments["staging"].approval_policy.required == 2


def test_yaml_requires_points_at_its_line():
    text = YAML.replace("    approvals: 1\n", "    approvals: 1\n    requires: qa\n")
    [problem] = problems_for(text)
    assert problem.path == "environments.production.requires"
    assert problem.line == lines_of(text)["requires: qa"]
    assert problem.message == "unknown environment 'qa' (declared: production, staging)"


@pytest.mark.parametrize(
    "settings",
    [
        {"token": "abc"},
        {"api_token": "ghp_123"},
        {"password": "hunter2"},
        {"client_secret": "s3cr3t"},
        {"apikey": "k-1234567"},
        {"API_KEY": "k-7654321"},
        {"private_key": "-----BEGIN"},
    ],
)
def test_inline_secret_refused(settings: dict[str, str]):
    data = catalog_with(**{"backends.github.settings": settings})
    text = error_text(data)
    key = next(iter(settings))
    assert "looks like a secret" in text and f"{key}_env" in text
    assert next(iter(settings.values())) not in text.split("input_value")[0]


@pytest.mark.parametrize(
    "settings",
    [
        {"token_env": "GITHUB_TOKEN"},
        {"token_file": "/run/secrets/github"},
        {"password_env": "DB_PASSWORD"},
        {"token": ""},
        {"token": None},
        {"url": "https://api.github.com", "owner": "acme"},
    ],
)
def test_secret_references_are_fine(settings: dict[str, Any]):
    catalog = Catalog.model_validate(catalog_with(**{"backends.github.settings": settings}))
    assert catalog.backends["github"].settings == settings


@pytest.mark.parametrize(
    "user", ["alice", "u0alice", "U1", "<@U0ALICE>", "U0 ALICE", "C0CHANNEL", ""]
)
def test_bad_user_ids(user: str):
    text = error_text(catalog_with(**{"roles.deployer": ["U0ALICE", user]}))
    assert "is not a Slack user ID like U0ALICE" in text
    assert "deployer" in text


def test_unknown_role():
    text = error_text(catalog_with(roles={"superuser": ["U0ALICE"]}))
    assert "superuser" in text


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "needs at least one step"),
        ([50, 10, 100], "steps must be strictly ascending"),
        ([10, 10, 100], "steps must be strictly ascending"),
        ([10, 50], "the last step must be 100"),
        ([0, 100], "each step is a percentage between 1 and 100"),
        ([10, 150], "each step is a percentage between 1 and 100"),
    ],
)
@pytest.mark.parametrize("plan", ["canary", "feature-flag"])
def test_bad_steps(plan: str, steps: list[int], message: str):
    text = error_text(catalog_with(**{f"services.checkout.{plan}": {"steps": steps}}))
    assert message in text


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("services.checkout.canary", {"bake": "5 minutes"}, "is not a duration"),
        ("services.checkout.canary", {"bake": -1}, "greater than or equal to 0"),
        ("services.checkout.rolling", {"batches": 0}, "greater than or equal to 1"),
        ("services.checkout.rolling", {"batches": 21}, "less than or equal to 20"),
        ("environments.production.approvals", 11, "less than or equal to 10"),
        ("services.checkout.repository", "checkout", "should match pattern"),
        ("services.checkout.default_strategy", "big-bang", "canary"),
        (
            "services.checkout.analysis",
            {"metrics": [{"name": "error_rate"}]},
            "needs a threshold: max or min",
        ),
        ("services.checkout.canery", {"steps": [100]}, "Extra inputs are not permitted"),
        ("version", 2, "Input should be 1"),
    ],
)
def test_field_problems(path: str, value: Any, message: str):
    assert message in error_text(catalog_with(**{path: value}))


def test_bad_environment_name_from_key():
    data = copy.deepcopy(GOOD)
    data["environments"]["Prod_EU"] = {}
    assert "should match pattern" in error_text(data)


# Loading from YAML: problems name the dotted path and the line.

YAML = textwrap.dedent(
    """\
    version: 1
    environments:
      staging:
        aliases: [stage]
      production:
        aliases: [prod]
        approvals: 1
    roles:
      deployer: [U0ALICE]
    backends:
      simulated:
        type: simulated
    services:
      checkout:
        repository: acme/checkout
        environments:
          - staging
          - production
        canary:
          steps: [10, 50, 100]
          bake: 5m
    """
)


def lines_of(text: str) -> dict[str, int]:
    return {line.strip(): number for number, line in enumerate(text.splitlines(), start=1)}


def problems_for(text: str) -> list[CatalogProblem]:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "catalog.yaml")
    error = caught.value
    assert error.source == "catalog.yaml"
    report = error.report()
    count = len(error.problems)
    assert report.startswith(f"catalog.yaml: {count} problem{'' if count == 1 else 's'}\n")
    for problem in error.problems:
        assert f"catalog.yaml:{problem.line or '?'}: {problem.path or '(top level)'}" in report
    return error.problems


def test_the_yaml_fixture_is_valid():
    catalog = parse_catalog(YAML)
    assert catalog.services["checkout"].canary.bake == 300


def test_yaml_unknown_environment_in_a_block_list():
    text = YAML.replace("- production", "- prodution")
    [problem] = problems_for(text)
    assert problem.path == "services.checkout.environments.1"
    assert problem.line == lines_of(text)["- prodution"] == 18
    assert "unknown environment 'prodution'" in problem.message
    assert str(problem).startswith("line 18: services.checkout.environments.1: unknown")


def test_yaml_misspelt_field():
    text = YAML.replace("canary:", "canery:")
    [problem] = problems_for(text)
    assert problem.path == "services.checkout.canery"
    assert problem.line == lines_of(text)["canery:"] == 19
    assert problem.message == "unknown field (check its spelling and indentation)"


def test_yaml_bad_steps_and_bad_duration_are_both_reported():
    text = YAML.replace("[10, 50, 100]", "[50, 10, 100]").replace("bake: 5m", "bake: 5 minutes")
    problems = problems_for(text)
    assert [(p.path, p.line) for p in problems] == [
        ("services.checkout.canary.steps", 20),
        ("services.checkout.canary.bake", 21),
    ]
    assert problems[0].message == "steps must be strictly ascending"
    assert "'5 minutes' is not a duration" in problems[1].message


def test_yaml_inline_secret_points_at_the_settings():
    text = YAML.replace(
        "    type: simulated\n",
        "    type: simulated\n    settings:\n      token: xoxb-123\n",
    )
    [problem] = problems_for(text)
    assert problem.path == "backends.simulated.settings"
    assert problem.line == lines_of(text)["settings:"] == 13
    assert "'token' looks like a secret" in problem.message
    assert "xoxb-123" not in problem.message


def test_yaml_duplicate_alias_and_default_environment():
    text = YAML.replace("aliases: [prod]", "aliases: [prod, stage]").replace(
        "    repository: acme/checkout\n",
        "    repository: acme/checkout\n    default_environment: dev\n",
    )
    problems = problems_for(text)
    assert [(p.path, p.line) for p in problems] == [
        ("environments.production.aliases", 6),
        ("services.checkout.default_environment", 16),
    ]


def test_yaml_bad_user_id_points_at_roles():
    text = YAML.replace("deployer: [U0ALICE]", "deployer: [alice]")
    [problem] = problems_for(text)
    assert problem.path == "roles"
    assert problem.line == 8
    assert "'alice' is not a Slack user ID" in problem.message


def test_yaml_unknown_role_points_at_the_role():
    text = YAML.replace("deployer: [U0ALICE]", "superuser: [U0ALICE]")
    [problem] = problems_for(text)
    assert problem.path.startswith("roles.superuser")
    assert problem.line == 9


def test_yaml_syntax_error_has_its_line():
    text = YAML.replace("aliases: [prod]", "aliases: [prod")
    [problem] = problems_for(text)
    assert problem.message.startswith("not valid YAML")
    assert problem.line is not None and 6 <= problem.line <= 7


def test_yaml_that_is_not_a_mapping():
    for text in ("- a\n- b\n", "just words\n", ""):
        [problem] = problems_for(text)
        assert problem == CatalogProblem("", 1, "the catalog must be a mapping")


def test_yaml_missing_required_section():
    [problem] = problems_for("version: 1\nenvironments: {}\n")
    assert problem.path == "services" and problem.message == "Field required"


def test_load_missing_file(tmp_path: Path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "nope.yaml")
    assert caught.value.problems == [CatalogProblem("", None, "file not found")]


def test_example_manifest_loads():
    catalog = load_catalog(EXAMPLE)
    assert set(catalog.services) == {"checkout", "payments", "search", "web"}
    assert [e.name for e in catalog.ordered_environments()] == ["staging", "production"]
    production = catalog.environment("prod")
    assert production is not None and production.production
    assert catalog.approval_policy("checkout", "production").required == 1
    # `serve` refuses to start on a policy error: the example must not have one.
    assert [p for p in policy_problems(catalog) if p.severity == "error"] == []
    assert catalog.roles_of("U0BOB") == {Role.DEPLOYER, Role.APPROVER}
    assert catalog.services["search"].backends.monitor == "simulated-bad-canary"
    assert catalog.services["web"].default_strategy is StrategyName.FEATURE_FLAG
    for backend in catalog.backends.values():
        assert not any(
            "token" in key and not key.endswith(("_env", "_file")) for key in backend.settings
        )


def test_secrets_nested_in_backend_settings_are_refused_too():
    with pytest.raises(ValidationError, match=r"'auth.token' looks like a secret"):
        Backend(type="github", settings={"auth": {"token": "ghp_abc"}})
    with pytest.raises(ValidationError, match=r"'hooks\[0\].secret' looks like a secret"):
        Backend(type="webhook", settings={"hooks": [{"secret": "s3cr3t"}]})
    Backend(type="github", settings={"auth": {"token_env": "GITHUB_TOKEN"}})


def test_ci_identities_map_to_slack_users():
    catalog = Catalog.model_validate(
        {
            **GOOD,
            "identities": {"U0BOB": ["bob-gh", "Bob@Acme.test"], "U0FRANK": ["frank"]},
        }
    )
    assert catalog.slack_users(("bob@acme.test", "unknown", "U0ALICE")) == ("U0ALICE", "U0BOB")
    assert catalog.slack_users(()) == ()
    with pytest.raises(ValidationError, match="'bob' is not a Slack user ID"):
        Catalog.model_validate({**GOOD, "identities": {"bob": ["bob-gh"]}})


NIGHTLY = [{"days": "mon-thu", "start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"}]


def test_deploy_windows_come_from_the_environment_unless_the_service_names_its_own():
    data = catalog_with(
        **{
            "environments.production.windows": NIGHTLY,
            "environments.production.when_window_closes": "pause",
            "services.payments.windows": {"production": []},
        }
    )
    catalog = Catalog.model_validate(data)
    checkout = catalog.deploy_windows("checkout", "production")
    assert [w.describe() for w in checkout.windows] == ["mon-thu 22:00-06:00 Europe/Berlin"]
    assert checkout.when_closed == "pause"
    assert catalog.deploy_windows("payments", "production").always_open
    assert catalog.deploy_windows("checkout", "staging").always_open


def test_a_service_window_for_an_environment_it_is_not_deployed_to_is_refused():
    data = catalog_with(**{"services.payments.windows": {"dev": NIGHTLY}})
    assert reference_problems(data) == [
        (("services", "payments", "windows", "dev"), "payments is not deployed to 'dev'")
    ]


GATES = {
    "tests": {"min_pass_rate": 0.9},
    "vulnerabilities": {"max": {"critical": 0, "high": 5}},
    "coverage": {"min": 0.8},
}


def test_quality_gates_come_from_the_environment_unless_the_service_names_its_own():
    data = catalog_with(
        **{
            "environments.staging.gates": GATES,
            "backends.reports": {"type": "reports", "settings": {}},
            "services.checkout.backends": {"ci": "github", "reports": "reports"},
            "services.payments.backends": {"reports": "reports"},
            "services.payments.gates": {"staging": {"coverage": {"min": 0.5}}},
        }
    )
    catalog = Catalog.model_validate(data)
    assert catalog.gates("checkout", "staging").tests.min_pass_rate == 0.9
    assert catalog.gates("payments", "staging").tests is None
    assert catalog.gates("payments", "staging").coverage.min == 0.5
    assert catalog.gates("checkout", "production").none


def test_gates_need_a_backend_that_finds_the_reports():
    data = catalog_with(**{"environments.staging.gates": GATES})
    problems = reference_problems(data)
    assert (
        ("services", "checkout", "backends", "reports"),
        "gates in staging need a backend that finds the reports (backends.reports)",
    ) in problems


@pytest.mark.parametrize(
    ("gates", "problem"),
    [
        ({"tests": {"min_pass_rate": 1.5}}, "less than or equal to 1"),
        ({"vulnerabilities": {"max": {"severe": 0}}}, "unknown severity 'severe'"),
        ({"coverage": {"minimum": 0.8}}, "Extra inputs are not permitted"),
    ],
)
def test_gates_that_cannot_work_say_why(gates: dict, problem: str):
    with pytest.raises(ValidationError, match=problem):
        Catalog.model_validate(catalog_with(**{"environments.staging.gates": gates}))
