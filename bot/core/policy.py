"""Who may do what, where, when: pure decisions from (actor, action, target, catalog, database
facts, time).

Every command and click goes through `decide` before anything changes. A Decision names the
rule that decided it and, when refused, what would make it pass. Checks run in a fixed order:
role in scope, then the environment's manual lock, then freezes, then the one-active-release
lock, then environment order; approvals add eligibility and the no-self-approval rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.access import GroupMembers, people_in, roles_in
from bot.core.catalog import Catalog
from bot.core.deploy_windows import ClosedWindow
from bot.core.freezes import Freeze
from bot.core.policy_config import ApprovalPolicy, People, Role
from bot.core.release import BreakGlass, Release, State
from bot.core.wording import slack_time


class Act(StrEnum):
    DEPLOY = "deploy"
    START = "start"  # a scheduled release, before its time
    APPROVE = "approve"
    REJECT = "reject"
    PROMOTE = "promote"
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    ROLLBACK = "rollback"
    LOCK = "lock"
    UNLOCK = "unlock"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"


ROLE_GRANTS: dict[Act, frozenset[Role]] = {
    Act.DEPLOY: frozenset({Role.DEPLOYER, Role.ADMIN}),
    Act.START: frozenset({Role.DEPLOYER, Role.ADMIN}),
    Act.PROMOTE: frozenset({Role.DEPLOYER, Role.ADMIN}),
    Act.PAUSE: frozenset({Role.DEPLOYER, Role.APPROVER, Role.ONCALL, Role.ADMIN}),
    Act.RESUME: frozenset({Role.DEPLOYER, Role.ONCALL, Role.ADMIN}),
    Act.ABORT: frozenset({Role.DEPLOYER, Role.ONCALL, Role.ADMIN}),
    Act.ROLLBACK: frozenset({Role.DEPLOYER, Role.ONCALL, Role.ROLLBACK_ONLY, Role.ADMIN}),
    Act.LOCK: frozenset({Role.DEPLOYER, Role.APPROVER, Role.ONCALL, Role.ADMIN}),
    Act.UNLOCK: frozenset({Role.DEPLOYER, Role.APPROVER, Role.ONCALL, Role.ADMIN}),
    Act.FREEZE: frozenset({Role.APPROVER, Role.ONCALL, Role.ADMIN}),
    Act.UNFREEZE: frozenset({Role.APPROVER, Role.ONCALL, Role.ADMIN}),
}
# Approve and reject are decided by the environment's approval policy (eligible people),
# not by a fixed role list; admins may always.
APPROVAL_ACTS = frozenset({Act.APPROVE, Act.REJECT})
ADMINS = People(roles=(Role.ADMIN,))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str
    needs: str = ""

    @property
    def message(self) -> str:
        return self.reason + (f" {self.needs}" if self.needs and not self.allowed else "")


@dataclass(frozen=True)
class EnvLock:
    """A person's lock on (service, environment): nobody else deploys until it is lifted or
    it expires."""

    id: int
    service: str
    environment: str
    owner: str
    reason: str
    created_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        return f"locked by <@{self.owner}> until {slack_time(self.expires_at)}: {self.reason}"


@dataclass(frozen=True)
class Facts:
    """What the database and Slack know that a decision may depend on."""

    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    active_release: Release | None = None
    deployed_release: Release | None = None
    lock: EnvLock | None = None
    freeze: Freeze | None = None
    closed_window: ClosedWindow | None = None  # outside the deploy windows at the start time
    version: str | None = None
    proven: bool | None = None  # did `version` succeed in the required earlier environment?
    escalated: bool = False  # the approval request was escalated (escalate_to may approve)
    break_glass: BreakGlass | None = None


def allow(rule: str, reason: str = "allowed") -> Decision:
    return Decision(True, rule, reason)


def refuse(rule: str, reason: str, needs: str = "") -> Decision:
    return Decision(False, rule, reason, needs)


def decide(
    catalog: Catalog,
    user_id: str,
    act: Act,
    *,
    service: str,
    environment: str,
    release: Release | None = None,
    facts: Facts = Facts(),
) -> Decision:
    if act in APPROVAL_ACTS:
        assert release is not None
        return _approval(catalog, user_id, act, release, facts)
    if act is Act.UNLOCK and facts.lock is not None and facts.lock.owner == user_id:
        return allow("lock.own", "your own lock")  # whatever your role, e.g. rollback-only
    granted = _role_check(catalog, user_id, act, service, environment, facts.groups)
    if not granted.allowed:
        return granted
    match act:
        case Act.DEPLOY:
            return _deploy(catalog, user_id, service, environment, facts) or granted
        case Act.ROLLBACK:
            return _rollback(service, environment, release, facts) or granted
        case Act.UNLOCK:
            return _unlock(catalog, user_id, service, environment, facts) or granted
    return granted


def approval_people(
    catalog: Catalog,
    policy: ApprovalPolicy,
    service: str,
    environment: str,
    groups: GroupMembers,
    *,
    escalated: bool = False,
) -> frozenset[str]:
    """Who may approve: the policy's eligible people, admins, and after an escalation the
    people it escalated to."""
    people = people_in(catalog, policy.eligible, service, environment, groups)
    admins = people_in(catalog, ADMINS, service, environment, groups)
    extra = (
        people_in(catalog, policy.escalate_to, service, environment, groups)
        if escalated
        else frozenset()
    )
    return people | admins | extra


def _approval(catalog: Catalog, user_id: str, act: Act, release: Release, facts: Facts) -> Decision:
    policy = catalog.approval_policy(release.service, release.environment)
    eligible = approval_people(
        catalog,
        policy,
        release.service,
        release.environment,
        facts.groups,
        escalated=facts.escalated,
    )
    verb = "approve" if act is Act.APPROVE else "reject"
    if user_id not in eligible:
        return refuse(
            f"approval.{verb}.eligible",
            f"You may not {verb} release {release.ref}: {_eligible_words(policy)} may, for "
            f"{release.service} in {release.environment}.",
            "Ask one of them, or an admin to make you eligible in the catalog.",
        )
    if release.requested_by == user_id:
        others = sorted(eligible - {user_id})
        if act is Act.REJECT:
            needs = f"To stop your own release, abort it: `/release abort {release.ref}`."
        elif others:
            needs = "Ask another approver: " + ", ".join(f"<@{u}>" for u in others) + "."
        else:
            needs = "Nobody else may approve it: ask an admin to add an approver to the catalog."
        return refuse(
            "approval.not_requester",
            f"You requested release {release.ref}, so you cannot {verb} it yourself.",
            needs,
        )
    before_ci = release.state in (State.SCHEDULED, State.AWAITING_CI)
    if act is Act.APPROVE and policy.not_commit_authors and before_ci:
        return refuse(
            "approval.too_early",
            f"Release {release.ref} has not been through CI yet, which names the authors of the "
            "change, and this environment's policy wants an approver who is not one of them.",
            "Approve once CI has reported; the Approve button appears then.",
        )
    completes = (
        act is Act.APPROVE
        and release.approvals_missing <= 1
        and release.state is not State.SCHEDULED
    )
    if completes and facts.freeze is not None and release.break_glass is None:
        return refuse(
            "freeze.window",
            f"Approving would start release {release.ref} during {facts.freeze.describe()}.",
            "Approve after the freeze, or redeploy it with break-glass, an incident and a reason.",
        )
    if act is Act.APPROVE and policy.not_commit_authors and user_id in release.authors:
        return refuse(
            "approval.not_author",
            f"You wrote commits in {release.version_to}, and this environment's policy wants "
            "an approver who did not.",
            "Ask an approver who is not an author of the change.",
        )
    rule = (
        "approval.escalated"
        if facts.escalated
        and user_id
        not in people_in(
            catalog, policy.eligible, release.service, release.environment, facts.groups
        )
        else f"approval.{verb}"
    )
    return allow(rule, f"eligible to {verb} under the {release.environment} approval policy")


def _role_check(
    catalog: Catalog,
    user_id: str,
    act: Act,
    service: str,
    environment: str,
    groups: GroupMembers,
) -> Decision:
    roles = roles_in(catalog, user_id, service, environment, groups)
    granted = roles & ROLE_GRANTS[act]
    if granted:
        return allow(
            f"rbac.{act.value}", f"allowed as {', '.join(sorted(r.value for r in granted))}"
        )
    wanted = " or ".join(sorted(r.value for r in ROLE_GRANTS[act]))
    has = ", ".join(sorted(r.value for r in roles)) or "no role"
    return refuse(
        f"rbac.{act.value}",
        f"You may not {act.value} {service} in {environment}: it needs the {wanted} role "
        f"there, and there you have {has}.",
        "`/release whoami` shows your grants; an admin can add one in the catalog.",
    )


def _deploy(
    catalog: Catalog, user_id: str, service: str, environment: str, facts: Facts
) -> Decision | None:
    lock = facts.lock
    if lock is not None and lock.owner != user_id:
        return refuse(
            "lock.environment",
            f"{service} in {environment} is {lock.describe()}.",
            f"Wait for it to expire, ask <@{lock.owner}> to `/release unlock {service} "
            f"{environment}`, or an admin to break it.",
        )
    if facts.freeze is None and facts.closed_window is None and facts.break_glass is not None:
        return refuse(
            "freeze.none",
            f"Nothing is frozen in {service}/{environment}, so there is no glass to break.",
            f"Deploy as usual, without `break-glass`: `/deploy {service} to {environment}`.",
        )
    if facts.freeze is not None:
        glass = facts.break_glass
        if glass is None or not glass.incident or not glass.reason:
            return refuse(
                "freeze.window",
                f"{service} in {environment} is frozen: {facts.freeze.describe()}. Rollbacks "
                "are still allowed.",
                f"In an emergency, break glass with an incident and a reason: `/deploy "
                f"{service} to {environment} break-glass INC-123 why it cannot wait` (it needs "
                "one more approval and is flagged in the audit trail).",
            )
    if facts.closed_window is not None and facts.break_glass is None:
        return refuse(
            "window.closed",
            f"{service} goes to {environment} {facts.closed_window.describe()}; "
            f"{_next_window(facts.closed_window)}",
            f"Schedule it for then with `at`: `/deploy {service} to {environment} at 22:00`, or "
            "in an emergency break glass with an incident and a reason.",
        )
    active = facts.active_release
    if active is not None:
        return refuse(
            "lock.active_release",
            f"{service} in {environment} already has an active release {active.ref} "
            f"({active.version_to or 'latest'}, {active.state.label}, requested by "
            f"<@{active.requested_by}>).",
            f"Wait for it to finish, or abort it with `/release abort {active.ref}`.",
        )
    required = catalog.environments[environment].requires
    if required and facts.proven is False:
        if facts.version is None:
            return refuse(
                "order.environment",
                f"Nothing has succeeded in {required} yet, and {environment} comes after it.",
                f"Deploy to {required} first: `/deploy {service} to {required}`.",
            )
        return refuse(
            "order.environment",
            f"{facts.version} has not succeeded in {required} yet, and {environment} comes "
            "after it.",
            f"Ship it there first: `/deploy {service} {facts.version} to {required}`.",
        )
    if facts.freeze is not None:
        return allow(
            "freeze.break_glass",
            f"break-glass deploy during {facts.freeze.describe()} for {facts.break_glass.incident}",
        )
    if facts.closed_window is not None and facts.break_glass is not None:
        return allow(
            "window.break_glass",
            f"break-glass deploy outside the deploy windows for {facts.break_glass.incident}",
        )
    return None


def _next_window(closed: ClosedWindow) -> str:
    if closed.next_opens is None:
        return "none opens in the next week."
    return f"the next opens {slack_time(closed.next_opens)}."


def _rollback(
    service: str, environment: str, release: Release | None, facts: Facts
) -> Decision | None:
    live = facts.deployed_release
    stale = release is not None and release.touched_traffic and live is not None
    if stale and live.id != release.id:
        return refuse(
            "rollback.latest_only",
            f"Release {release.ref} is not what runs in {service}/{environment} now; "
            f"{live.ref} ({live.version_to}) is newer.",
            f"Roll back {live.ref} instead: `/rollback {service} {environment}`.",
        )
    return None


def _unlock(
    catalog: Catalog, user_id: str, service: str, environment: str, facts: Facts
) -> Decision | None:
    lock = facts.lock
    if lock is None or lock.owner == user_id:
        return None
    if Role.ADMIN in roles_in(catalog, user_id, service, environment, facts.groups):
        return allow("lock.break", f"an admin breaks <@{lock.owner}>'s lock")
    return refuse(
        "lock.owner",
        f"{service} in {environment} is {lock.describe()}; only <@{lock.owner}> or an admin "
        "may lift it.",
        f"Ask <@{lock.owner}>, or wait for it to expire.",
    )


def _eligible_words(policy: ApprovalPolicy) -> str:
    parts = [f"the {role.value} role" for role in policy.eligible.roles]
    parts += [f"<@{user}>" for user in policy.eligible.users]
    parts += [f"<!subteam^{group}>" for group in policy.eligible.groups]
    return ", ".join(parts) or "nobody in particular"


def required_approvals(policy: ApprovalPolicy, break_glass: BreakGlass | None) -> int:
    """Breaking glass needs one approval more than the environment's policy."""
    return policy.required + (1 if break_glass else 0)


def may_start(release: Release, facts: Facts) -> Decision:
    """A release that waited at its gate (CI, approvals) may start its rollout only if no
    freeze and no other person's lock arrived meanwhile."""
    if facts.freeze is not None and release.break_glass is None:
        return refuse(
            "freeze.window",
            f"{release.service} in {release.environment} is frozen: {facts.freeze.describe()}.",
            "Deploy again after the freeze, or break glass with an incident and a reason.",
        )
    lock = facts.lock
    if lock is not None and lock.owner != release.requested_by:
        return refuse(
            "lock.environment",
            f"{release.service} in {release.environment} is {lock.describe()}.",
            f"Deploy again once <@{lock.owner}> has unlocked it or the lock expires.",
        )
    if facts.closed_window is not None and release.break_glass is None:
        return refuse(
            "window.closed",
            f"{release.service} goes to {release.environment} "
            f"{facts.closed_window.describe()}; {_next_window(facts.closed_window)}",
            "Deploy again in a window, or schedule it for the next one with `at`.",
        )
    return allow("gate.clear", "nothing holds the rollout back")
