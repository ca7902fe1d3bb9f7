"""Handlers of the emulated Web API methods, by method name."""

from bot.emulator.methods import chat, conversations, directory, files, views
from bot.emulator.methods.common import ApiContext, Handler

HANDLERS: dict[str, Handler] = {
    **chat.HANDLERS,
    **conversations.HANDLERS,
    **directory.HANDLERS,
    **files.HANDLERS,
    **views.HANDLERS,
}

__all__ = ["HANDLERS", "ApiContext", "Handler"]
