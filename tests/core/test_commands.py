"""Slash command text -> typed commands (bot/core/commands/): forgiving, and clear when not."""

from __future__ import annotations

import pytest

from bot.core.catalog import Catalog, StrategyName
from bot.core.commands import (
    RELEASE_NUMBER_MAX,
    Command,
    Deploy,
    Dora,
    ExportAudit,
    Help,
    History,
    ListActive,
    ReleaseAction,
    RollbackCommand,
    Status,
    UsageError,
    parse,
    release_number,
)
from bot.core.strategies import StrategyChoice

CATALOG = Catalog.model_validate(
    {
        "environments": {
            "dev": {"order": 0},
            "staging": {"order": 1, "aliases": ["stage", "stg"]},
            "production": {"order": 2, "aliases": ["prod", "live"], "approvals": 1},
        },
        "services": {
            "checkout": {"repository": "acme/checkout", "environments": ["staging", "production"]},
            "payments": {
                "repository": "acme/payments",
                "environments": ["staging", "production"],
                "default_strategy": "blue-green",
            },
            "web": {
                "repository": "acme/web",
                "environments": ["staging", "production"],
                "default_strategy": "feature-flag",
            },
            "reports": {
                "repository": "acme/reports",
                "environments": ["dev"],
                "default_strategy": "rolling",
            },
            "search": {
                "repository": "acme/search",
                "environments": ["staging", "production"],
                "default_environment": "production",
            },
        },
    }
)

CANARY = StrategyName.CANARY
SHA7 = "a1b2c3d"
SHA40 = "0123456789abcdef0123456789abcdef01234567"


def deploy(
    env: str,
    strategy: StrategyName = CANARY,
    version: str | None = None,
    service: str = "checkout",
    **choice: object,
) -> Deploy:
    return Deploy(service, env, StrategyChoice(strategy, **choice), version)  # type: ignore[arg-type]


def run(line: str) -> Command:
    """Parse a whole line as typed in Slack: `/deploy checkout ...`."""
    command, _, text = line.partition(" ")
    return parse(command, text, CATALOG)


