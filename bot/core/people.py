"""Who a sentence names. The core writes people as Slack mentions (`<@U0BOB>`), which chat shows
as names; other surfaces (the web pages) find them here and show the names themselves."""

from __future__ import annotations

import re
from collections.abc import Iterable

MENTION = re.compile(r"<@([A-Z0-9]+)>")


def mentioned(texts: Iterable[str]) -> set[str]:
    """The user IDs mentioned in these texts."""
    return {user for text in texts for user in MENTION.findall(text or "")}
