"""The Chat port over Slack's Web API (slack_sdk), translating its errors at the boundary.

No automatic connection-error retries: a retried chat.postMessage could post twice. What Slack
answers is sorted here, once: HTTP 429 -> ChatError(retry_after_s=...), a pause, not a failed
attempt; an error Slack names (channel_not_found, ...) -> permanent, with its name; anything
else (no answer in time, a reset connection, a 5xx or an HTML page from a load balancer, an
error Slack names as temporary) -> retryable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.policy_config import time_zone_name
from bot.core.ports import ChatError, ChatMessage, IntegrationError

METADATA_EVENT = "releasebot_message"
# Errors Slack names that say "not now" rather than "never" (its method docs describe them so).
TEMPORARY_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
        "org_login_required",
        "external_channel_migrating",
        "update_failed",
        "streaming_state_conflict",
        "message_limit_exceeded",
    }
)
NOT_ANSWERED = (SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


class SlackChat:
    def __init__(
        self,
        client: AsyncWebClient,
        response_timeout_s: float = 5.0,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        """`http`: the connections to share between calls (`client` should use it too);
        without it, each call opens its own. `close` closes it."""
        self._client = client
        self._response_timeout_s = response_timeout_s
        self._http = http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def post(
        self, channel: str, message: ChatMessage, *, thread_ts: str | None, key: str
    ) -> str:
        response = await _call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            unfurl_links=False,
            unfurl_media=False,
        )
        return response["ts"]

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime | None = None
    ) -> str | None:
        oldest = f"{since.timestamp() - 60:.6f}" if since else None
        if thread_ts:
            response = await _call(
                "conversations.replies",
                self._client.conversations_replies,
                channel=channel,
                ts=thread_ts,
                limit=200,
                include_all_metadata=True,
            )
        else:
            response = await _call(
                "conversations.history",
                self._client.conversations_history,
                channel=channel,
                limit=100,
                include_all_metadata=True,
                **({"oldest": oldest} if oldest else {}),
            )
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT and (
                (metadata.get("event_payload") or {}).get("key") == key
            ):
                return message["ts"]
        return None

    async def update(self, channel: str, ts: str, message: ChatMessage) -> None:
        await _call(
            "chat.update",
            self._client.chat_update,
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.blocks,
        )

    async def post_ephemeral(self, channel: str, user: str, message: ChatMessage) -> None:
        await _call(
            "chat.postEphemeral",
            self._client.chat_postEphemeral,
            channel=channel,
            user=user,
            text=message.text,
            blocks=message.blocks,
        )

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        await _call("views.open", self._client.views_open, trigger_id=trigger_id, view=view)

    async def respond(
        self, response_url: str, message: ChatMessage, *, replace_original: bool
    ) -> None:
        webhook = AsyncWebhookClient(
            response_url, timeout=self._response_timeout_s, session=self._http
        )
        try:
            response = await webhook.send(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace_original,
            )
        except NOT_ANSWERED as exc:
            raise ChatError(
                f"response_url: no answer ({type(exc).__name__})", method="response_url"
            ) from exc
        status = response.status_code
        if status == 429:
            raise ChatError(
                "response_url: rate limited",
                retry_after_s=_seconds(_header(response.headers, "Retry-After")),
                method="response_url",
            )
        if status >= 500:
            raise ChatError(f"response_url: Slack answered HTTP {status}", method="response_url")
        if status >= 400:
            # Expired (30 min) or used up (5 uses): sending again cannot help.
            raise ChatError(
                f"response_url answered {status}: {str(response.body)[:100]}",
                permanent=True,
                method="response_url",
            )

    async def send_files(self, user: str, files: Sequence[Path], comment: str) -> None:
        opened = await _call("conversations.open", self._client.conversations_open, users=user)
        channel = opened["channel"]["id"]
        await _call(
            "files.uploadV2",
            self._client.files_upload_v2,
            channel=channel,
            file_uploads=[{"file": str(path), "filename": path.name} for path in files],
            initial_comment=comment,
        )


async def _call(name: str, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
    try:
        return await method(**kwargs)
    except SlackApiError as exc:
        raise chat_error(name, exc) from exc
    except NOT_ANSWERED as exc:
        raise ChatError(
            f"{name}: Slack did not answer ({type(exc).__name__})", method=name
        ) from exc


def chat_error(name: str, exc: SlackApiError) -> ChatError:
    """What Slack's answer means for trying again."""
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if status == 429:
        retry_after = _seconds(_header(getattr(response, "headers", None), "Retry-After"))
        return ChatError(f"{name}: rate limited", retry_after_s=retry_after, method=name)
    if not isinstance(error, str) or status >= 500:
        # Not Slack's own answer: a load balancer's page, an empty body, a gateway error.
        return ChatError(f"{name}: Slack answered HTTP {status} without a result", method=name)
    if error in TEMPORARY_ERRORS:
        return ChatError(f"{name}: {error}", method=name)
    return ChatError(f"{name}: {error}", permanent=True, method=name)


def _header(headers: Any, name: str) -> str | None:
    """A header from slack_sdk's answers, whose headers are a dict of strings or of lists."""
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) and value else value
    return None


def _seconds(value: str | None) -> float:
    """Retry-After in seconds; one second when it is missing or unreadable."""
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        return 1.0
    return min(max(seconds, 0.0), 3600.0) if seconds == seconds else 1.0


class SlackPeople:
    """The PeopleDirectory port over users.info; a person Slack cannot tell about has no zone
    (the caller then says which one it used)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def time_zone(self, user_id: str) -> str | None:
        try:
            response = await self._client.users_info(user=user_id)
        except (SlackApiError, *NOT_ANSWERED):
            return None
        zone = (response.get("user") or {}).get("tz")
        try:
            return time_zone_name(zone) if isinstance(zone, str) and zone else None
        except ValueError:  # a zone this machine's tz database does not know
            return None


class SlackGroups:
    """The GroupDirectory port over usergroups.users.list."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def members(self, group_id: str) -> frozenset[str]:
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            error = chat_error("usergroups.users.list", exc)
            raise IntegrationError(f"{error} ({group_id})", retryable=not error.permanent) from exc
        except NOT_ANSWERED as exc:
            raise IntegrationError(f"Slack unreachable: {type(exc).__name__}") from exc
        return frozenset(response.get("users", []))
