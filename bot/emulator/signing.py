"""Slack's v0 request signature, as Slack computes it for the requests it sends to apps."""

from __future__ import annotations

import hashlib
import hmac


def compute_signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str, body: bytes, content_type: str, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": compute_signature(signing_secret, timestamp, body),
    }
