"""Who may do what, where, when (bot/core/policy.py).

`decide(catalog, user, act, service=, environment=, release=, facts=)` is pure: roles come from
the catalog's grants (users, and Slack user groups through `Facts.groups`), everything else the
database knows (locks, freezes, the active release, where a version already succeeded) comes
in `Facts`. The first part is the table the issue asks for: every role x act x environment x
condition; the rest pins each rule and the words a refused person reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.catalog import Catalog, Role
from bot.core.freezes import Freeze
from bot.core.policy import (
    ROLE_GRANTS,
    Act,
    Decision,
    EnvLock,
    Facts,
    approval_people,
    decide,
)
from bot.core.release import BreakGlass, CiChecked, Release, State, transition
from bot.core.stages import Stage, StageStatus

# Times as Slack shows them (each reader's zone; the fallback is UTC).
MON_30_NOV_0700 = "<!date^1796022000^{date_short_pretty} {time}|Mon 30 Nov 07:00 UTC>"
MON_23_NOV_1100 = "<!date^1795431600^{date_short_pretty} {time}|Mon 23 Nov 11:00 UTC>"

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday

DEPLOYER = "U0DEPLOY"
APPROVER = "U0APPROVE"
ONCALL = "U0ONCALL"  # on call through the Slack user group S0ONCALL, not by name
ROLLBACK_ONLY = "U0ROLLBACK"
ADMIN = "U0ADMIN"
AUDITOR = "U0AUDIT"
NOBODY = "U0NOBODY"
STAGING_DEPLOYER = "U0STAGING"  # deployer of every service, in staging only
REQUESTER = "U0REQUEST"  # a deployer who asked for the release being decided on
LOCKER = "U0LOCKER"  # a deployer who holds the environment lock
ONCALL_GROUP = "S0ONCALL"
GROUPS = {ONCALL_GROUP: frozenset({ONCALL})}

CATALOG_DATA: dict[str, Any] = {
    "environments": {
        "staging": {"order": 1, "approval": {"auto_when_ci_green": True}},
        "production": {
            "order": 2,
            "production": True,
            "requires": "staging",
            "approval": {"required": 1, "eligible": {"roles": ["approver"]}},
        },
    },
    "services": {
        "checkout": {"repository": "acme/checkout", "environments": ["staging", "production"]},
        "payments": {"repository": "acme/payments", "environments": ["staging", "production"]},
    },
    "roles": {
        "deployer": [DEPLOYER, REQUESTER, LOCKER],
        "approver": [APPROVER],
        "rollback-only": [ROLLBACK_ONLY],
        "admin": [ADMIN],
        "auditor": [AUDITOR],
    },
    "grants": [
        {"role": "oncall", "groups": [ONCALL_GROUP]},
        {"role": "deployer", "users": [STAGING_DEPLOYER], "environments": ["staging"]},
    ],
}
CATALOG = Catalog.model_validate(CATALOG_DATA)


def catalog(**changes: Any) -> Catalog:
    """CATALOG with some top-level sections replaced."""
    data = {**CATALOG_DATA, **changes}
    return Catalog.model_validate(data)


def release(
    id: int = 12,
    *,
    environment: str = "production",
    requested_by: str = REQUESTER,
    state: State = State.RUNNING,
    version_to: str = "v1.4.3",
    deployed: bool = False,
    authors: tuple[str, ...] = (),
    ci_summary: str = "3 checks passed",
) -> Release:
    step = Stage.step("weight", "10%", 10)
    if deployed:
        step = replace(step, status=StageStatus.SUCCEEDED, started_at=T0, finished_at=T0)
    return Release(
        service="checkout",
        environment=environment,
        strategy=CATALOG.services["checkout"].default_strategy,
        version_to=version_to,
        version_from="v1.4.2",
        requested_by=requested_by,
        channel="C0RELEASES",
        stages=(step,),
        created_at=T0,
        approvals_required=1,
        id=id,
        state=state,
        authors=authors,
        ci_summary=ci_summary,
    )


def lock(environment: str = "production", owner: str = LOCKER) -> EnvLock:
    return EnvLock(
        id=3,
        service="checkout",
        environment=environment,
        owner=owner,
        reason="db migration",
        created_at=T0,
        expires_at=T0 + timedelta(hours=2),
    )


WEEKEND = Freeze("weekend", datetime(2026, 11, 30, 7, 0, tzinfo=UTC), "no deploys on weekends")


def run(
    user: str,
    act: Act,
    *,
    environment: str = "production",
    the_release: Release | None = None,
    cat: Catalog = CATALOG,
    **facts: Any,
) -> Decision:
    """decide() for checkout, with the catalog's group members known unless told otherwise."""
    facts.setdefault("groups", GROUPS)
    if the_release is None and act in (Act.APPROVE, Act.REJECT):
        the_release = release(environment=environment, state=State.AWAITING_APPROVAL)
    return decide(
        cat,
        user,
        act,
        service="checkout",
        environment=environment,
        release=the_release,
        facts=Facts(**facts),
    )