GOOD: list[tuple[str, Command]] = [
    # /deploy: case, percent with or without %, environment aliases, any word order
    ("/deploy checkout canary 10% to production", deploy("production", start_percent=10)),
    ("/deploy checkout canary 10 to prod", deploy("production", start_percent=10)),
    ("/DEPLOY Checkout CANARY 10% TO PROD", deploy("production", start_percent=10)),
    ("deploy checkout canary 10% to prod", deploy("production", start_percent=10)),
    ("/deploy checkout to prod canary 10%", deploy("production", start_percent=10)),
    ("/deploy checkout 10% prod canary", deploy("production", start_percent=10)),
    ("/deploy checkout   canary\t10%  live", deploy("production", start_percent=10)),
    ("/deploy checkout in prod", deploy("production")),
    ("/deploy checkout into production", deploy("production")),
    ("/deploy checkout on stg", deploy("staging")),
    ("/deploy checkout env stage", deploy("staging")),
    ("/deploy checkout environment live", deploy("production")),
    ("/deploy checkout", deploy("staging")),
    ("/deploy checkout v2", deploy("staging", version="v2")),
    ("/deploy CHECKOUT 100%", deploy("staging", start_percent=100)),
    ("/deploy checkout 1%", deploy("staging", start_percent=1)),
    ("/deploy search", deploy("production", service="search")),
    # versions
    ("/deploy checkout v1.4.2 to production", deploy("production", version="v1.4.2")),
    ("/deploy checkout 1.4.2 prod", deploy("production", version="1.4.2")),
    ("/deploy checkout to prod V1.4.2", deploy("production", version="V1.4.2")),
    ("/deploy checkout v1.5.0-rc.1", deploy("staging", version="v1.5.0-rc.1")),
    ("/deploy checkout 2.0", deploy("staging", version="2.0")),
    (f"/deploy checkout {SHA7} to prod", deploy("production", version=SHA7)),
    (f"/deploy checkout {SHA40}", deploy("staging", version=SHA40)),
    (f"/deploy checkout {SHA7.upper()}", deploy("staging", version=SHA7.upper())),
    ("/deploy checkout 1234567", deploy("staging", version="1234567")),
    ("/deploy checkout latest to prod", deploy("production")),
    (
        "/deploy checkout canary 25% v1.4.2 prod",
        deploy("production", version="v1.4.2", start_percent=25),
    ),
    # strategies
    ("/deploy checkout blue-green to prod", deploy("production", StrategyName.BLUE_GREEN)),
    ("/deploy checkout bluegreen", deploy("staging", StrategyName.BLUE_GREEN)),
    ("/deploy checkout Blue/Green", deploy("staging", StrategyName.BLUE_GREEN)),
    ("/deploy checkout bg prod", deploy("production", StrategyName.BLUE_GREEN)),
    ("/deploy checkout rolling", deploy("staging", StrategyName.ROLLING)),
    ("/deploy checkout rolling 4 batches", deploy("staging", StrategyName.ROLLING, batches=4)),
    ("/deploy checkout rolling 4", deploy("staging", StrategyName.ROLLING, batches=4)),
    ("/deploy checkout rolling batches 4", deploy("staging", StrategyName.ROLLING, batches=4)),
    ("/deploy checkout rolling 1 batch", deploy("staging", StrategyName.ROLLING, batches=1)),
    (
        "/deploy checkout 4 batches rolling to prod",
        deploy("production", StrategyName.ROLLING, batches=4),
    ),
    (
        "/deploy reports 4 batches",
        deploy("dev", StrategyName.ROLLING, service="reports", batches=4),
    ),
    ("/deploy reports", deploy("dev", StrategyName.ROLLING, service="reports")),
    (
        "/deploy checkout flag new-cart 25%",
        deploy("staging", StrategyName.FEATURE_FLAG, flag="new-cart", start_percent=25),
    ),
    (
        "/deploy checkout 25% flag New-Cart to prod",
        deploy("production", StrategyName.FEATURE_FLAG, flag="new-cart", start_percent=25),
    ),
    ("/deploy checkout ff new-cart", deploy("staging", StrategyName.FEATURE_FLAG, flag="new-cart")),
    (
        "/deploy checkout feature-flag new-cart prod",
        deploy("production", StrategyName.FEATURE_FLAG, flag="new-cart"),
    ),
    (
        "/deploy web flag promo",
        deploy("staging", StrategyName.FEATURE_FLAG, service="web", flag="promo"),
    ),
    ("/deploy payments", deploy("staging", StrategyName.BLUE_GREEN, service="payments")),
    (
        "/deploy payments canary 10% prod",
        deploy("production", service="payments", start_percent=10),
    ),
    # /rollback
    (
        "/rollback checkout prod bad latency",
        RollbackCommand("checkout", "production", "bad latency"),
    ),
    ("/rollback checkout", RollbackCommand("checkout")),
    ("/rollback Checkout PRODUCTION", RollbackCommand("checkout", "production")),
    (
        "/rollback checkout to prod because errors spiking",
        RollbackCommand("checkout", "production", "errors spiking"),
    ),
    ("/rollback checkout in stg - p99 up", RollbackCommand("checkout", "staging", "p99 up")),
    ("/rollback checkout latency is bad", RollbackCommand("checkout", None, "latency is bad")),
    ("/rollback checkout prod reason: 5xx", RollbackCommand("checkout", "production", "5xx")),
    # /release
    ("/release", Help()),
    ("/release help", Help()),
    ("/release ?", Help()),
    ("/release HELP Deploy", Help("deploy")),
    ("/release list", ListActive()),
    ("/release active", ListActive()),
    ("/release ls", ListActive()),
    ("/release status", Status()),
    ("/release status #12", Status(release_id=12)),
    ("/release status 12", Status(release_id=12)),
    ("/release status checkout", Status(service="checkout")),
    ("/release status checkout prod", Status(service="checkout", environment="production")),
    ("/release status checkout in prod", Status(service="checkout", environment="production")),
    ("/release history", History()),
    ("/release history 5", History(limit=5)),
    ("/release history checkout", History(service="checkout")),
    ("/release history checkout production 5", History("checkout", "production", 5)),
    ("/release history checkout prod 50", History("checkout", "production", 50)),
    ("/release promote #12", ReleaseAction("promote", 12)),
    ("/release PROMOTE 12", ReleaseAction("promote", 12)),
    ("/release pause #12", ReleaseAction("pause", 12)),
    ("/release resume checkout prod", ReleaseAction("resume", None, "checkout", "production")),
    ("/release abort #12 wrong build", ReleaseAction("abort", 12, reason="wrong build")),
    (
        "/release abort checkout production wrong build",
        ReleaseAction("abort", None, "checkout", "production", "wrong build"),
    ),
    ("/release abort checkout", ReleaseAction("abort", None, "checkout")),
]


