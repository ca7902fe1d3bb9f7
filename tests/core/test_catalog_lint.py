"""Approval policies that are valid YAML but cannot work (bot/core/catalog_lint.py): more
approvals than people who may give them (an error: `serve` refuses to start), exactly as many
(a warning: a release one of them requests can never be approved), and Slack user groups whose
members are not known (a warning: not counted, not guessed)."""

from __future__ import annotations

import copy
from typing import Any

from bot.core.catalog import Catalog
from bot.core.catalog_lint import PolicyProblem, policy_problems

BASE: dict[str, Any] = {
    "environments": {"staging": {"order": 1}, "production": {"order": 2}},
    "services": {
        "checkout": {"repository": "acme/checkout", "environments": ["staging", "production"]},
    },
    "roles": {"approver": ["U0BOB", "U0FRANK"], "deployer": ["U0ALICE"]},
}


def catalog(**sections: Any) -> Catalog:
    data = copy.deepcopy(BASE)
    for path, value in sections.items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return Catalog.model_validate(data)


def test_a_catalog_whose_policies_work_has_no_problems():
    assert policy_problems(catalog()) == []  # no approvals required anywhere
    enough = catalog(**{"environments.production.approvals": 1})
    assert policy_problems(enough) == []


def test_three_approvals_from_two_people_is_an_error_at_the_policys_required():
    cat = catalog(
        **{
            "environments.production.approval": {
                "required": 3,
                "eligible": {"users": ["U0BOB", "U0FRANK"]},
            }
        }
    )
    assert policy_problems(cat) == [
        PolicyProblem(
            ("environments", "production", "approval", "required"),
            "checkout in production needs 3 approvals but only 2 people may approve "
            "(U0BOB, U0FRANK)",
        )
    ]


def test_the_short_form_points_at_approvals():
    cat = catalog(**{"environments.production.approvals": 3})
    assert policy_problems(cat) == [
        PolicyProblem(
            ("environments", "production", "approvals"),
            "checkout in production needs 3 approvals but only 2 people may approve "
            "(U0BOB, U0FRANK)",
        )
    ]


def test_a_service_override_points_at_the_service():
    cat = catalog(
        **{
            "services.checkout.approvals": {
                "production": {"required": 2, "eligible": {"users": ["U0CAROL"]}}
            }
        }
    )
    assert policy_problems(cat) == [
        PolicyProblem(
            ("services", "checkout", "approvals", "production", "required"),
            "checkout in production needs 2 approvals but only 1 person may approve (U0CAROL)",
        )
    ]


def test_nobody_eligible_in_that_environment():
    cat = catalog(
        roles={},
        grants=[{"role": "approver", "users": ["U0BOB"], "environments": ["staging"]}],
        **{"environments.production.approvals": 1},
    )
    problems = policy_problems(cat)
    assert [p.message for p in problems] == [
        "checkout in production needs 1 approval but only 0 people may approve (nobody)"
    ]
    assert problems[0].severity == "error"


def test_exactly_as_many_people_as_approvals_is_a_warning():
    cat = catalog(**{"environments.production.approvals": 2})
    assert policy_problems(cat) == [
        PolicyProblem(
            ("environments", "production", "approvals"),
            "checkout in production needs every one of its 2 approvers (U0BOB, U0FRANK); "
            "a release one of them requests can never be approved",
            "warning",
        )
    ]


def test_each_service_is_checked_in_each_of_its_environments():
    cat = catalog(
        **{
            "environments.production.approvals": 3,
            "services.payments": {
                "repository": "acme/payments",
                "environments": ["staging", "production"],
            },
        }
    )
    assert [(p.path, p.message.split(" needs")[0]) for p in policy_problems(cat)] == [
        (("environments", "production", "approvals"), "checkout in production"),
        (("environments", "production", "approvals"), "payments in production"),
    ]


def test_scoped_grants_count_only_where_they_apply():
    cat = catalog(
        grants=[{"role": "approver", "users": ["U0CAROL"], "services": ["payments"]}],
        **{
            "environments.production.approvals": 3,
            "services.payments": {
                "repository": "acme/payments",
                "environments": ["staging", "production"],
            },
        },
    )
    messages = [p.message for p in policy_problems(cat)]
    assert messages[0].startswith("checkout in production needs 3 approvals but only 2 people")
    assert messages[1].startswith("payments in production needs every one of its 3 approvers")


def test_groups_without_known_members_are_not_counted_but_warned_about_once():
    policy = {"required": 3, "eligible": {"users": ["U0BOB"], "groups": ["S0RELEASE"]}}
    cat = catalog(
        **{
            "environments.production.approval": policy,
            "environments.staging.approval": policy,
        }
    )
    assert policy_problems(cat) == [
        PolicyProblem(
            ("groups", "S0RELEASE"),
            "cannot count the members of user group S0RELEASE without Slack: set "
            "SLACK_BOT_TOKEN to check approval policies that use it",
            "warning",
        )
    ]


def test_groups_with_known_members_are_counted():
    cat = catalog(
        **{
            "environments.production.approval": {
                "required": 3,
                "eligible": {"users": ["U0BOB"], "groups": ["S0RELEASE"]},
            }
        }
    )
    members = {"S0RELEASE": frozenset({"U0CAROL", "U0DAVE", "U0ERIN"})}
    assert policy_problems(cat, members) == []
    # A member named twice counts once.
    problems = policy_problems(cat, {"S0RELEASE": frozenset({"U0BOB", "U0CAROL"})})
    assert problems == [
        PolicyProblem(
            ("environments", "production", "approval", "required"),
            "checkout in production needs 3 approvals but only 2 people may approve "
            "(U0BOB, U0CAROL)",
        )
    ]


def test_groups_granted_an_eligible_role_are_counted_too():
    """The usual setup: approvers are a Slack user group granted the approver role. Without
    its members the policy cannot be judged (a warning, so `serve` still starts); with them it
    is counted like any group."""
    cat = catalog(
        roles={},
        grants=[{"role": "approver", "groups": ["S0APPROVERS"]}],
        **{"environments.production.approvals": 2},
    )
    assert policy_problems(cat) == [
        PolicyProblem(
            ("groups", "S0APPROVERS"),
            "cannot count the members of user group S0APPROVERS without Slack: set "
            "SLACK_BOT_TOKEN to check approval policies that use it",
            "warning",
        )
    ]
    members = {"S0APPROVERS": frozenset({"U0BOB", "U0FRANK", "U0CAROL"})}
    assert policy_problems(cat, members) == []
    small = {"S0APPROVERS": frozenset({"U0BOB"})}
    assert [p.severity for p in policy_problems(cat, small)] == ["error"]


def test_a_group_granted_the_role_elsewhere_is_not_asked_about():
    cat = catalog(
        grants=[{"role": "approver", "groups": ["S0QA"], "environments": ["staging"]}],
        **{"environments.production.approvals": 1},
    )
    assert policy_problems(cat) == []  # staging asks for no approvals; production has 2 users


def test_admins_count_because_they_may_approve():
    """decide() lets admins approve, so a policy that works through them is not broken."""
    cat = catalog(
        roles={"approver": ["U0BOB"], "admin": ["U0DAVE", "U0ERIN"]},
        **{"environments.production.approvals": 2},
    )
    assert policy_problems(cat) == []
    without = catalog(roles={"approver": ["U0BOB"]}, **{"environments.production.approvals": 2})
    assert [p.message for p in policy_problems(without)] == [
        "checkout in production needs 2 approvals but only 1 person may approve (U0BOB)"
    ]
