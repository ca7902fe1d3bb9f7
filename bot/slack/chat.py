"""The Chat port over Slack's Web API (slack_sdk), translating its errors at the boundary.

No automatic connection-error retries: a retried chat.postMessage could post twice. Rate
limits come back as ChatError(retry_after_s=...) and the outbox reschedules the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.ports import ChatError, ChatMessage, IntegrationError

METADATA_EVENT = "releasebot_message"
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "message_not_found",
        "cant_update_message",
        "user_not_in_channel",
        "restricted_action",
    }
)


class SlackChat:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(
        self, channel: str, message: ChatMessage, *, thread_ts: str | None, key: str
    ) -> str:
        response = await self._call(
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

    async def find_posted(self, channel: str, key: str, *, thread_ts: str | None) -> str | None:
        if thread_ts:
            response = await self._call(
                self._client.conversations_replies,
                channel=channel,
                ts=thread_ts,
                limit=200,
                include_all_metadata=True,
            )
        else:
            response = await self._call(
                self._client.conversations_history,
                channel=channel,
                limit=100,
                include_all_metadata=True,
            )
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT and (
                (metadata.get("event_payload") or {}).get("key") == key
            ):
                return message["ts"]
        return None

    async def update(self, channel: str, ts: str, message: ChatMessage) -> None:
        await self._call(
            self._client.chat_update,
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.blocks,
        )

    async def post_ephemeral(self, channel: str, user: str, message: ChatMessage) -> None:
        await self._call(
            self._client.chat_postEphemeral,
            channel=channel,
            user=user,
            text=message.text,
            blocks=message.blocks,
        )

    async def respond(
        self, response_url: str, message: ChatMessage, *, replace_original: bool
    ) -> None:
        webhook = AsyncWebhookClient(response_url, timeout=10)
        try:
            response = await webhook.send(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace_original,
            )
        except SlackClientError as exc:
            raise ChatError(f"response_url: {type(exc).__name__}") from exc
        except OSError as exc:
            raise ChatError(f"response_url unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429:
            retry_after = (
                float(response.headers.get("Retry-After", ["1"])[0]) if response.headers else 1.0
            )
            raise ChatError("response_url rate limited", retry_after_s=retry_after)
        if response.status_code >= 400:
            # Expired (30 min) or used up (5 uses): sending again cannot help.
            raise ChatError(
                f"response_url answered {response.status_code}: {response.body[:100]}",
                permanent=response.status_code < 500,
            )

    async def send_files(self, user: str, files: Sequence[Path], comment: str) -> None:
        opened = await self._call(self._client.conversations_open, users=user)
        channel = opened["channel"]["id"]
        await self._call(
            self._client.files_upload_v2,
            channel=channel,
            file_uploads=[{"file": str(path), "filename": path.name} for path in files],
            initial_comment=comment,
        )

    async def _call(self, method, **kwargs):
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error") if exc.response else "unknown_error"
            if exc.response is not None and exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", 1))
                raise ChatError(f"{error}: rate limited", retry_after_s=retry_after) from exc
            raise ChatError(error, permanent=error in PERMANENT_ERRORS) from exc
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise ChatError(f"Slack unreachable: {type(exc).__name__}") from exc


class SlackGroups:
    """The GroupDirectory port over usergroups.users.list."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def members(self, group_id: str) -> frozenset[str]:
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error") if exc.response else "unknown_error"
            raise IntegrationError(
                f"usergroups.users.list {group_id}: {error}",
                retryable=error not in PERMANENT_ERRORS,
            ) from exc
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise IntegrationError(f"Slack unreachable: {type(exc).__name__}") from exc
        return frozenset(response.get("users", []))