@pytest.mark.parametrize(("line", "expected"), GOOD, ids=[line for line, _ in GOOD])
def test_forgiving_inputs_parse(line: str, expected: Command):
    assert run(line) == expected


BAD: list[tuple[str, str]] = [
    ("/deploy", "Which service should I deploy?"),
    ("/deploy chekout", "I don't know a service called `chekout`. Did you mean `checkout`?"),
    ("/deploy zzz", "I don't know a service called `zzz`. Known services:"),
    ("/deploy checkout to", "`to` needs an environment after it."),
    ("/deploy checkout to mars", "I don't know an environment called `mars`. Known: dev, staging,"),
    ("/deploy checkout to dev", "checkout is not deployed to dev; its environments are staging,"),
    ("/deploy checkout dev", "checkout is not deployed to dev"),
    ("/deploy checkout canary rolling", "Pick one strategy: `canary` or `rolling`."),
    ("/deploy checkout v1.4.2 v1.4.3", "Two versions given: `v1.4.2` and `v1.4.3`."),
    ("/deploy checkout 0%", "0 is not a valid percent: use 1 to 100."),
    ("/deploy checkout 150%", "150 is not a valid percent: use 1 to 100."),
    ("/deploy checkout 1000%", "I don't understand `1000%` in this deploy."),
    (
        "/deploy checkout to staging in production",
        "Pick one environment: `staging` or `production`.",
    ),
    ("/deploy checkout please", "I don't understand `please` in this deploy."),
    ("/deploy checkout blue-green 10%", "A percentage does not apply to blue-green"),
    ("/deploy checkout rolling 50%", "A percentage does not apply to rolling"),
    ("/deploy payments 10%", "A percentage does not apply to blue-green"),
    ("/deploy checkout rolling 25", "25 is not a valid batches: use 1 to 20."),
    ("/deploy checkout rolling 0 batches", "0 is not a valid batches: use 1 to 20."),
    ("/deploy checkout canary 4 batches", "Batches apply to the rolling strategy only"),
    ("/deploy checkout flag", "The flag strategy needs the flag's name."),
    ("/deploy checkout flag 25%", "The flag strategy needs the flag's name."),
    ("/deploy web", "The flag strategy needs the flag's name."),
    ("/deploy web 25%", "The flag strategy needs the flag's name."),
    ("/rollback", "Which service should I roll back?"),
    ("/rollback nope", "I don't know a service called `nope`."),
    ("/rollback checkout to", "Which environment?"),
    ("/rollback checkout to mars", "I don't know an environment called `mars`."),
    ("/rollback checkout in dev", "checkout is not deployed to dev"),
    ("/release promote", "Which release should I promote? Name it or its service."),
    ("/release abort", "Which release should I abort?"),
    ("/release stats", "`/release stats` is not a release command. Did you mean `status`?"),
    ("/release deploy checkout", "`/release deploy` is not a release command."),
    ("/release status #12 now", "Unexpected `now` after the release number."),
    ("/release status checkout prod now", "I don't understand `now` here."),
    ("/release status nope", "I don't know a service called `nope`."),
    ("/release history checkout mars", "I don't understand `mars` here."),
    ("/release history checkout production 99", "99 is not a valid history length: use 1 to 50."),
    ("/release history checkout production 0", "0 is not a valid history length"),
    ("/release abort checkout in mars now", "I don't know an environment called `mars`."),
    ("/releases list", "I don't know the command `/releases`."),
]


@pytest.mark.parametrize(("line", "problem"), BAD, ids=[line for line, _ in BAD])
def test_bad_inputs_say_what_was_wrong_with_a_valid_example(line: str, problem: str):
    with pytest.raises(UsageError) as caught:
        run(line)
    error = caught.value
    assert problem in error.problem
    assert error.problem.rstrip()[-1] in ".?", error.problem
    assert "Traceback" not in str(error)
    assert str(error) == f"{error.problem}\nFor example: `{error.example}`"
    # the example is a command that works, and of the same kind the person typed
    typed = line.split()[0].lstrip("/").lower()
    assert error.example.startswith("/")
    example_command = error.example.split()[0].lstrip("/")
    if typed in ("deploy", "rollback", "release"):
        assert example_command == typed, error.example
    run(error.example)


def test_every_release_action_parses_by_number_and_by_service():
    for action in ("promote", "pause", "resume", "abort"):
        assert run(f"/release {action} #7") == ReleaseAction(action, 7)
        assert run(f"/release {action} checkout live") == ReleaseAction(
            action, None, "checkout", "production"
        )