def assert_refusal(decision: Decision, rule: str, *needs_words: str) -> None:
    """A refusal names its rule and says, in words, what would make it pass."""
    assert not decision.allowed, decision
    assert decision.rule == rule, decision
    assert decision.reason and decision.needs, decision
    assert decision.message == f"{decision.reason} {decision.needs}"
    assert "None" not in decision.message, decision.message
    for word in needs_words:
        assert word in decision.message, (word, decision.message)


def assert_allowed(decision: Decision, rule: str) -> None:
    assert decision.allowed, decision
    assert decision.rule == rule, decision
    assert decision.message == decision.reason  # nothing to do: `needs` is not shown


# The table: every role x act x environment x condition.
#
# Roles are granted per environment, so the staging-only deployer is a deployer in staging and
# nobody in production. Approve and reject follow the environment's approval policy (here the
# approver role in both) plus admins; every other act follows the role table below.
#
# Conditions:
#   none    nothing in the way (production's required environment, staging, is satisfied)
#   locked  another deployer holds a manual lock on the environment
#   frozen  a freeze window is in force (no break-glass)
#   ci red  the release's CI is red. decide() has no CI input: the CI gate is the state
#           machine's (CiChecked(passed=False) rejects the release; see
#           test_ci_red_is_the_state_machines_gate) and the engine applies it, so the
#           decision must be exactly the one without it.

# fmt: off
Y, N = True, False
HOLDERS = ("deployer", "approver", "oncall", "rollback-only", "admin", "auditor", "none")
MAY = {  #        deployer approver oncall rollback-only admin auditor none
    Act.DEPLOY:   (Y,       N,       N,     N,            Y,    N,      N),
    Act.START:    (Y,       N,       N,     N,            Y,    N,      N),
    Act.APPROVE:  (N,       Y,       N,     N,            Y,    N,      N),
    Act.REJECT:   (N,       Y,       N,     N,            Y,    N,      N),
    Act.PROMOTE:  (Y,       N,       N,     N,            Y,    N,      N),
    Act.PAUSE:    (Y,       Y,       Y,     N,            Y,    N,      N),
    Act.RESUME:   (Y,       N,       Y,     N,            Y,    N,      N),
    Act.ABORT:    (Y,       N,       Y,     N,            Y,    N,      N),
    Act.ROLLBACK: (Y,       N,       Y,     Y,            Y,    N,      N),
    Act.LOCK:     (Y,       Y,       Y,     N,            Y,    N,      N),
    Act.UNLOCK:   (Y,       Y,       Y,     N,            Y,    N,      N),
    Act.FREEZE:   (N,       Y,       Y,     N,            Y,    N,      N),
    Act.UNFREEZE: (N,       Y,       Y,     N,            Y,    N,      N),
}
# fmt: on
USERS = {
    "deployer": DEPLOYER,
    "approver": APPROVER,
    "oncall": ONCALL,
    "rollback-only": ROLLBACK_ONLY,
    "admin": ADMIN,
    "auditor": AUDITOR,
    "none": NOBODY,
    "staging-only deployer": STAGING_DEPLOYER,
}
ENVIRONMENTS = ("staging", "production")
CONDITIONS = ("none", "locked", "frozen", "ci red")


def role_there(who: str, environment: str) -> str:
    if who == "staging-only deployer":
        return "deployer" if environment == "staging" else "none"
    return who


