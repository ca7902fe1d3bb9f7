"""Slack's v0 request signature on the requests the stand-in sends to apps, made by
slack_sdk's SignatureVerifier (the same code that checks it on the bot's side)."""

from __future__ import annotations

from slack_sdk.signature import SignatureVerifier


def compute_signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    signature = SignatureVerifier(signing_secret).generate_signature(
        timestamp=str(timestamp), body=body
    )
    assert signature is not None  # None only without a timestamp
    return signature


def signed_headers(
    signing_secret: str, body: bytes, content_type: str, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": compute_signature(signing_secret, timestamp, body),
    }
