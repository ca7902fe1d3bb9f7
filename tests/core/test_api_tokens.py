"""An API token is usable until it is revoked or expires; only its SHA-256 is compared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.api_tokens import ApiToken, digest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_token_is_active_until_it_expires_or_is_revoked():
    token = ApiToken(1, "nightly", "U0ERIN", NOW, expires_at=NOW + timedelta(days=90))
    assert token.usable_at(NOW) and token.state_at(NOW) == "active"
    later = NOW + timedelta(days=90)
    assert not token.usable_at(later) and token.state_at(later) == "expired"
    revoked = ApiToken(1, "nightly", "U0ERIN", NOW, revoked_at=NOW)
    assert not revoked.usable_at(NOW) and revoked.state_at(NOW) == "revoked"
    assert ApiToken(2, "forever", "U0ERIN", NOW).usable_at(NOW + timedelta(days=3650))


def test_the_digest_is_sha256_hex():
    assert digest("rbt_x") == digest("rbt_x") != digest("rbt_y")
    assert len(digest("rbt_x")) == 64
