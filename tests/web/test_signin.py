"""Where a sign-in may send the person afterwards: only to a page of this site."""

from __future__ import annotations

import pytest

from bot.web.signin import _local_path


@pytest.mark.parametrize(
    ("asked", "went"),
    [
        ("/audit", "/audit"),
        ("/releases?service=checkout&state=failed", "/releases?service=checkout&state=failed"),
        ("", "/releases"),
        ("https://evil.example/phish", "/releases"),
        ("//evil.example/phish", "/releases"),
        ("/\\evil.example", "/releases"),
        ("javascript:alert(1)", "/releases"),
        ("/\t/evil.example", "/releases"),
        ("/\n/evil.example", "/releases"),
        ("/ /evil.example", "/releases"),
    ],
)
def test_after_signing_in_only_pages_of_this_site_are_opened(asked, went):
    assert _local_path(asked) == went
