"""Who holds which role where (bot/core/access.py): catalog grants to users and Slack user
groups, scoped to services and environments, resolved with the group members last read from
Slack."""

from __future__ import annotations

from typing import Any

from bot.core.access import Holding, groups_used, holdings, people_in, role_holders, roles_in
from bot.core.catalog import Catalog
from bot.core.policy_config import People, Role

ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"
ONCALL_GROUP, RELEASE_GROUP, LEADS_GROUP = "S0ONCALL", "S0RELEASE", "S0LEADS"
GROUPS = {
    ONCALL_GROUP: frozenset({CAROL, DAVE}),
    RELEASE_GROUP: frozenset({BOB}),
    LEADS_GROUP: frozenset({ERIN}),
}

DATA: dict[str, Any] = {
    "environments": {
        "staging": {"order": 1},
        "production": {
            "order": 2,
            "approval": {
                "required": 1,
                "eligible": {"roles": ["approver"], "groups": [RELEASE_GROUP]},
                "escalate_after": "1h",
                "escalate_to": {"groups": [LEADS_GROUP]},
            },
        },
    },
    "services": {
        "checkout": {"repository": "acme/checkout", "environments": ["staging", "production"]},
        "payments": {
            "repository": "acme/payments",
            "environments": ["staging", "production"],
            "approvals": {"production": {"required": 1, "eligible": {"groups": ["S0PAYOPS"]}}},
        },
    },
    "roles": {"admin": [DAVE], "approver": [BOB]},
    "grants": [
        {"role": "deployer", "users": [ALICE], "environments": ["staging"]},
        {"role": "deployer", "users": [ALICE], "services": ["payments"]},
        {"role": "oncall", "groups": [ONCALL_GROUP]},
        {
            "role": "rollback-only",
            "groups": [ONCALL_GROUP],
            "services": ["checkout"],
            "environments": ["production"],
        },
    ],
}
CATALOG = Catalog.model_validate(DATA)


def test_roles_in_follows_the_grants_scope():
    assert roles_in(CATALOG, ALICE, "checkout", "staging", GROUPS) == {Role.DEPLOYER}
    assert roles_in(CATALOG, ALICE, "checkout", "production", GROUPS) == frozenset()
    assert roles_in(CATALOG, ALICE, "payments", "production", GROUPS) == {Role.DEPLOYER}
    assert roles_in(CATALOG, ALICE, "payments", "staging", GROUPS) == {Role.DEPLOYER}


def test_roles_in_through_groups_needs_their_members():
    assert roles_in(CATALOG, CAROL, "checkout", "production", GROUPS) == {
        Role.ONCALL,
        Role.ROLLBACK_ONLY,
    }
    assert roles_in(CATALOG, CAROL, "checkout", "staging", GROUPS) == {Role.ONCALL}
    assert roles_in(CATALOG, CAROL, "checkout", "production", {}) == frozenset()
    # A group named only by an approval policy grants no role.
    assert roles_in(CATALOG, ERIN, "checkout", "production", GROUPS) == frozenset()


def test_roles_in_adds_the_roles_section_everywhere():
    assert roles_in(CATALOG, DAVE, "payments", "staging", GROUPS) == {Role.ADMIN, Role.ONCALL}
    assert roles_in(CATALOG, DAVE, "checkout", "production", GROUPS) == {
        Role.ADMIN,
        Role.ONCALL,
        Role.ROLLBACK_ONLY,
    }
    assert roles_in(CATALOG, BOB, "anything", "anywhere", {}) == {Role.APPROVER}
    assert roles_in(CATALOG, "U0NOBODY", "checkout", "staging", GROUPS) == frozenset()


def test_holdings_explain_every_grant_and_how_it_is_held():
    assert holdings(CATALOG, ALICE, GROUPS) == [
        Holding(Role.DEPLOYER, "every service in staging", "you"),
        Holding(Role.DEPLOYER, "payments in every environment", "you"),
    ]
    assert holdings(CATALOG, DAVE, GROUPS) == [
        Holding(Role.ADMIN, "every service in every environment", "you"),
        Holding(
            Role.ONCALL, "every service in every environment", f"group <!subteam^{ONCALL_GROUP}>"
        ),
        Holding(Role.ROLLBACK_ONLY, "checkout in production", f"group <!subteam^{ONCALL_GROUP}>"),
    ]
    assert holdings(CATALOG, CAROL, {}) == []
    assert holdings(CATALOG, "U0NOBODY", GROUPS) == []


def test_a_direct_grant_is_named_before_a_group_one():
    both = Catalog.model_validate(
        {**DATA, "grants": [{"role": "oncall", "users": [CAROL], "groups": [ONCALL_GROUP]}]}
    )
    assert holdings(both, CAROL, GROUPS) == [
        Holding(Role.ONCALL, "every service in every environment", "you")
    ]


def test_people_in_users_groups_and_role_holders_in_scope():
    people = People(users=(ALICE,), groups=(LEADS_GROUP,), roles=(Role.ROLLBACK_ONLY,))
    assert people_in(CATALOG, people, "checkout", "production", GROUPS) == {
        ALICE,
        ERIN,
        CAROL,
        DAVE,
    }
    # rollback-only is granted for checkout in production only.
    assert people_in(CATALOG, people, "checkout", "staging", GROUPS) == {ALICE, ERIN}
    # Groups whose members are not known count nobody.
    assert people_in(CATALOG, people, "checkout", "production", {}) == {ALICE}
    assert people_in(CATALOG, People(), "checkout", "production", GROUPS) == frozenset()


def test_people_in_by_role_reads_the_roles_section_too():
    approvers = People(roles=(Role.APPROVER,))
    assert people_in(CATALOG, approvers, "checkout", "production", GROUPS) == {BOB}
    deployers = People(roles=(Role.DEPLOYER,))
    assert people_in(CATALOG, deployers, "checkout", "production", GROUPS) == frozenset()
    assert people_in(CATALOG, deployers, "checkout", "staging", GROUPS) == {ALICE}


def test_role_holders():
    holders = role_holders(
        CATALOG, frozenset({Role.ADMIN, Role.ONCALL}), "checkout", "staging", GROUPS
    )
    assert holders == {DAVE, CAROL}


def test_groups_used_are_every_group_the_catalog_names():
    assert groups_used(CATALOG) == {ONCALL_GROUP, RELEASE_GROUP, LEADS_GROUP, "S0PAYOPS"}
    plain = Catalog.model_validate(
        {
            "environments": {"staging": {}},
            "services": {"checkout": {"repository": "acme/checkout", "environments": ["staging"]}},
            "roles": {"admin": [DAVE]},
        }
    )
    assert groups_used(plain) == frozenset()