def expected(who: str, act: Act, environment: str, condition: str) -> tuple[bool, str]:
    """(allowed, rule), from the rules as a release manager would state them."""
    role = role_there(who, environment)
    if not MAY[act][HOLDERS.index(role)]:
        if act in (Act.APPROVE, Act.REJECT):
            return False, f"approval.{act.value}.eligible"
        return False, f"rbac.{act.value}"
    if act is Act.DEPLOY and condition == "locked":
        return False, "lock.environment"  # only the lock's owner deploys, admins included
    if act is Act.DEPLOY and condition == "frozen":
        return False, "freeze.window"  # rollbacks (and everything else) go on
    if act is Act.APPROVE and condition == "frozen":
        return False, "freeze.window"  # the last approval would start it during the freeze
    if act is Act.UNLOCK and condition == "locked":
        return (True, "lock.break") if role == "admin" else (False, "lock.owner")
    if act in (Act.APPROVE, Act.REJECT):
        return True, f"approval.{act.value}"
    return True, f"rbac.{act.value}"


def facts_for(condition: str, environment: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"version": "v1.4.3", "proven": True}
    if condition == "locked":
        facts["lock"] = lock(environment)
    if condition == "frozen":
        facts["freeze"] = WEEKEND
    return facts


def release_for(act: Act, environment: str, condition: str) -> Release | None:
    if act is Act.DEPLOY:
        return None
    state = State.AWAITING_APPROVAL if act in (Act.APPROVE, Act.REJECT) else State.RUNNING
    summary = "failing: unit" if condition == "ci red" else "3 checks passed"
    return release(environment=environment, state=state, ci_summary=summary)


# What each refusal must tell the person, beyond its rule: the words that make it actionable.
def needs_words(rule: str, act: Act, environment: str) -> tuple[str, ...]:
    if rule.startswith("rbac."):
        wanted = sorted(role.value for role in ROLE_GRANTS[act])
        return (f"You may not {act.value} checkout in {environment}", *wanted, "/release whoami")
    if rule.startswith("approval."):
        return (f"You may not {act.value} release #12", "the approver role", "Ask one of them")
    if rule == "lock.environment":
        return (
            f"<@{LOCKER}>",
            "db migration",
            "until " + MON_23_NOV_1100,
            "/release unlock",
        )
    if rule == "lock.owner":
        return (f"<@{LOCKER}>", "db migration", f"Ask <@{LOCKER}>", "wait for it to expire")
    if rule == "freeze.window":
        return (
            "the weekend freeze until " + MON_30_NOV_0700 + "",
            "break-glass",
            "incident",
        )
    raise AssertionError(f"no words listed for {rule}")


TABLE = [
    pytest.param(
        who, act, environment, condition, id=f"{who}-{act.value}-{environment}-{condition}"
    )
    for who in USERS
    for act in Act
    for environment in ENVIRONMENTS
    for condition in CONDITIONS
]


def test_the_table_covers_every_act_and_role():
    assert set(MAY) == set(Act)
    assert set(HOLDERS) - {"none"} == {role.value for role in Role}
    # The role columns say the same as the code's list, for every act it lists.
    for act, row in MAY.items():
        assert row[HOLDERS.index("none")] is N
        allowed = {Role(role) for role, yes in zip(HOLDERS, row, strict=True) if yes}
        if act in (Act.APPROVE, Act.REJECT):
            assert act not in ROLE_GRANTS  # the approval policy decides
        else:
            assert allowed == ROLE_GRANTS[act], act
    assert len(TABLE) == 8 * 13 * 2 * 4


@pytest.mark.parametrize(("who", "act", "environment", "condition"), TABLE)
def test_role_act_environment_condition(who: str, act: Act, environment: str, condition: str):
    decision = run(
        USERS[who],
        act,
        environment=environment,
        the_release=release_for(act, environment, condition),
        **facts_for(condition, environment),
    )
    allowed, rule = expected(who, act, environment, condition)
    if allowed:
        assert_allowed(decision, rule)
    else:
        assert_refusal(decision, rule, *needs_words(rule, act, environment))
    if condition == "ci red":
        green = run(
            USERS[who],
            act,
            environment=environment,
            the_release=release_for(act, environment, "none"),
            **facts_for("none", environment),
        )
        assert decision == green


def test_ci_red_is_the_state_machines_gate():
    """What the "ci red" column relies on: a red CI result ends the release before any policy
    decision about its rollout, with the reason in words."""
    waiting = release(state=State.AWAITING_CI)
    rejected, facts = transition(waiting, CiChecked(passed=False, summary="failing: unit"), T0)
    assert rejected.state is State.REJECTED
    assert rejected.reason == "CI is red: failing: unit"
    assert [fact.kind for fact in facts] == ["release.ci_failed"]


# Roles resolve per service and environment, through users and Slack user groups.


