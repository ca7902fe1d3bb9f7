"""The webhook signature scheme, checked against the HMAC written out by hand."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from bot.core.webhook_signature import (
    belongs_to,
    operation_id,
    sign,
    signature_problem,
    verify,
)

SECRET = b"s3cret"
BODY = b'{"event":"step"}'
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))


def by_hand(secret: bytes, timestamp: str, body: bytes) -> str:
    material = b"v1:" + timestamp.encode() + b":" + body
    return "sha256=" + hmac.new(secret, material, hashlib.sha256).hexdigest()


def test_sign_is_hmac_sha256_of_version_timestamp_and_raw_body():
    assert sign(SECRET, TS, BODY) == by_hand(SECRET, TS, BODY)
    assert sign(SECRET, int(TS), BODY) == sign(SECRET, TS, BODY)


def test_a_right_signature_within_the_window_verifies():
    assert verify(SECRET, TS, BODY, by_hand(SECRET, TS, BODY), NOW)


@pytest.mark.parametrize("skew", [-300, 300])
def test_the_window_is_300_seconds_either_way(skew: int):
    timestamp = str(int(NOW.timestamp()) + skew)
    assert verify(SECRET, timestamp, BODY, sign(SECRET, timestamp, BODY), NOW)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_window_is_refused_even_when_signed(skew: int):
    timestamp = str(int(NOW.timestamp()) + skew)
    problem = signature_problem(SECRET, timestamp, BODY, sign(SECRET, timestamp, BODY), NOW)
    assert problem is not None and "300 s" in problem


@pytest.mark.parametrize(
    ("timestamp", "body", "signature", "says"),
    [
        ("", BODY, sign(SECRET, TS, BODY), "Timestamp"),
        ("12.5", BODY, sign(SECRET, TS, BODY), "Timestamp"),
        ("-1", BODY, sign(SECRET, TS, BODY), "Timestamp"),
        ("١٢٣", BODY, sign(SECRET, TS, BODY), "Timestamp"),  # non-ASCII digits
        (TS, BODY, "", "missing"),
        (TS, BODY + b" ", sign(SECRET, TS, BODY), "does not match"),
        (TS, BODY, sign(b"other", TS, BODY), "does not match"),
        (TS, BODY, sign(SECRET, TS, BODY).removeprefix("sha256="), "does not match"),
        (TS, BODY, "sha256=ü" + "0" * 63, "does not match"),
    ],
)
def test_what_is_wrong_is_said_without_the_secret(
    timestamp: str, body: bytes, signature: str, says: str
):
    problem = signature_problem(SECRET, timestamp, body, signature, NOW)
    assert problem is not None and says in problem
    assert SECRET.decode() not in problem
    assert sign(SECRET, TS, BODY) not in problem


def test_the_timestamp_is_part_of_what_is_signed():
    later = str(int(TS) + 1)
    assert not verify(SECRET, later, BODY, sign(SECRET, TS, BODY), NOW)


def test_operation_ids_belong_to_one_backend():
    operation = operation_id("deploy-hook", "release-7-stage-0")
    assert operation == "webhook:deploy-hook:release-7-stage-0"
    assert belongs_to("deploy-hook", operation)
    assert not belongs_to("other", operation)
    assert not belongs_to("deploy", operation)
    assert not belongs_to("deploy-hook", "webhook:deploy-hook:")
