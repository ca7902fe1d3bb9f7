"""Policies that are valid YAML but cannot work: more approvals than people who may give
them, every eligible approver needed while the requester is one of them. `releasebot config
check` and `serve` report them; Slack user groups are counted when their members are known."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.policy import approval_people
from bot.core.policy_config import Role
from bot.core.wording import plural


@dataclass(frozen=True)
class PolicyProblem:
    path: tuple[str | int, ...]
    message: str
    severity: str = "error"  # or "warning"


def policy_problems(
    catalog: Catalog, group_members: Mapping[str, frozenset[str]] | None = None
) -> list[PolicyProblem]:
    """`group_members` maps Slack user group IDs to members; groups missing from it are
    reported as not counted (a warning), not guessed."""
    members = group_members or {}
    problems: list[PolicyProblem] = []
    uncounted: set[str] = set()
    for service in catalog.services.values():
        for environment in service.environments:
            policy = catalog.approval_policy(service.name, environment)
            if not policy.required:
                continue
            # The same people the policy lets approve (admins included), with the group
            # members known; groups named directly or granted an eligible role are tracked.
            people = set(approval_people(catalog, policy, service.name, environment, members))
            eligible_roles = {*policy.eligible.roles, Role.ADMIN}
            groups = set(policy.eligible.groups) | {
                group
                for grant in catalog.all_grants()
                if grant.role in eligible_roles and grant.covers(service.name, environment)
                for group in grant.groups
            }
            uncounted |= {group for group in groups if group not in members}
            if any(group not in members for group in groups):
                continue
            where = _policy_path(catalog, service.name, environment)
            who = ", ".join(sorted(people)) or "nobody"
            if len(people) < policy.required:
                problems.append(
                    PolicyProblem(
                        where,
                        f"{service.name} in {environment} needs "
                        f"{plural(policy.required, 'approval')} but only "
                        f"{plural(len(people), 'person', 'people')} may approve ({who})",
                    )
                )
            elif len(people) == policy.required:
                problems.append(
                    PolicyProblem(
                        where,
                        f"{service.name} in {environment} needs every one of its {len(people)} "
                        f"approvers ({who}); a release one of them requests can never be approved",
                        "warning",
                    )
                )
    for group in sorted(uncounted):
        problems.append(
            PolicyProblem(
                ("groups", group),
                f"cannot count the members of user group {group} without Slack: set "
                "SLACK_BOT_TOKEN to check approval policies that use it",
                "warning",
            )
        )
    return problems


def _policy_path(catalog: Catalog, service: str, environment: str) -> tuple[str | int, ...]:
    if environment in catalog.services[service].approvals:
        return ("services", service, "approvals", environment, "required")
    if catalog.environments[environment].approval is not None:
        return ("environments", environment, "approval", "required")
    return ("environments", environment, "approvals")
