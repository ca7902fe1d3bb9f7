"""The catalog's checks that span fields: names and aliases, what services and policies refer
to, environment order. Each problem comes with the path of the field to fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.catalog import Catalog, Problem


def reference_problems(catalog: Catalog) -> list[Problem]:
    """Problems that span fields, each with the path of the field to fix."""
    problems: list[Problem] = []
    env_names = list(catalog.environments)
    for section_name, section in (
        ("environments", catalog.environments),
        ("services", catalog.services),
    ):
        for key, entry in section.items():
            if entry.name != key:
                problems.append(
                    (
                        (section_name, key, "name"),
                        f"{key!r} has name {entry.name!r}: leave the name out",
                    )
                )
    aliases: dict[str, str] = {}
    for env in catalog.environments.values():
        for alias in (env.name, *env.aliases):
            if alias in aliases and aliases[alias] != env.name:
                problems.append(
                    (
                        ("environments", env.name, "aliases"),
                        f"alias {alias!r} names both {aliases[alias]!r} and {env.name!r}",
                    )
                )
            aliases[alias] = env.name
    for svc in catalog.services.values():
        where = ("services", svc.name)
        if not svc.environments:
            problems.append(((*where, "environments"), "needs at least one environment"))
        for position, env in enumerate(svc.environments):
            if env not in env_names:
                problems.append(
                    (
                        (*where, "environments", position),
                        f"unknown environment {env!r} (declared: {', '.join(env_names)})",
                    )
                )
        if svc.default_environment and svc.default_environment not in svc.environments:
            problems.append(
                (
                    (*where, "default_environment"),
                    f"{svc.default_environment!r} is not one of the service's environments",
                )
            )
        for kind, ref in svc.backends.model_dump().items():
            if ref is not None and ref not in catalog.backends:
                declared = ", ".join(catalog.backends) or "none"
                problems.append(
                    (
                        (*where, "backends", kind),
                        f"backend {ref!r} is not declared under backends (declared: {declared})",
                    )
                )
    return problems + _policy_problems(catalog) + _gate_problems(catalog)


def _gate_problems(catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for svc in catalog.services.values():
        gated = [
            env
            for env in svc.environments
            if env in catalog.environments and not catalog.gates(svc.name, env).none
        ]
        if gated and svc.backends.reports is None:
            problems.append(
                (
                    ("services", svc.name, "backends", "reports"),
                    f"gates in {', '.join(gated)} need a backend that finds the reports "
                    "(backends.reports)",
                )
            )
    return problems


def _policy_problems(catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    envs, services = set(catalog.environments), set(catalog.services)

    def known(
        loc: tuple[str | int, ...], names: tuple[str, ...], declared: set[str], what: str
    ) -> None:
        for position, name in enumerate(names):
            if name not in declared:
                problems.append(
                    (
                        (*loc, position),
                        f"unknown {what} {name!r} (declared: {', '.join(sorted(declared))})",
                    )
                )

    for index, grant in enumerate(catalog.grants):
        known(("grants", index, "services"), grant.services, services, "service")
        known(("grants", index, "environments"), grant.environments, envs, "environment")
    for index, window in enumerate(catalog.freezes):
        known(("freezes", index, "services"), window.services, services, "service")
        known(("freezes", index, "environments"), window.environments, envs, "environment")
    position = {env.name: at for at, env in enumerate(catalog.ordered_environments())}
    for env in catalog.environments.values():
        if env.requires is None:
            continue
        if env.requires not in envs:
            # `requires` is one name, not a list: its path has no position.
            problems.append(
                (
                    ("environments", env.name, "requires"),
                    f"unknown environment {env.requires!r} (declared: {', '.join(sorted(envs))})",
                )
            )
        elif position[env.requires] >= position[env.name]:
            problems.append(
                (
                    ("environments", env.name, "requires"),
                    f"{env.requires!r} must come before {env.name!r} (order)",
                )
            )
    for svc in catalog.services.values():
        sections = (
            ("approvals", svc.approvals),
            ("windows", svc.windows),
            ("gates", svc.gates),
            ("notify", svc.notify),
        )
        for section, by_environment in sections:
            for env_name in by_environment:
                if env_name not in svc.environments:
                    problems.append(
                        (
                            ("services", svc.name, section, env_name),
                            f"{svc.name} is not deployed to {env_name!r}",
                        )
                    )
    return problems
