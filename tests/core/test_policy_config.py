"""Policy as the catalog declares it (bot/core/policy_config.py): who (People, Grant), approval
policies and freeze windows, validated so that a policy that cannot work is refused with a
sentence saying why."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from bot.core.policy_config import (
    ApprovalPolicy,
    FreezeWindow,
    Grant,
    People,
    Role,
    WeeklySpan,
    parse_weekday_time,
)


def error_of(model: type, **data: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


# People and grants.


def test_people_by_user_group_and_role():
    people = People(users=("U0ALICE", "W0FRANK"), groups=("S0RELEASE",), roles=("approver",))
    assert people.roles == (Role.APPROVER,)
    assert not people.empty
    assert People().empty
    assert not People(roles=(Role.ADMIN,)).empty


@pytest.mark.parametrize("user", ["alice", "u0alice", "U1", "<@U0ALICE>", "S0GROUP", ""])
def test_people_refuse_what_is_not_a_user_id(user: str):
    assert "is not a Slack user ID like U0ALICE" in error_of(People, users=[user])


@pytest.mark.parametrize("group", ["release-managers", "U0ALICE", "<!subteam^S0X>", "s0x", ""])
def test_people_refuse_what_is_not_a_group_id(group: str):
    assert "is not a Slack user group ID like S0APPROVERS" in error_of(People, groups=[group])


def test_people_refuse_unknown_roles_and_fields():
    assert "rollback-only" in error_of(People, roles=["release-manager"])  # lists the choices
    assert "Extra inputs are not permitted" in error_of(People, user=["U0ALICE"])


def test_the_roles():
    assert {role.value for role in Role} == {
        "deployer",
        "approver",
        "oncall",
        "rollback-only",
        "admin",
        "auditor",
    }


def test_a_grant_needs_someone():
    assert "a rollback-only grant needs users or groups" in error_of(
        Grant, role="rollback-only", environments=["production"]
    )


def test_a_grant_checks_its_ids():
    assert "is not a Slack user ID" in error_of(Grant, role="deployer", users=["bob"])
    assert "is not a Slack user group ID" in error_of(Grant, role="deployer", groups=["oncall"])
    assert "Extra inputs are not permitted" in error_of(
        Grant, role="deployer", users=["U0BOB"], enviroments=["staging"]
    )


def test_grant_scope():
    everywhere = Grant(role=Role.ONCALL, groups=("S0ONCALL",))
    assert everywhere.covers("checkout", "production") and everywhere.covers("x", "y")
    assert everywhere.describe_scope() == "every service in every environment"

    staging = Grant(role=Role.DEPLOYER, users=("U0ALICE",), environments=("staging",))
    assert staging.covers("checkout", "staging") and staging.covers("payments", "staging")
    assert not staging.covers("checkout", "production")
    assert staging.describe_scope() == "every service in staging"

    narrow = Grant(
        role=Role.DEPLOYER,
        users=("U0ALICE",),
        services=("checkout", "payments"),
        environments=("staging", "production"),
    )
    assert narrow.covers("payments", "production")
    assert not narrow.covers("search", "production")
    assert narrow.describe_scope() == "checkout, payments in staging, production"


def test_grants_and_people_are_frozen():
    grant = Grant(role=Role.ADMIN, users=("U0DAVE",))
    with pytest.raises(ValidationError):
        grant.role = Role.AUDITOR  # type: ignore[misc]


# Approval policies.


def test_approval_policy_defaults():
    policy = ApprovalPolicy()
    assert policy.required == 0
    assert policy.eligible == People(roles=(Role.APPROVER,))
    assert not policy.not_commit_authors and not policy.auto_when_ci_green
    assert policy.expires_after is None and policy.escalate_after is None
    assert policy.remind_before == () and policy.escalate_to.empty


def test_approval_policy_durations_are_written_like_everywhere_else():
    policy = ApprovalPolicy.model_validate(
        {
            "required": 2,
            "expires_after": "4h",
            "remind_before": ["1h", "15m", 60],
            "escalate_after": "1h30m",
            "escalate_to": {"groups": ["S0LEADS"]},
        }
    )
    assert policy.expires_after == 4 * 3600
    assert policy.remind_before == (3600, 900, 60)
    assert policy.escalate_after == 5400
    assert "is not a duration" in error_of(ApprovalPolicy, expires_after="four hours")
    assert "greater than or equal to 0" in error_of(ApprovalPolicy, expires_after=-1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"remind_before": ["1h"]},
            "remind_before needs expires_after: reminders come before expiry",
        ),
        (
            {"expires_after": "1h", "remind_before": ["1h"]},
            "a reminder 3600s before expiry comes before the request (it expires after 3600s)",
        ),
        (
            {"expires_after": "1h", "remind_before": ["10m", "2h"]},
            "a reminder 7200s before expiry comes before the request (it expires after 3600s)",
        ),
        ({"escalate_after": "1h"}, "escalate_after needs escalate_to: who to escalate to"),
        (
            {"escalate_after": "1h", "escalate_to": {}},
            "escalate_after needs escalate_to: who to escalate to",
        ),
        (
            {"expires_after": "1h", "escalate_after": "1h", "escalate_to": {"users": ["U0CTO"]}},
            "escalation after 3600s never happens: the request expires after 3600s",
        ),
        (
            {"expires_after": "1h", "escalate_after": "2h", "escalate_to": {"roles": ["admin"]}},
            "escalation after 7200s never happens: the request expires after 3600s",
        ),
        (
            {"required": 1, "auto_when_ci_green": True},
            "auto_when_ci_green approves on green CI; it cannot also require approvals",
        ),
        ({"required": 11}, "less than or equal to 10"),
        ({"required": -1}, "greater than or equal to 0"),
        ({"eligible": {"users": ["bob"]}}, "is not a Slack user ID"),
        ({"approvers": 2}, "Extra inputs are not permitted"),
    ],
)
def test_approval_policies_that_cannot_work_are_refused(data: dict[str, Any], message: str):
    assert message in error_of(ApprovalPolicy, **data)


@pytest.mark.parametrize(
    "data",
    [
        {"required": 2, "expires_after": "1h", "remind_before": ["59m", "0s"]},
        {"required": 1, "escalate_after": "1h", "escalate_to": {"roles": ["admin"]}},  # no expiry
        {
            "required": 1,
            "expires_after": "2h",
            "escalate_after": "1h",
            "escalate_to": {"users": ["U0CTO"]},
        },
        {"auto_when_ci_green": True},
        {"required": 0, "auto_when_ci_green": False},
        {"required": 10, "not_commit_authors": True},
    ],
)
def test_approval_policies_that_work(data: dict[str, Any]):
    policy = ApprovalPolicy.model_validate(data)
    assert policy.required == data.get("required", 0)
    assert policy.auto_when_ci_green is data.get("auto_when_ci_green", False)
    assert (policy.expires_after is None) is ("expires_after" not in data)


# Freeze windows.


def test_a_one_off_freeze():
    window = FreezeWindow.model_validate(
        {
            "name": "Year-end",
            "timezone": "Europe/Berlin",
            "start": "2026-12-23T00:00:00",
            "end": "2027-01-04T08:00:00",
            "environments": ["production"],
            "reason": "holidays",
        }
    )
    assert window.weekly is None
    # Naive times are in the window's zone.
    assert window.local(window.start).utcoffset().total_seconds() == 3600  # type: ignore[arg-type, union-attr]
    assert window.local(window.end).astimezone(UTC) == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # type: ignore[arg-type]
    assert window.covers("checkout", "production") and not window.covers("checkout", "staging")


def test_a_weekly_freeze_lowercases_its_days():
    window = FreezeWindow.model_validate(
        {"name": "weekend", "weekly": {"start": "FRI 16:00", "end": "Monday 08:00"}}
    )
    assert window.weekly == WeeklySpan(start="fri 16:00", end="monday 08:00")
    assert window.timezone == "UTC" and window.start is None and window.end is None
    assert window.covers("anything", "anywhere")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "start": "2026-12-23T00:00:00",
                "end": "2026-12-24T00:00:00",
                "weekly": {"start": "fri 16:00", "end": "mon 08:00"},
            },
            "a freeze is either once (start and end) or weekly, not both",
        ),
        ({}, "a freeze is either once (start and end) or weekly, not both"),
        ({"start": "2026-12-23T00:00:00"}, "a one-off freeze needs both start and end"),
        ({"end": "2026-12-23T00:00:00"}, "a one-off freeze needs both start and end"),
        (
            {"start": "2026-12-24T00:00:00", "end": "2026-12-23T00:00:00"},
            "a freeze must end after it starts",
        ),
        (
            {"start": "2026-12-24T00:00:00", "end": "2026-12-24T00:00:00"},
            "a freeze must end after it starts",
        ),
        (
            # 10:00 in Berlin is 09:00 UTC, so an end at 08:30 UTC is before the start.
            {
                "timezone": "Europe/Berlin",
                "start": "2026-12-24T10:00:00",
                "end": "2026-12-24T08:30:00+00:00",
            },
            "a freeze must end after it starts",
        ),
        (
            {"timezone": "Mars/Olympus_Mons", "weekly": {"start": "fri 16:00", "end": "mon 08:00"}},
            "'Mars/Olympus_Mons' is not a time zone name like Europe/Berlin",
        ),
        (
            {"timezone": "CEST+2", "weekly": {"start": "fri 16:00", "end": "mon 08:00"}},
            "is not a time zone name like Europe/Berlin",
        ),
        (
            {"weekly": {"start": "friday16:00", "end": "mon 08:00"}},
            "'friday16:00': write a day and a time, like 'fri 16:00'",
        ),
        (
            {"weekly": {"start": "someday 16:00", "end": "mon 08:00"}},
            "write a day and a time, like 'fri 16:00'",
        ),
        (
            {"weekly": {"start": "fri 16:00", "end": "mon 25:00"}},
            "'mon 25:00': the time must look like 16:00",
        ),
        (
            {"weekly": {"start": "fri 4pm", "end": "mon 08:00"}},
            "the time must look like 16:00",
        ),
        ({"weekly": {"start": "fri 16:00"}}, "Field required"),
    ],
)
def test_freeze_windows_that_cannot_work_are_refused(data: dict[str, Any], message: str):
    assert message in error_of(FreezeWindow, name="freeze", **data)


@pytest.mark.parametrize("name", ["", "x" * 61, "weekend\nfreeze", "<!channel>"])
def test_freeze_names_are_short_plain_words(name: str):
    assert "should match pattern" in error_of(
        FreezeWindow, name=name, weekly={"start": "fri 16:00", "end": "mon 08:00"}
    )


def test_aware_one_off_times_are_read_in_the_windows_zone():
    window = FreezeWindow(
        name="launch",
        timezone="America/New_York",
        start=datetime(2026, 11, 26, 14, 0, tzinfo=UTC),
        end=datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
    )
    local = window.local(window.start)  # type: ignore[arg-type]
    assert (local.hour, str(local.tzinfo)) == (9, "America/New_York")
    assert local == window.start


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("fri 16:00", (4, time(16, 0))),
        ("Mon 08:00", (0, time(8, 0))),
        ("sunday 23:59", (6, time(23, 59))),
        ("  wed   0:05 ", (2, time(0, 5))),
    ],
)
def test_parse_weekday_time(text: str, parsed: tuple[int, time]):
    assert parse_weekday_time(text) == parsed
