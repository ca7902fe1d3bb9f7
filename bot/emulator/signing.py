"""Slack's v0 request signature, as Slack computes it for the requests it sends to apps.

Over the body's bytes as they are: slack_sdk's SignatureVerifier.generate_signature decodes
the body as UTF-8 first, so it cannot sign the malformed bodies the hostile-input tests send.
The bot checks signatures with slack_sdk's verifier."""

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
