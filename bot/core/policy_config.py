"""Release policy as the catalog declares it: scoped grants, approval policies, freeze
windows. Pure data and validation; bot/core/policy.py decides with it."""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.durations import parse_duration

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Role(StrEnum):
    DEPLOYER = "deployer"
    APPROVER = "approver"
    ONCALL = "oncall"
    ROLLBACK_ONLY = "rollback-only"
    ADMIN = "admin"
    AUDITOR = "auditor"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _seconds(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Seconds = Annotated[int, Field(ge=0)]


def check_user_ids(users: tuple[str, ...]) -> tuple[str, ...]:
    for user in users:
        if not USER_ID.fullmatch(user):
            raise ValueError(f"{user!r} is not a Slack user ID like U0ALICE")
    return users


def check_group_ids(groups: tuple[str, ...]) -> tuple[str, ...]:
    for group in groups:
        if not GROUP_ID.fullmatch(group):
            raise ValueError(f"{group!r} is not a Slack user group ID like S0APPROVERS")
    return groups


UserIds = Annotated[tuple[str, ...], AfterValidator(check_user_ids)]
GroupIds = Annotated[tuple[str, ...], AfterValidator(check_group_ids)]


class People(_Strict):
    """Who, as Slack sees them: user IDs, user group IDs (resolved through Slack's
    usergroups.users.list) and catalog roles."""

    users: UserIds = ()
    groups: GroupIds = ()
    roles: tuple[Role, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.users or self.groups or self.roles)


class Grant(_Strict):
    """A role for some services and environments (all when left out), to users and groups."""

    role: Role
    users: UserIds = ()
    groups: GroupIds = ()
    services: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _someone(self) -> Grant:
        if not (self.users or self.groups):
            raise ValueError(f"a {self.role.value} grant needs users or groups")
        return self

    def covers(self, service: str, environment: str) -> bool:
        return (not self.services or service in self.services) and (
            not self.environments or environment in self.environments
        )

    def describe_scope(self) -> str:
        services = ", ".join(self.services) if self.services else "every service"
        environments = ", ".join(self.environments) if self.environments else "every environment"
        return f"{services} in {environments}"


class ApprovalPolicy(_Strict):
    required: int = Field(default=0, ge=0, le=10)
    eligible: People = People(roles=(Role.APPROVER,))
    not_commit_authors: bool = False
    expires_after: Seconds | None = None
    remind_before: tuple[Seconds, ...] = ()
    escalate_after: Seconds | None = None
    escalate_to: People = People()
    auto_when_ci_green: bool = False

    _durations = field_validator("expires_after", "escalate_after", mode="before")(_seconds)

    @field_validator("remind_before", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(_seconds(item) for item in value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalPolicy:
        if self.remind_before and self.expires_after is None:
            raise ValueError("remind_before needs expires_after: reminders come before expiry")
        for before in self.remind_before:
            if self.expires_after is not None and before >= self.expires_after:
                raise ValueError(
                    f"a reminder {before}s before expiry comes before the request "
                    f"(it expires after {self.expires_after}s)"
                )
        if self.escalate_after is not None:
            if self.escalate_to.empty:
                raise ValueError("escalate_after needs escalate_to: who to escalate to")
            if self.expires_after is not None and self.escalate_after >= self.expires_after:
                raise ValueError(
                    f"escalation after {self.escalate_after}s never happens: the request "
                    f"expires after {self.expires_after}s"
                )
        if self.auto_when_ci_green and self.required:
            raise ValueError(
                "auto_when_ci_green approves on green CI; it cannot also require approvals"
            )
        return self


class FreezeWindow(_Strict):
    """No deploys (rollbacks are always allowed): once, between `start` and `end`, or every
    week, from `weekly.start` to `weekly.end` (e.g. "fri 16:00" to "mon 08:00"), in a named
    time zone. Empty services / environments mean all of them."""

    name: str = Field(pattern=r"^[\w .'-]{1,60}$")
    environments: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    weekly: WeeklySpan | None = None
    reason: str = ""

    _known_zone = field_validator("timezone")(lambda zone: time_zone_name(zone))

    @model_validator(mode="after")
    def _one_kind(self) -> FreezeWindow:
        once = self.start is not None or self.end is not None
        if once == (self.weekly is not None):
            raise ValueError("a freeze is either once (start and end) or weekly, not both")
        if once:
            if self.start is None or self.end is None:
                raise ValueError("a one-off freeze needs both start and end")
            if self.local(self.end) <= self.local(self.start):
                raise ValueError("a freeze must end after it starts")
        return self

    def local(self, moment: datetime) -> datetime:
        zone = ZoneInfo(self.timezone)
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)

    def covers(self, service: str, environment: str) -> bool:
        return (not self.services or service in self.services) and (
            not self.environments or environment in self.environments
        )


class WeeklySpan(_Strict):
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _day_and_time(cls, value: str) -> str:
        parse_weekday_time(value)
        return value.lower()

    @model_validator(mode="after")
    def _not_all_week(self) -> WeeklySpan:
        if parse_weekday_time(self.start) == parse_weekday_time(self.end):
            raise ValueError("a weekly freeze that ends when it starts would last all week")
        return self


def parse_weekday_time(text: str) -> tuple[int, time]:
    """ "fri 16:00" -> (4, 16:00)."""
    parts = text.strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
        raise ValueError(f"{text!r}: write a day and a time, like 'fri 16:00'")
    return WEEKDAYS.index(parts[0][:3]), clock_time(parts[1], text)


def clock_time(text: str, said: str | None = None) -> time:
    """ "22:00" -> 22:00 (24-hour, ASCII digits)."""
    try:
        if not text.isascii() or text.count(":") != 1:
            raise ValueError(text)
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValueError(f"{said or text!r}: the time must look like 16:00") from exc


def time_zone_name(zone: str) -> str:
    """`zone` if it names a time zone (Europe/Berlin, UTC)."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{zone!r} is not a time zone name like Europe/Berlin") from exc
    return zone


FreezeWindow.model_rebuild()