def test_a_scoped_grant_covers_only_its_services_and_environments():
    scoped = catalog(
        grants=[{"role": "deployer", "users": ["U0PAY"], "services": ["payments"]}],
    )

    def deploy(service: str, environment: str) -> Decision:
        return decide(scoped, "U0PAY", Act.DEPLOY, service=service, environment=environment)

    assert_allowed(deploy("payments", "staging"), "rbac.deploy")
    assert_allowed(deploy("payments", "production"), "rbac.deploy")
    refused = deploy("checkout", "staging")
    assert_refusal(refused, "rbac.deploy")
    assert refused.reason == (
        "You may not deploy checkout in staging: it needs the admin or deployer role there, "
        "and there you have no role."
    )
    assert refused.needs == (
        "`/release whoami` shows your grants; an admin can add one in the catalog."
    )


def test_the_staging_deployer_is_told_what_they_have_in_production():
    decision = run(STAGING_DEPLOYER, Act.DEPLOY, environment="production")
    assert decision.reason == (
        "You may not deploy checkout in production: it needs the admin or deployer role there, "
        "and there you have no role."
    )
    assert_allowed(run(STAGING_DEPLOYER, Act.DEPLOY, environment="staging"), "rbac.deploy")


def test_a_group_grant_needs_the_groups_members():
    assert_allowed(run(ONCALL, Act.ROLLBACK), "rbac.rollback")
    # Members not read from Slack yet (or no longer in the group): no role.
    assert_refusal(run(ONCALL, Act.ROLLBACK, groups={}), "rbac.rollback")
    assert_refusal(run(ONCALL, Act.ROLLBACK, groups={ONCALL_GROUP: frozenset()}), "rbac.rollback")
    # Membership of a group the catalog does not name gives nothing.
    assert_refusal(
        run(NOBODY, Act.ROLLBACK, groups={"S0OTHER": frozenset({NOBODY})}), "rbac.rollback"
    )


def test_roles_add_up_and_the_reason_names_the_ones_that_count():
    both = catalog(
        grants=[
            {"role": "oncall", "groups": [ONCALL_GROUP]},
            {"role": "approver", "users": [ONCALL]},
        ]
    )
    decision = run(ONCALL, Act.PAUSE, cat=both)
    assert_allowed(decision, "rbac.pause")
    assert decision.reason == "allowed as approver, oncall"
    refused = run(ONCALL, Act.DEPLOY, cat=both)
    assert refused.reason.endswith("and there you have approver, oncall.")


def test_rollback_only_may_roll_back_and_nothing_else():
    assert_allowed(run(ROLLBACK_ONLY, Act.ROLLBACK), "rbac.rollback")
    for act in (Act.DEPLOY, Act.PROMOTE, Act.PAUSE, Act.ABORT, Act.LOCK, Act.FREEZE):
        decision = run(ROLLBACK_ONLY, act)
        assert_refusal(decision, f"rbac.{act.value}")
        assert decision.reason.endswith("and there you have rollback-only.")


def test_roles_section_and_grants_combine():
    """`roles:` grants everywhere; `grants:` adds scoped ones; neither hides the other."""
    combined = catalog(grants=[{"role": "admin", "users": [DEPLOYER], "environments": ["staging"]}])
    assert_allowed(run(DEPLOYER, Act.FREEZE, cat=combined, environment="staging"), "rbac.freeze")
    assert_refusal(run(DEPLOYER, Act.FREEZE, cat=combined), "rbac.freeze")
    assert_allowed(run(DEPLOYER, Act.DEPLOY, cat=combined, proven=True), "rbac.deploy")


# Approvals: the approval policy's eligible people, plus admins, plus escalate_to once escalated.

POLICY_CATALOG = catalog(
    environments={
        "staging": {"order": 1},
        "production": {
            "order": 2,
            "approval": {
                "required": 2,
                "eligible": {"users": ["U0ELIGIBLE"], "groups": ["S0RELEASE"]},
                "not_commit_authors": True,
                "expires_after": "4h",
                "escalate_after": "1h",
                "escalate_to": {"users": ["U0CTO"], "groups": ["S0LEADS"]},
            },
        },
    },
)
POLICY_GROUPS = {
    ONCALL_GROUP: frozenset({ONCALL}),
    "S0RELEASE": frozenset({"U0MANAGER"}),
    "S0LEADS": frozenset({"U0LEAD"}),
}


