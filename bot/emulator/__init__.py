"""A local Slack stand-in: a Web API for the bot, a console for people, a driver for tests,
fault injection (/_faults) and a control API for tests in other processes (/_control)."""

from bot.emulator.driver import DeliveryResult
from bot.emulator.emulator import Emulator, create_emulator
from bot.emulator.faults import Fault, FaultError, FaultSchedule
from bot.emulator.records import Banner, Ephemeral, File, Message, RecordedCall, View
from bot.emulator.workspace import Channel, User, UserGroup, Workspace, default_workspace

__all__ = [
    "Banner",
    "Channel",
    "DeliveryResult",
    "Emulator",
    "Ephemeral",
    "Fault",
    "FaultError",
    "FaultSchedule",
    "File",
    "Message",
    "RecordedCall",
    "User",
    "UserGroup",
    "View",
    "Workspace",
    "create_emulator",
    "default_workspace",
]
