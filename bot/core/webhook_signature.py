"""The wire contract between the webhook deployer and a deploy script, in both directions.

Every request carries three headers:

    X-Releasebot-Timestamp: 1795424400          (Unix seconds, decimal digits only)
    X-Releasebot-Signature-256: sha256=<hex>    (lowercase hex, 64 digits)
    X-Releasebot-Delivery: <idempotency key>    (bot -> script only; the same on every resend)

    <hex> = HMAC-SHA256(key = the backend's secret as UTF-8 bytes,
                        message = b"v1:" + timestamp + b":" + raw body bytes)

The raw body is the exact bytes on the wire (a GET signs an empty body, so its query string is
not covered). A receiver rejects a request whose timestamp is more than MAX_SKEW_S away from
its own clock, in either direction, so a captured request cannot be replayed later; within the
window it dedupes: bot -> script on the delivery id, which the headers do not sign but which
always equals the signed body's "idempotency_key" (trust the body's copy); script -> bot on the
operation's state (see bot/web/webhook_callbacks.py).

Operation ids are `webhook:{backend}:{idempotency key}`: the same key always names the same
operation, and a callback may only touch operations of the backend whose secret signed it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "X-Releasebot-Signature-256"
TIMESTAMP_HEADER = "X-Releasebot-Timestamp"
DELIVERY_HEADER = "X-Releasebot-Delivery"
SCHEME = "v1"
MAX_SKEW_S = 300


def signed_material(timestamp: str, body: bytes) -> bytes:
    return f"{SCHEME}:{timestamp}:".encode() + body


def sign(secret: bytes, timestamp: str | int, body: bytes) -> str:
    """The X-Releasebot-Signature-256 value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret, signed_material(str(timestamp), body), hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signature_problem(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    max_skew_s: int = MAX_SKEW_S,
) -> str | None:
    """None when `signature` is right for `body` at `timestamp` and the timestamp is within
    `max_skew_s` of `now`; else what is wrong (never the secret or the expected signature)."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return f"missing or malformed {TIMESTAMP_HEADER}"
    if abs(now.timestamp() - int(timestamp)) > max_skew_s:
        return f"{TIMESTAMP_HEADER} is more than {max_skew_s} s away from now"
    if not signature:
        return f"missing {SIGNATURE_HEADER}"
    expected = sign(secret, timestamp, body).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        return f"{SIGNATURE_HEADER} does not match the body"
    return None


def verify(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    max_skew_s: int = MAX_SKEW_S,
) -> bool:
    return signature_problem(secret, timestamp, body, signature, now, max_skew_s) is None


def operation_id(backend: str, idempotency_key: str) -> str:
    return f"{operation_prefix(backend)}{idempotency_key}"


def operation_prefix(backend: str) -> str:
    return f"webhook:{backend}:"


def belongs_to(backend: str, operation: str) -> bool:
    return operation.startswith(operation_prefix(backend)) and len(operation) > len(
        operation_prefix(backend)
    )