def approve(user: str, *, act: Act = Act.APPROVE, **kw: Any) -> Decision:
    the_release = kw.pop("the_release", release(state=State.AWAITING_APPROVAL))
    kw.setdefault("groups", POLICY_GROUPS)
    return run(user, act, cat=POLICY_CATALOG, the_release=the_release, **kw)


@pytest.mark.parametrize("act", [Act.APPROVE, Act.REJECT])
def test_eligible_users_groups_and_admins_may_approve_and_reject(act: Act):
    for user in ("U0ELIGIBLE", "U0MANAGER", ADMIN):
        assert_allowed(approve(user, act=act), f"approval.{act.value}")
    # The approver role is not what this policy names; neither are deployers.
    for user in (APPROVER, DEPLOYER, ONCALL):
        decision = approve(user, act=act)
        assert_refusal(decision, f"approval.{act.value}.eligible")
        assert decision.reason == (
            f"You may not {act.value} release #12: <@U0ELIGIBLE>, <!subteam^S0RELEASE> may, "
            "for checkout in production."
        )
        assert decision.needs == "Ask one of them, or an admin to make you eligible in the catalog."


def test_group_members_are_eligible_only_when_known():
    assert_refusal(approve("U0MANAGER", groups={}), "approval.approve.eligible")


def test_escalate_to_may_approve_only_after_escalation():
    for user in ("U0CTO", "U0LEAD"):
        assert_refusal(approve(user), "approval.approve.eligible")
        decision = approve(user, escalated=True)
        assert_allowed(decision, "approval.escalated")
        assert decision.reason == "eligible to approve under the production approval policy"
    # People eligible anyway keep their own rule after an escalation.
    assert_allowed(approve("U0ELIGIBLE", escalated=True), "approval.approve")
    assert_allowed(approve("U0LEAD", act=Act.REJECT, escalated=True), "approval.escalated")


def test_approval_people_lists_who_may_approve():
    policy = POLICY_CATALOG.approval_policy("checkout", "production")
    people = approval_people(POLICY_CATALOG, policy, "checkout", "production", POLICY_GROUPS)
    assert people == {"U0ELIGIBLE", "U0MANAGER", ADMIN}
    escalated = approval_people(
        POLICY_CATALOG, policy, "checkout", "production", POLICY_GROUPS, escalated=True
    )
    assert escalated == {"U0ELIGIBLE", "U0MANAGER", ADMIN, "U0CTO", "U0LEAD"}


def test_approvers_by_role_are_scoped_like_any_grant():
    scoped = catalog(grants=[{"role": "approver", "users": ["U0QA"], "environments": ["staging"]}])
    staging = release(environment="staging", state=State.AWAITING_APPROVAL)
    assert_allowed(run("U0QA", Act.APPROVE, cat=scoped, the_release=staging), "approval.approve")
    refused = run("U0QA", Act.APPROVE, cat=scoped, environment="production")
    assert_refusal(refused, "approval.approve.eligible")
    assert "the approver role may, for checkout in production" in refused.reason


def test_a_service_override_decides_for_that_service():
    overridden = catalog(
        services={
            **CATALOG_DATA["services"],
            "checkout": {
                "repository": "acme/checkout",
                "environments": ["staging", "production"],
                "approvals": {"production": {"required": 1, "eligible": {"users": ["U0OWNER"]}}},
            },
        }
    )
    assert_allowed(run("U0OWNER", Act.APPROVE, cat=overridden), "approval.approve")
    assert_refusal(run(APPROVER, Act.APPROVE, cat=overridden), "approval.approve.eligible")
    # payments keeps the environment's policy.
    payments = replace(release(state=State.AWAITING_APPROVAL), service="payments")
    decision = decide(
        overridden,
        APPROVER,
        Act.APPROVE,
        service="payments",
        environment="production",
        release=payments,
    )
    assert_allowed(decision, "approval.approve")


def test_commit_authors_may_not_approve_but_may_reject():
    written = release(state=State.AWAITING_APPROVAL, authors=("U0ELIGIBLE", "U0DEV"))
    decision = approve("U0ELIGIBLE", the_release=written)
    assert_refusal(decision, "approval.not_author")
    assert decision.reason == (
        "You wrote commits in v1.4.3, and this environment's policy wants an approver who did not."
    )
    assert decision.needs == "Ask an approver who is not an author of the change."
    assert_allowed(approve("U0ELIGIBLE", act=Act.REJECT, the_release=written), "approval.reject")
    assert_allowed(approve("U0MANAGER", the_release=written), "approval.approve")
    # Admins are held to it too.
    by_admin = release(state=State.AWAITING_APPROVAL, authors=(ADMIN,))
    assert_refusal(approve(ADMIN, the_release=by_admin), "approval.not_author")


