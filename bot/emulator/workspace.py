"""The people, channels and groups of the emulated Slack workspace."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    title: str = ""
    tz: str = "Etc/UTC"  # as users.info gives it


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    is_im: bool = False
    is_private: bool = False


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


@dataclass
class Workspace:
    team_id: str
    team_name: str
    bot_user_id: str
    bot_id: str
    app_id: str
    users: list[User] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    usergroups: list[UserGroup] = field(default_factory=list)
    bot_name: str = "releasebot"
    team_domain: str = ""

    def __post_init__(self) -> None:
        if not self.team_domain:
            self.team_domain = self.team_name.lower().replace(" ", "-")

    def user(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def channel(self, channel_id_or_name: str) -> Channel | None:
        name = channel_id_or_name.removeprefix("#")
        return next(
            (c for c in self.channels if c.id == channel_id_or_name or c.name == name), None
        )

    def usergroup(self, group_id: str) -> UserGroup | None:
        return next((g for g in self.usergroups if g.id == group_id), None)

    def bot_user(self) -> User:
        return User(self.bot_user_id, self.bot_name, self.bot_name, "app")

    def im_with(self, user_id: str) -> Channel:
        """The bot's direct-message channel with a user, created on first use."""
        im_id = "D" + user_id[1:]
        existing = self.channel(im_id)
        if existing is not None:
            return existing
        im = Channel(im_id, im_id, [user_id, self.bot_user_id], is_im=True, is_private=True)
        self.channels.append(im)
        return im


def default_workspace() -> Workspace:
    users = [
        User("U0ALICE", "alice", "Alice Engineer", "deployer", tz="Europe/Berlin"),
        User("U0BOB", "bob", "Bob Approver", "approver / release manager"),
        User("U0CAROL", "carol", "Carol Oncall", "on-call"),
        User("U0DAVE", "dave", "Dave Admin", "admin"),
        User("U0ERIN", "erin", "Erin Auditor", "auditor"),
        User("U0FRANK", "frank", "Frank Approver", "approver"),
    ]
    everyone = [u.id for u in users] + ["U0RELBOT"]
    return Workspace(
        team_id="T0RELEASE",
        team_name="releasebot-local",
        bot_user_id="U0RELBOT",
        bot_id="B0RELBOT",
        app_id="A0RELBOT",
        users=users,
        channels=[
            Channel("C0DEPLOYS", "deploys", list(everyone)),
            Channel("C0RELEASES", "releases", list(everyone)),
        ],
        usergroups=[
            UserGroup(
                "S0APPROVERS", "release-approvers", "Release approvers", ["U0BOB", "U0FRANK"]
            ),
            UserGroup("S0ONCALL", "oncall", "On-call", ["U0CAROL"]),
        ],
    )
