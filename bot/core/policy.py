"""Who may do what: pure decisions from (actor, action, target, catalog, database facts, time).

Every command and click goes through `decide` before anything changes; each Decision names the
rule that decided it and, when refused, what would make it pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.catalog import Catalog, Role
from bot.core.release import Release


class Act(StrEnum):
    DEPLOY = "deploy"
    APPROVE = "approve"
    REJECT = "reject"
    PROMOTE = "promote"
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    ROLLBACK = "rollback"


ROLE_GRANTS: dict[Act, frozenset[Role]] = {
    Act.DEPLOY: frozenset({Role.DEPLOYER, Role.ADMIN}),
    Act.APPROVE: frozenset({Role.APPROVER, Role.ADMIN}),
    Act.REJECT: frozenset({Role.APPROVER, Role.ADMIN}),
    Act.PROMOTE: frozenset({Role.DEPLOYER, Role.ADMIN}),
    Act.PAUSE: frozenset({Role.DEPLOYER, Role.APPROVER, Role.ONCALL, Role.ADMIN}),
    Act.RESUME: frozenset({Role.DEPLOYER, Role.ONCALL, Role.ADMIN}),
    Act.ABORT: frozenset({Role.DEPLOYER, Role.ONCALL, Role.ADMIN}),
    Act.ROLLBACK: frozenset({Role.DEPLOYER, Role.ONCALL, Role.ADMIN}),
}


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
class Facts:
    """What the database knows that a decision may depend on: the active release holding the
    (service, environment) lock, and the newest release there that moved traffic."""

    active_release: Release | None = None
    deployed_release: Release | None = None


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
    role_decision = _role_check(catalog, user_id, act)
    if not role_decision.allowed:
        return role_decision
    match act:
        case Act.DEPLOY:
            lock = _lock(service, environment, facts)
            if lock is not None:
                return lock
        case Act.APPROVE | Act.REJECT:
            assert release is not None
            if release.requested_by == user_id:
                verb = "approve" if act is Act.APPROVE else "reject"
                return refuse(
                    "approval.not_requester",
                    f"You requested release {release.ref}, so you cannot {verb} it yourself.",
                    _ask_another_approver(catalog, user_id),
                )
        case Act.ROLLBACK:
            live = facts.deployed_release
            stale = release is not None and release.touched_traffic and live is not None
            if stale and live.id != release.id:
                return refuse(
                    "rollback.latest_only",
                    f"Release {release.ref} is not what runs in {service}/{environment} now; "
                    f"{live.ref} ({live.version_to}) is newer.",
                    f"Roll back {live.ref} instead: `/rollback {service} {environment}`.",
                )
    return role_decision


def _role_check(catalog: Catalog, user_id: str, act: Act) -> Decision:
    roles = catalog.roles_of(user_id)
    granted = roles & ROLE_GRANTS[act]
    if granted:
        return allow(
            f"rbac.{act.value}", f"allowed as {', '.join(sorted(r.value for r in granted))}"
        )
    wanted = " or ".join(sorted(r.value for r in ROLE_GRANTS[act]))
    has = ", ".join(sorted(r.value for r in roles)) or "no role"
    return refuse(
        f"rbac.{act.value}",
        f"You may not {act.value.replace('_', ' ')}: "
        f"it needs the {wanted} role and you have {has}.",
        "Ask an admin to add you to the catalog's roles.",
    )


def _lock(service: str, environment: str, facts: Facts) -> Decision | None:
    active = facts.active_release
    if active is not None:
        return refuse(
            "lock.active_release",
            f"{service} in {environment} already has an active release {active.ref} "
            f"({active.version_to}, {active.state.label}, requested by <@{active.requested_by}>).",
            f"Wait for it to finish, or abort it with `/release abort {active.ref}`.",
        )
    return None


def _ask_another_approver(catalog: Catalog, user_id: str) -> str:
    others = [f"<@{user}>" for user in catalog.users_with(Role.APPROVER) if user != user_id]
    if not others:
        return "Nobody else holds the approver role: ask an admin to add one to the catalog."
    return "Ask another approver: " + ", ".join(others) + "."