def test_commit_authors_may_approve_when_the_policy_does_not_mind():
    written = release(state=State.AWAITING_APPROVAL, authors=(APPROVER,))
    assert_allowed(run(APPROVER, Act.APPROVE, the_release=written), "approval.approve")


@pytest.mark.parametrize("act", [Act.APPROVE, Act.REJECT])
def test_self_approval_is_refused(act: Act):
    own = release(requested_by=ADMIN, state=State.AWAITING_APPROVAL)
    decision = run(ADMIN, act, the_release=own)
    assert_refusal(decision, "approval.not_requester")
    assert decision.reason == f"You requested release #12, so you cannot {act.value} it yourself."
    if act is Act.REJECT:
        assert decision.needs == "To stop your own release, abort it: `/release abort #12`."
    else:
        assert decision.needs == f"Ask another approver: <@{APPROVER}>."


def test_self_approval_when_nobody_else_may_approve():
    alone = catalog(roles={"approver": ["U0SOLO"], "deployer": ["U0SOLO"]}, grants=[])
    own = release(requested_by="U0SOLO", state=State.AWAITING_APPROVAL)
    decision = run("U0SOLO", Act.APPROVE, cat=alone, the_release=own)
    assert_refusal(decision, "approval.not_requester")
    assert decision.needs == (
        "Nobody else may approve it: ask an admin to add an approver to the catalog."
    )


def test_a_requester_who_is_not_eligible_hears_about_eligibility_first():
    decision = run(REQUESTER, Act.APPROVE)
    assert_refusal(decision, "approval.approve.eligible")


# Manual environment locks.


def test_only_the_locks_owner_deploys():
    assert_allowed(run(LOCKER, Act.DEPLOY, lock=lock(), proven=True), "rbac.deploy")
    for user in (DEPLOYER, ADMIN):
        decision = run(user, Act.DEPLOY, lock=lock(), proven=True)
        assert_refusal(decision, "lock.environment")
        assert decision.reason == (
            f"checkout in production is locked by <@{LOCKER}> until {MON_23_NOV_1100}: "
            "db migration."
        )
        assert decision.needs == (
            f"Wait for it to expire, ask <@{LOCKER}> to `/release unlock checkout production`, "
            "or an admin to break it."
        )


def test_unlock_by_the_owner_by_an_admin_and_by_others():
    assert_allowed(run(LOCKER, Act.UNLOCK, lock=lock()), "lock.own")
    broken = run(ADMIN, Act.UNLOCK, lock=lock())
    assert_allowed(broken, "lock.break")
    assert broken.reason == f"an admin breaks <@{LOCKER}>'s lock"
    for user in (DEPLOYER, APPROVER, ONCALL):
        decision = run(user, Act.UNLOCK, lock=lock())
        assert_refusal(decision, "lock.owner")
        assert decision.reason == (
            f"checkout in production is locked by <@{LOCKER}> until {MON_23_NOV_1100}: "
            "db migration; "
            f"only <@{LOCKER}> or an admin may lift it."
        )
        assert decision.needs == f"Ask <@{LOCKER}>, or wait for it to expire."
    # Nothing locked: the role is enough.
    assert_allowed(run(DEPLOYER, Act.UNLOCK), "rbac.unlock")
    # Without the role, the role is what is missing, lock or not.
    assert_refusal(run(AUDITOR, Act.UNLOCK, lock=lock()), "rbac.unlock")


def test_an_admin_who_owns_the_lock_lifts_it_as_owner():
    assert_allowed(run(ADMIN, Act.UNLOCK, lock=lock(owner=ADMIN)), "lock.own")


def test_a_lock_does_not_stop_rollbacks_or_the_release_in_flight():
    for act in (Act.ROLLBACK, Act.PAUSE, Act.ABORT, Act.PROMOTE, Act.RESUME):
        assert_allowed(run(DEPLOYER, act, lock=lock()), f"rbac.{act.value}")


# Freezes.


