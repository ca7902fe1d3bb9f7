"""The bolt app in front of the inbox: its listeners only write a request down, then ack, so
Slack's OK follows the write; it asks Slack nothing to authorize a request."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.ports import StorageUnavailable
from bot.services.inbox import Inbox
from bot.slack.listeners import register


def bolt_app(
    inbox: Inbox, api_url: str, bot_token: str, signing_secret: str, timeout_s: float
) -> AsyncApp:
    bolt = AsyncApp(
        # The listeners call no Slack method: bolt gets a client without the token, and an
        # `authorize` that asks Slack nothing (see `_authorize_offline`).
        client=AsyncWebClient(base_url=api_url, timeout=timeout_s, retry_handlers=[]),
        authorize=_authorize_offline(bot_token),
        signing_secret=signing_secret or None,
        request_verification_enabled=False,
        # Listeners only make the request durable, then ack: Slack's OK follows the write.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    register(bolt, inbox)
    _register_error_handler(bolt)
    return bolt


def _authorize_offline(bot_token: str):
    """Authorize a request without calling Slack. bolt's default for a single workspace asks
    auth.test on the first request it gets; while Slack's Web API is down or slow, that request
    is answered HTTP 200 "reinstall this app" (or after the 3 s Slack waits) and never written
    down: an OK followed by nothing. That a request is Slack's is proven by its signature
    (checked in /slack/events) or the Socket Mode connection, and the listeners only write it
    to the inbox."""

    async def authorize(enterprise_id, team_id, user_id) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=bot_token
        )

    return authorize


def _register_error_handler(bolt: AsyncApp) -> None:
    @bolt.error
    async def on_error(error: Exception, body: dict, logger, response=None) -> None:
        """A listener failed before its ack: Slack gets no OK and shows the person its own
        error, which is true (nothing was recorded). 503 when the database is the cause."""
        if isinstance(error, StorageUnavailable):
            logger.error("a Slack request was refused, not acknowledged: %s", error)
            if response is not None:
                response.status = 503
                response.body = "releasebot cannot record requests right now"
            return
        logger.exception("listener failed: %s", type(error).__name__, exc_info=error)
