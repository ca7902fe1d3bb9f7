"""Small rules of the web pages' forms."""

from __future__ import annotations

import pytest

from bot.web.pages import _days


@pytest.mark.parametrize(
    ("text", "days"), [("7", 7), ("0", 1), ("9999", 365), ("٣", 30), ("²", 30), ("-3", 30)]
)
def test_the_export_forms_day_count_is_ascii_digits_within_a_year(text: str, days: int):
    assert _days(text) == days
