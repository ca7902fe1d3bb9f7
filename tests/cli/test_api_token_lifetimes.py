"""How long an API token lasts (`api-token create --expires-in`): a span, or never; nothing
that would quietly mean forever."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services.api_tokens import ApiTokenError, lifetime_from


def test_a_span_or_never():
    assert lifetime_from("90d") == timedelta(days=90)
    assert lifetime_from("12h") == timedelta(hours=12)
    assert lifetime_from("never") is None


@pytest.mark.parametrize("text", ["0s", "0", "soon", "99999999999d", "3651d"])
def test_zero_nonsense_or_too_long_is_refused(text):
    with pytest.raises(ApiTokenError, match="--expires-in"):
        lifetime_from(text)