def test_deploys_are_refused_during_a_freeze_naming_the_window_and_break_glass():
    decision = run(DEPLOYER, Act.DEPLOY, freeze=WEEKEND, proven=True)
    assert_refusal(decision, "freeze.window")
    assert decision.reason == (
        "checkout in production is frozen: the weekend freeze until " + MON_30_NOV_0700 + ": "
        "no deploys on weekends. Rollbacks are still allowed."
    )
    assert decision.needs == (
        "In an emergency, break glass with an incident and a reason: `/deploy checkout to "
        "production break-glass INC-123 why it cannot wait` (it needs one more approval and is "
        "flagged in the audit trail)."
    )


def test_a_freeze_declared_in_chat_names_who_declared_it():
    declared = Freeze("stop-the-line", None, "payments outage", by=APPROVER)
    decision = run(DEPLOYER, Act.DEPLOY, freeze=declared)
    assert_refusal(decision, "freeze.window")
    assert (
        f"is frozen: the stop-the-line freeze (declared by <@{APPROVER}>): payments outage."
        in decision.reason
    )


def test_break_glass_with_an_incident_and_a_reason_deploys_during_a_freeze():
    glass = BreakGlass("INC-4711", "checkout is down, this is the fix")
    decision = run(DEPLOYER, Act.DEPLOY, freeze=WEEKEND, break_glass=glass, proven=True)
    assert_allowed(decision, "freeze.break_glass")
    assert decision.reason == (
        "break-glass deploy during the weekend freeze until " + MON_30_NOV_0700 + ": "
        "no deploys on weekends for INC-4711"
    )


@pytest.mark.parametrize(
    "glass", [BreakGlass("", "it cannot wait"), BreakGlass("INC-4711", ""), BreakGlass("", "")]
)
def test_break_glass_needs_both_an_incident_and_a_reason(glass: BreakGlass):
    decision = run(DEPLOYER, Act.DEPLOY, freeze=WEEKEND, break_glass=glass)
    assert_refusal(decision, "freeze.window", "break-glass INC-123")


def test_break_glass_without_a_freeze_is_refused():
    glass = BreakGlass("INC-4711", "urgent")
    decision = run(DEPLOYER, Act.DEPLOY, break_glass=glass)
    assert_refusal(decision, "freeze.none")
    assert "no glass to break" in decision.reason and "without `break-glass`" in decision.needs


def test_a_rollback_only_owner_may_lift_their_own_lock():
    owner = "U0ROLLBACK"
    assert_allowed(run(owner, Act.UNLOCK, lock=lock(owner=owner)), "lock.own")


def test_break_glass_does_not_skip_roles_locks_the_active_release_or_order():
    glass = BreakGlass("INC-4711", "urgent")
    frozen = {"freeze": WEEKEND, "break_glass": glass}
    assert_refusal(run(AUDITOR, Act.DEPLOY, **frozen), "rbac.deploy")
    assert_refusal(run(DEPLOYER, Act.DEPLOY, lock=lock(), **frozen), "lock.environment")
    active = release(7, requested_by=LOCKER, state=State.RUNNING)
    assert_refusal(
        run(DEPLOYER, Act.DEPLOY, active_release=active, **frozen), "lock.active_release"
    )
    assert_refusal(run(DEPLOYER, Act.DEPLOY, proven=False, **frozen), "order.environment")


def test_rollbacks_and_the_rest_go_on_during_a_freeze():
    for user in (DEPLOYER, ONCALL, ROLLBACK_ONLY, ADMIN):
        assert_allowed(run(user, Act.ROLLBACK, freeze=WEEKEND), "rbac.rollback")
    for act in (Act.PAUSE, Act.ABORT, Act.LOCK, Act.UNFREEZE):
        assert_allowed(run(ONCALL, act, freeze=WEEKEND), f"rbac.{act.value}")


# One active release per (service, environment).


def test_deploy_refused_while_another_release_is_active():
    active = release(7, requested_by=DEPLOYER, state=State.AWAITING_APPROVAL, version_to="v1.4.4")
    decision = run(ADMIN, Act.DEPLOY, active_release=active)
    assert_refusal(decision, "lock.active_release")
    assert decision.reason == (
        "checkout in production already has an active release #7 "
        f"(v1.4.4, awaiting approval, requested by <@{DEPLOYER}>)."
    )
    assert decision.needs == "Wait for it to finish, or abort it with `/release abort #7`."


def test_an_active_release_of_an_unresolved_version_says_latest():
    active = release(7, version_to="")
    decision = run(DEPLOYER, Act.DEPLOY, active_release=active)
    assert "(latest, running, requested by" in decision.reason


