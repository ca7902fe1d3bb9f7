"""Who may do what (bot/core/policy.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.core.catalog import Catalog, Role
from bot.core.policy import ROLE_GRANTS, Act, Facts, decide
from bot.core.release import Release, State
from bot.core.stages import Stage, StageStatus

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DEPLOYER, APPROVER, ONCALL, ADMIN, AUDITOR, NOBODY = (
    "U0DEPLOY",
    "U0APPROVE",
    "U0ONCALL",
    "U0ADMIN",
    "U0AUDIT",
    "U0NOBODY",
)
REQUESTER = "U0REQUEST"

CATALOG = Catalog.model_validate(
    {
        "environments": {"staging": {}, "production": {"approvals": 1}},
        "services": {
            "checkout": {"repository": "acme/checkout", "environments": ["staging", "production"]}
        },
        "roles": {
            "deployer": [DEPLOYER, REQUESTER],
            "approver": [APPROVER],
            "oncall": [ONCALL],
            "admin": [ADMIN],
            "auditor": [AUDITOR],
        },
    }
)


def release(
    id: int = 12,
    *,
    requested_by: str = REQUESTER,
    state: State = State.RUNNING,
    version_to: str = "v1.4.3",
    deployed: bool = False,
) -> Release:
    step = Stage.step("weight", "10%", 10)
    if deployed:
        step = replace(step, status=StageStatus.SUCCEEDED, started_at=T0, finished_at=T0)
    return Release(
        service="checkout",
        environment="production",
        strategy=CATALOG.services["checkout"].default_strategy,
        version_to=version_to,
        version_from="v1.4.2",
        requested_by=requested_by,
        channel="C0RELEASES",
        stages=(step,),
        created_at=T0,
        id=id,
        state=state,
    )


# fmt: off
Y, N = True, False
USERS = (DEPLOYER, APPROVER, ONCALL, ADMIN, AUDITOR, NOBODY)
# Act:                 deployer approver oncall admin auditor nobody
ALLOWED = {
    Act.DEPLOY:       (Y, N, N, Y, N, N),
    Act.APPROVE:      (N, Y, N, Y, N, N),
    Act.REJECT:       (N, Y, N, Y, N, N),
    Act.PROMOTE:      (Y, N, N, Y, N, N),
    Act.PAUSE:        (Y, Y, Y, Y, N, N),
    Act.RESUME:       (Y, N, Y, Y, N, N),
    Act.ABORT:        (Y, N, Y, Y, N, N),
    Act.ROLLBACK:     (Y, N, Y, Y, N, N),
}
# fmt: on


def test_the_table_covers_every_act():
    assert set(ALLOWED) == set(Act)
    assert set(ROLE_GRANTS) == set(Act)


@pytest.mark.parametrize(
    ("act", "user", "allowed"),
    [
        pytest.param(act, user, row[i], id=f"{act.value}-{user}")
        for act, row in ALLOWED.items()
        for i, user in enumerate(USERS)
    ],
)
def test_role_by_act(act: Act, user: str, allowed: bool):
    decision = decide(
        CATALOG, user, act, service="checkout", environment="production", release=release()
    )
    assert decision.allowed is allowed, decision
    if allowed:
        assert decision.rule == f"rbac.{act.value}"
        assert decision.message == decision.reason
        return
    assert decision.rule == f"rbac.{act.value}"
    wanted = sorted(r.value for r in ROLE_GRANTS[act])
    has = sorted(r.value for r in CATALOG.roles_of(user)) or ["no role"]
    assert decision.reason == (
        f"You may not {act.value.replace('_', ' ')}: it needs the {' or '.join(wanted)} role "
        f"and you have {', '.join(has)}."
    )
    assert decision.needs == "Ask an admin to add you to the catalog's roles."
    assert decision.message == f"{decision.reason} {decision.needs}"


def test_allowed_reason_names_the_role():
    decision = decide(
        CATALOG, ONCALL, Act.PAUSE, service="checkout", environment="production", release=release()
    )
    assert decision.allowed and decision.rule == "rbac.pause"
    assert decision.reason == "allowed as oncall"
    # deploy passes through the lock check, whose allow does not repeat the role
    decision = decide(CATALOG, ADMIN, Act.DEPLOY, service="checkout", environment="production")
    assert decision.allowed and decision.rule == "rbac.deploy"


@pytest.mark.parametrize("act", [Act.APPROVE, Act.REJECT])
def test_self_approval_is_refused(act: Act):
    admin_release = release(requested_by=ADMIN)
    decision = decide(
        CATALOG, ADMIN, act, service="checkout", environment="production", release=admin_release
    )
    assert not decision.allowed
    assert decision.rule == "approval.not_requester"
    verb = act.value
    assert decision.reason == f"You requested release #12, so you cannot {verb} it yourself."
    assert decision.needs == f"Ask another approver: <@{APPROVER}>."
    assert "<@U0ADMIN>" not in decision.message


def test_self_approval_when_you_are_the_only_approver():
    alone = release(requested_by=APPROVER)
    catalog = CATALOG.model_copy(
        update={"roles": {Role.APPROVER: (APPROVER,), Role.DEPLOYER: (APPROVER,)}}
    )
    decision = decide(
        catalog, APPROVER, Act.APPROVE, service="checkout", environment="production", release=alone
    )
    assert decision.rule == "approval.not_requester"
    assert "Nobody else holds the approver role: ask an admin" in decision.needs


def test_a_requester_without_the_role_hears_about_the_role_first():
    decision = decide(
        CATALOG,
        REQUESTER,
        Act.APPROVE,
        service="checkout",
        environment="production",
        release=release(),
    )
    assert decision.rule == "rbac.approve"


def test_deploy_refused_while_another_release_is_active():
    active = release(7, requested_by=DEPLOYER, state=State.AWAITING_APPROVAL, version_to="v1.4.4")
    decision = decide(
        CATALOG,
        ADMIN,
        Act.DEPLOY,
        service="checkout",
        environment="production",
        facts=Facts(active_release=active),
    )
    assert not decision.allowed
    assert decision.rule == "lock.active_release"
    assert decision.reason == (
        "checkout in production already has an active release #7 "
        f"(v1.4.4, awaiting approval, requested by <@{DEPLOYER}>)."
    )
    assert decision.needs == "Wait for it to finish, or abort it with `/release abort #7`."
    assert "#7" in decision.message and "/release abort #7" in decision.message


def test_deploy_allowed_without_an_active_release():
    decision = decide(
        CATALOG,
        DEPLOYER,
        Act.DEPLOY,
        service="checkout",
        environment="production",
        facts=Facts(deployed_release=release(3, state=State.SUCCEEDED, deployed=True)),
    )
    assert decision.allowed and decision.rule == "rbac.deploy"


def test_lock_does_not_apply_to_other_acts():
    active = release(7)
    decision = decide(
        CATALOG,
        DEPLOYER,
        Act.PAUSE,
        service="checkout",
        environment="production",
        release=active,
        facts=Facts(active_release=active),
    )
    assert decision.allowed


def test_rollback_of_a_release_that_is_not_the_latest():
    old = release(5, state=State.SUCCEEDED, deployed=True)
    latest = release(9, state=State.SUCCEEDED, version_to="v1.4.4", deployed=True)
    decision = decide(
        CATALOG,
        ONCALL,
        Act.ROLLBACK,
        service="checkout",
        environment="production",
        release=old,
        facts=Facts(deployed_release=latest),
    )
    assert not decision.allowed
    assert decision.rule == "rollback.latest_only"
    assert decision.reason == (
        "Release #5 is not what runs in checkout/production now; #9 (v1.4.4) is newer."
    )
    assert decision.needs == "Roll back #9 instead: `/rollback checkout production`."


def test_rolling_back_a_release_that_moved_no_traffic_is_always_allowed():
    """It only aborts it; what runs is untouched."""
    gated = release(10, state=State.AWAITING_APPROVAL)
    live = release(9, state=State.SUCCEEDED, deployed=True)
    decision = decide(
        CATALOG,
        ONCALL,
        Act.ROLLBACK,
        service="checkout",
        environment="production",
        release=gated,
        facts=Facts(deployed_release=live),
    )
    assert decision.allowed


def test_rollback_of_the_latest_release():
    latest = release(9, state=State.SUCCEEDED, deployed=True)
    for facts in (Facts(deployed_release=latest), Facts(deployed_release=replace(latest)), Facts()):
        decision = decide(
            CATALOG,
            ONCALL,
            Act.ROLLBACK,
            service="checkout",
            environment="production",
            release=latest,
            facts=facts,
        )
        assert decision.allowed and decision.rule == "rbac.rollback"


def test_rollback_refusal_by_role_comes_before_latest_check():
    decision = decide(
        CATALOG,
        AUDITOR,
        Act.ROLLBACK,
        service="checkout",
        environment="production",
        release=release(5, deployed=True),
        facts=Facts(deployed_release=release(9, deployed=True)),
    )
    assert decision.rule == "rbac.rollback"
