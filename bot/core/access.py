"""Who holds which role where: catalog grants (users and Slack user groups, scoped to services
and environments), resolved with the group members the bot last read from Slack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.policy_config import Grant, People, Role

GroupMembers = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Holding:
    """One grant a person holds, and how: directly or through a group."""

    role: Role
    scope: str
    via: str


def holds(grant: Grant, user_id: str, groups: GroupMembers) -> str | None:
    """How `user_id` is named by `grant` ("you" or "group S…"), or None."""
    if user_id in grant.users:
        return "you"
    for group in grant.groups:
        if user_id in groups.get(group, frozenset()):
            return f"group <!subteam^{group}>"
    return None


def roles_in(
    catalog: Catalog, user_id: str, service: str, environment: str, groups: GroupMembers
) -> frozenset[Role]:
    return frozenset(
        grant.role
        for grant in catalog.all_grants()
        if grant.covers(service, environment) and holds(grant, user_id, groups)
    )


def holdings(catalog: Catalog, user_id: str, groups: GroupMembers) -> list[Holding]:
    """Every grant that names `user_id`, for /release whoami."""
    found = []
    for grant in catalog.all_grants():
        via = holds(grant, user_id, groups)
        if via:
            found.append(Holding(grant.role, grant.describe_scope(), via))
    return found


def people_in(
    catalog: Catalog, people: People, service: str, environment: str, groups: GroupMembers
) -> frozenset[str]:
    """Everyone `people` names for (service, environment): users, group members and the
    holders of its roles there."""
    found = set(people.users)
    for group in people.groups:
        found |= groups.get(group, frozenset())
    for grant in catalog.all_grants():
        if grant.role in people.roles and grant.covers(service, environment):
            found.update(grant.users)
            for group in grant.groups:
                found |= groups.get(group, frozenset())
    return frozenset(found)


def role_holders(
    catalog: Catalog, roles: frozenset[Role], service: str, environment: str, groups: GroupMembers
) -> frozenset[str]:
    return people_in(catalog, People(roles=tuple(roles)), service, environment, groups)


def groups_used(catalog: Catalog) -> frozenset[str]:
    """Every Slack user group the catalog names: these are read from Slack and cached."""
    used: set[str] = set()
    for grant in catalog.grants:
        used.update(grant.groups)
    for environment in catalog.environments.values():
        policy = environment.approval_policy
        used.update(policy.eligible.groups + policy.escalate_to.groups)
    for service in catalog.services.values():
        for policy in service.approvals.values():
            used.update(policy.eligible.groups + policy.escalate_to.groups)
    return frozenset(used)