def test_usage_error_topics():
    topics = {}
    for line in ("/deploy", "/rollback", "/release promote"):
        with pytest.raises(UsageError) as caught:
            run(line)
        topics[line] = caught.value.topic
    assert topics == {"/deploy": "deploy", "/rollback": "rollback", "/release promote": "release"}


def test_examples_use_the_catalogs_own_names():
    catalog = Catalog.model_validate(
        {
            "environments": {"dev": {"order": 1}, "live": {"order": 2}},
            "services": {
                "billing": {"repository": "acme/billing", "environments": ["dev", "live"]}
            },
        }
    )
    with pytest.raises(UsageError) as caught:
        parse("/deploy", "", catalog)
    assert caught.value.example == "/deploy billing canary 10% to live"
    assert isinstance(
        parse("/deploy", caught.value.example.removeprefix("/deploy "), catalog), Deploy
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("/deploy checkout canary 10% 50%", "Pick one starting percentage: `10%` or `50%`"),
        ("/deploy checkout v1." + "1" * 120, "characters long; the most is 100"),
        ("/rollback checkout v1.4.1", "/rollback always returns to the last good version"),
    ],
)
def test_ambiguous_or_oversized_input_is_refused(line: str, problem: str):
    command, _, text = line.partition(" ")
    with pytest.raises(UsageError) as caught:
        parse(command, text, CATALOG)
    assert problem in caught.value.problem
    example_command, _, example_text = caught.value.example.partition(" ")
    parse(example_command, example_text, CATALOG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export", ExportAudit()),
        (
            "export last 90d production checkout jsonl",
            ExportAudit(90 * 86400, "checkout", "production", "jsonl"),
        ),
        ("export 12h prod", ExportAudit(12 * 3600, None, "production")),
        ("dora", Dora()),
        ("dora checkout last 7d", Dora("checkout", 7 * 86400)),
    ],
)
def test_export_and_dora_words_in_any_order(text, expected):
    assert parse("/release", text, CATALOG) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("dora 400d", "The window is between 1h and 365d."),
        ("export 30m", "The window is between 1h and 365d."),
        ("export last month", "I don't know a service called `month`."),
        ("dora 3x", "`3x` is not a window; write it like 30d or 12h."),
    ],
)
def test_export_and_dora_usage_errors(text, problem):
    with pytest.raises(UsageError) as raised:
        parse("/release", text, CATALOG)
    assert raised.value.problem.startswith(problem)


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("#12", 12), ("#2147483647", 2147483647), ("0012", 12)],
)
def test_a_release_number_is_ascii_digits_within_the_tables_integer(text: str, number: int):
    assert release_number(text) == number


@pytest.mark.parametrize(
    "text",
    ["0", "#0", "-3", "#-3", "+3", "٣", "#٣", "²", "𝟗", "2147483648", "9" * 20, "#", "", "1 2"],
)
def test_anything_else_names_no_release(text: str):
    assert release_number(text) is None


@pytest.mark.parametrize(
    "line", ["status #99999999999999999999", "approve #9999999999", "status ٣", "pause #-1"]
)
def test_an_odd_release_number_is_a_usage_error_saying_what_works(line: str):
    with pytest.raises(UsageError, match="is not a release number") as raised:
        parse("/release", line, CATALOG)
    assert "#12" in raised.value.problem and str(RELEASE_NUMBER_MAX) in raised.value.problem


def test_other_scripts_digits_are_not_numbers_anywhere_in_the_grammar():
    with pytest.raises(UsageError):
        parse("/deploy", "checkout canary ٥٠%", CATALOG)  # not 50%
    with pytest.raises(UsageError, match="I don't understand `٣`"):
        parse("/release", "history checkout ٣", CATALOG)  # not the last 3


@pytest.mark.parametrize(
    "text",
    [
        "checkout v1.4.3 canary 10% to production",
        "checkout flag new-cart 25% to staging",
        "checkout rolling 4 batches to production",
        "checkout blue-green to staging",
    ],
)
def test_a_deploy_said_again_at_a_time_reads_back_the_same(text: str):
    from datetime import UTC, datetime

    from bot.core.commands.deploy import deploy_words

    first = run(f"/deploy {text}")
    at = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    again = run(f"/deploy {deploy_words(first, at)}")
    assert again.when is not None and again.when.said == "at 2026-12-01 21:00 UTC"
    assert (again.service, again.environment, again.version, again.strategy) == (
        first.service,
        first.environment,
        first.version,
        first.strategy,
    )