def test_deploy_allowed_without_an_active_release():
    live = release(3, state=State.SUCCEEDED, deployed=True)
    assert_allowed(run(DEPLOYER, Act.DEPLOY, deployed_release=live), "rbac.deploy")


def test_the_active_release_does_not_stop_other_acts():
    active = release(7)
    for act in (Act.PAUSE, Act.PROMOTE, Act.ABORT, Act.ROLLBACK):
        assert_allowed(
            run(DEPLOYER, act, the_release=active, active_release=active), f"rbac.{act.value}"
        )


# Environment order.


def test_production_needs_the_version_to_have_succeeded_in_staging():
    decision = run(DEPLOYER, Act.DEPLOY, version="v1.4.3", proven=False)
    assert_refusal(decision, "order.environment")
    assert decision.reason == (
        "v1.4.3 has not succeeded in staging yet, and production comes after it."
    )
    assert decision.needs == "Ship it there first: `/deploy checkout v1.4.3 to staging`."
    assert_allowed(run(DEPLOYER, Act.DEPLOY, version="v1.4.3", proven=True), "rbac.deploy")


def test_order_refusal_without_a_known_version():
    decision = run(DEPLOYER, Act.DEPLOY, proven=False)
    assert_refusal(decision, "order.environment")
    assert decision.reason == (
        "Nothing has succeeded in staging yet, and production comes after it."
    )
    assert decision.needs == "Deploy to staging first: `/deploy checkout to staging`."


def test_order_is_not_checked_when_unknown_or_not_required():
    # proven=None: the caller could not tell (e.g. no earlier environment to look in).
    assert_allowed(run(DEPLOYER, Act.DEPLOY, proven=None), "rbac.deploy")
    # staging requires nothing.
    assert_allowed(run(DEPLOYER, Act.DEPLOY, environment="staging", proven=False), "rbac.deploy")


def test_checks_run_role_then_lock_then_freeze_then_active_release_then_order():
    everything: dict[str, Any] = {
        "lock": lock(),
        "freeze": WEEKEND,
        "active_release": release(7),
        "proven": False,
    }
    order = ["lock", "freeze", "active_release", "proven"]
    assert run(AUDITOR, Act.DEPLOY, **everything).rule == "rbac.deploy"
    rules = []
    facts = dict(everything)
    for name in order:
        rules.append(run(DEPLOYER, Act.DEPLOY, **facts).rule)
        del facts[name]
    assert rules == [
        "lock.environment",
        "freeze.window",
        "lock.active_release",
        "order.environment",
    ]
    assert_allowed(run(DEPLOYER, Act.DEPLOY, **facts), "rbac.deploy")


# Rollback targets.


def test_rollback_of_a_release_that_is_not_the_latest():
    old = release(5, state=State.SUCCEEDED, deployed=True)
    latest = release(9, state=State.SUCCEEDED, version_to="v1.4.4", deployed=True)
    decision = run(ONCALL, Act.ROLLBACK, the_release=old, deployed_release=latest)
    assert_refusal(decision, "rollback.latest_only")
    assert decision.reason == (
        "Release #5 is not what runs in checkout/production now; #9 (v1.4.4) is newer."
    )
    assert decision.needs == "Roll back #9 instead: `/rollback checkout production`."


def test_rolling_back_a_release_that_moved_no_traffic_is_always_allowed():
    """It only aborts it; what runs is untouched."""
    gated = release(10, state=State.AWAITING_APPROVAL)
    live = release(9, state=State.SUCCEEDED, deployed=True)
    decision = run(ROLLBACK_ONLY, Act.ROLLBACK, the_release=gated, deployed_release=live)
    assert_allowed(decision, "rbac.rollback")


def test_rollback_of_the_latest_release():
    latest = release(9, state=State.SUCCEEDED, deployed=True)
    for deployed in (latest, replace(latest), None):
        decision = run(ONCALL, Act.ROLLBACK, the_release=latest, deployed_release=deployed)
        assert_allowed(decision, "rbac.rollback")


def test_rollback_refusal_by_role_comes_before_latest_check():
    decision = run(
        AUDITOR,
        Act.ROLLBACK,
        the_release=release(5, deployed=True),
        deployed_release=release(9, deployed=True),
    )
    assert decision.rule == "rbac.rollback"


def test_decision_message_shows_needs_only_when_refused():
    assert Decision(False, "r", "No.", "Do this.").message == "No. Do this."
    assert Decision(False, "r", "No.").message == "No."
    assert Decision(True, "r", "Yes.", "ignored").message == "Yes."
