"""The catalog: services, environments, roles and backends, declared as code.

Pure data and validation. Loading a file (and mapping errors to lines) lives in
bot/app/catalog_file.py; secrets never live here: backends name environment variables instead.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core import catalog_references
from bot.core.deploy_windows import DeployWindow, DeployWindows
from bot.core.durations import parse_duration
from bot.core.notify_plan import NotifyPlan
from bot.core.policy_config import ApprovalPolicy, FreezeWindow, Grant, Role
from bot.core.quality.gates import Gates

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
SECRET_KEY_HINTS = ("token", "secret", "password", "apikey", "api_key", "private_key")


class StrategyName(StrEnum):
    CANARY = "canary"
    BLUE_GREEN = "blue-green"
    ROLLING = "rolling"
    FEATURE_FLAG = "feature-flag"


Seconds = Annotated[int, Field(ge=0)]


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    order: int = 0
    aliases: tuple[str, ...] = ()
    approvals: int = Field(default=0, ge=0, le=10)
    approval: ApprovalPolicy | None = None
    requires: str | None = None
    lock_on_rollback: bool = False
    production: bool = False
    auto_rollback: bool = True
    windows: tuple[DeployWindow, ...] = ()  # none: any time (freezes still apply)
    when_window_closes: Literal["finish", "pause"] = "finish"
    gates: Gates = Gates()  # quality gates a version must pass, beyond CI
    notify: NotifyPlan = NotifyPlan()  # who hears what, beyond the channel it was asked in

    @model_validator(mode="after")
    def _one_way_to_say_approvals(self) -> Environment:
        if (
            self.approval is not None
            and self.approvals
            and self.approvals != self.approval.required
        ):
            raise ValueError(
                f"approvals: {self.approvals} and approval.required: {self.approval.required} "
                "disagree; keep one"
            )
        return self

    @property
    def approval_policy(self) -> ApprovalPolicy:
        return self.approval or ApprovalPolicy(required=self.approvals)

    @field_validator("aliases")
    @classmethod
    def _lower_aliases(cls, aliases: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(alias.lower() for alias in aliases)


class _SteppedPlan(_Strict):
    """Traffic (or flag) percentages, with a bake after each step but the last."""

    steps: tuple[int, ...] = (10, 50, 100)
    bake: Seconds = 300

    _bake = field_validator("bake", mode="before")(_duration)

    @field_validator("steps")
    @classmethod
    def _ascending_to_100(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        return _check_percent_steps(steps)


class CanaryPlan(_SteppedPlan):
    pass


class BlueGreenPlan(_Strict):
    verify: Seconds = 300
    keep_blue: Seconds = 600

    _verify = field_validator("verify", "keep_blue", mode="before")(_duration)


class RollingPlan(_Strict):
    batches: int = Field(default=3, ge=1, le=20)
    bake: Seconds = 120

    _bake = field_validator("bake", mode="before")(_duration)


class FeatureFlagPlan(_SteppedPlan):
    steps: tuple[int, ...] = (25, 50, 100)


def _check_percent_steps(steps: tuple[int, ...]) -> tuple[int, ...]:
    if not steps:
        raise ValueError("needs at least one step")
    if any(not 0 < step <= 100 for step in steps):
        raise ValueError("each step is a percentage between 1 and 100")
    if list(steps) != sorted(set(steps)):
        raise ValueError("steps must be strictly ascending")
    if steps[-1] != 100:
        raise ValueError("the last step must be 100")
    return steps


# Placeholders a metric's query may use, filled per release. Double braces, because PromQL
# uses single ones for label matchers.
QUERY_PLACEHOLDERS = ("service", "environment", "version", "repository", "window")
QUERY_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class Metric(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    max: float | None = None
    min: float | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _has_threshold(self) -> Metric:
        if self.max is None and self.min is None:
            raise ValueError(f"metric {self.name!r} needs a threshold: max or min")
        unknown = [
            name
            for name in QUERY_PLACEHOLDER.findall(self.query or "")
            if name not in QUERY_PLACEHOLDERS
        ]
        if unknown:
            raise ValueError(
                f"metric {self.name!r}: unknown placeholder {{{{{unknown[0]}}}}} in query; "
                f"known: {', '.join(QUERY_PLACEHOLDERS)}"
            )
        return self


class Analysis(_Strict):
    interval: Seconds = 60
    failure_limit: int = Field(default=0, ge=0)
    # Measurements per analysis stage; once taken the stage passes early. None: measure every
    # `interval` until the bake time is over.
    count: int | None = Field(default=None, ge=1)
    metrics: tuple[Metric, ...] = ()

    _interval = field_validator("interval", mode="before")(_duration)


class BackendRefs(_Strict):
    ci: str = "simulated"
    deployer: str = "simulated"
    monitor: str = "simulated"
    flags: str = "simulated"
    deployments: str | None = None  # a backend that records releases (GitHub Deployments)
    reports: str | None = None  # a backend that finds the quality reports of a version


class Service(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    environments: tuple[str, ...]
    default_environment: str | None = None
    default_strategy: StrategyName = StrategyName.CANARY
    canary: CanaryPlan = CanaryPlan()
    blue_green: BlueGreenPlan = Field(default=BlueGreenPlan(), alias="blue-green")
    rolling: RollingPlan = RollingPlan()
    feature_flag: FeatureFlagPlan = Field(default=FeatureFlagPlan(), alias="feature-flag")
    analysis: Analysis = Analysis()
    backends: BackendRefs = BackendRefs()
    concurrent_releases: bool = False
    approvals: dict[str, ApprovalPolicy] = {}
    windows: dict[str, tuple[DeployWindow, ...]] = {}  # by environment, instead of its own
    gates: dict[str, Gates] = {}  # by environment, instead of its own
    notify: dict[str, NotifyPlan] = {}  # by environment, instead of its own

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def first_environment(self) -> str:
        return self.default_environment or self.environments[0]


class Backend(_Strict):
    """A named integration instance. `settings` are adapter specific; secrets are named by
    `*_env` / `*_file` keys that point at environment variables or files."""

    type: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    settings: dict[str, Any] = {}

    @field_validator("settings")
    @classmethod
    def _no_inline_secrets(cls, settings: dict[str, Any]) -> dict[str, Any]:
        _refuse_secrets(settings, "")
        return settings


def _refuse_secrets(node: Any, path: str) -> None:
    if isinstance(node, list):
        for position, item in enumerate(node):
            _refuse_secrets(item, f"{path}[{position}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        where = f"{path}.{key}" if path else str(key)
        lowered = str(key).lower()
        if lowered.endswith(("_env", "_file")):
            continue
        if (
            any(hint in lowered for hint in SECRET_KEY_HINTS)
            and isinstance(value, str | int)
            and value != ""
        ):
            raise ValueError(
                f"{where!r} looks like a secret; secrets never live in the catalog: "
                f"name an environment variable with {key}_env instead"
            )
        _refuse_secrets(value, where)


Problem = tuple[tuple[str | int, ...], str]  # the path of the field to fix, and what is wrong


class CatalogReferenceError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))


class Bands(_Strict):
    """Thresholds for elite / high / medium; anything beyond is low."""

    deploys_per_day: tuple[float, float, float] = (1.0, 1 / 7, 1 / 30)  # at least
    lead_time_hours: tuple[float, float, float] = (24.0, 24.0 * 7, 24.0 * 30)  # at most
    change_failure_rate: tuple[float, float, float] = (0.05, 0.10, 0.15)  # at most
    restore_hours: tuple[float, float, float] = (1.0, 24.0, 24.0 * 7)  # at most


class DoraSettings(_Strict):
    bands: Bands = Field(default_factory=Bands)


class Catalog(_Strict):
    """Environments and services are mappings keyed by name, as they are written in YAML, so a
    validation error's location is the path to the offending line."""

    version: Literal[1] = 1
    environments: dict[str, Environment]
    services: dict[str, Service]
    roles: dict[Role, tuple[str, ...]] = {}
    grants: tuple[Grant, ...] = ()
    freezes: tuple[FreezeWindow, ...] = ()
    # Slack user ID -> the names the CI system knows them by (logins, emails), so "the
    # approver must not be an author of the commits" can be checked.
    identities: dict[str, tuple[str, ...]] = {}
    backends: dict[str, Backend] = {"simulated": Backend(type="simulated")}
    dora: DoraSettings = DoraSettings()

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section in ("environments", "services"):
            entries = data.get(section)
            if isinstance(entries, dict):
                data[section] = {
                    key: ({"name": key, **value} if isinstance(value, dict) else value)
                    for key, value in entries.items()
                }
        return data

    @field_validator("identities")
    @classmethod
    def _identity_keys(cls, identities: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for user in identities:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user):
                raise ValueError(f"{user!r} is not a Slack user ID like U0ALICE")
        return identities

    @field_validator("roles")
    @classmethod
    def _user_ids(cls, roles: dict[Role, tuple[str, ...]]) -> dict[Role, tuple[str, ...]]:
        for role, users in roles.items():
            for user in users:
                if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user):
                    raise ValueError(f"{role.value}: {user!r} is not a Slack user ID like U0ALICE")
        return roles

    @model_validator(mode="after")
    def _cross_references(self) -> Catalog:
        problems = self.reference_problems()
        if problems:
            raise CatalogReferenceError(problems)
        return self

    def reference_problems(self) -> list[Problem]:
        """Problems that span fields, each with the path of the field to fix."""
        return catalog_references.reference_problems(self)

    # Look-ups used across the bot.

    def service(self, name: str) -> Service | None:
        return self.services.get(name.lower())

    def environment(self, name_or_alias: str) -> Environment | None:
        wanted = name_or_alias.lower()
        for env in self.environments.values():
            if wanted == env.name or wanted in env.aliases:
                return env
        return None

    def ordered_environments(self) -> list[Environment]:
        return sorted(self.environments.values(), key=lambda env: (env.order, env.name))

    def roles_of(self, user_id: str) -> frozenset[Role]:
        """Roles granted everywhere (the `roles:` section), without groups."""
        return frozenset(role for role, users in self.roles.items() if user_id in users)

    def users_with(self, role: Role) -> tuple[str, ...]:
        return self.roles.get(role, ())

    def all_grants(self) -> tuple[Grant, ...]:
        """`roles:` (everywhere) and `grants:` (scoped) as one list."""
        everywhere = tuple(
            Grant(role=role, users=users) for role, users in self.roles.items() if users
        )
        return everywhere + self.grants

    def slack_users(self, identities: tuple[str, ...]) -> tuple[str, ...]:
        """CI identities -> Slack user IDs (an identity that is a Slack ID counts as itself)."""
        wanted = {identity.lower() for identity in identities}
        found = [
            user
            for user, names in self.identities.items()
            if user.lower() in wanted or wanted & {name.lower() for name in names}
        ]
        found += [i for i in identities if re.fullmatch(r"[UW][A-Z0-9]{2,}", i) and i not in found]
        return tuple(sorted(set(found)))

    def approval_policy(self, service: str, environment: str) -> ApprovalPolicy:
        override = self.services[service].approvals.get(environment)
        return override or self.environments[environment].approval_policy

    def notify_plan(self, service: str, environment: str) -> NotifyPlan:
        own = self.services[service].notify.get(environment)
        return self.environments[environment].notify if own is None else own

    def gates(self, service: str, environment: str) -> Gates:
        """The quality gates `service` must pass to go to `environment`."""
        own = self.services[service].gates.get(environment)
        return self.environments[environment].gates if own is None else own

    def deploy_windows(self, service: str, environment: str) -> DeployWindows:
        """When `service` may be deployed to `environment`: its own windows there, else the
        environment's (none: any time)."""
        env = self.environments[environment]
        own = self.services[service].windows.get(environment)
        chosen = env.windows if own is None else own
        return DeployWindows(windows=chosen, when_closed=env.when_window_closes)
