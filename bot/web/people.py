"""The bot's sentences on a web page: mentions become names, code spans <code>, links their
labels; everything else is escaped. Chat renders the same sentences itself."""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup, escape

_TOKENS = re.compile(
    r"<@(?P<user>[A-Z0-9]+)>"
    r"|<!subteam\^(?P<group>[A-Z0-9]+)(?:\|(?P<handle>[^>]*))?>"
    r"|<!(?P<special>channel|here|everyone)>"
    r"|<(?P<url>https?://[^>|]+)(?:\|(?P<label>[^>]+))?>"
    r"|`(?P<code>[^`]+)`"
)


def person(user_id: str | None, names: Mapping[str, str]) -> str:
    """A person's name as last seen, else their Slack ID."""
    if not user_id:
        return ""
    return names.get(user_id) or user_id


def said(text: str | None, names: Mapping[str, str]) -> Markup:
    parts: list[str] = []
    last = 0
    for match in _TOKENS.finditer(text or ""):
        parts.append(escape(match.string[last : match.start()]))
        parts.append(_token(match, names))
        last = match.end()
    parts.append(escape((text or "")[last:]))
    return Markup("").join(parts)


def _token(match: re.Match[str], names: Mapping[str, str]) -> Markup:
    if user := match["user"]:
        return Markup('<span class="person">{}</span>').format(person(user, names))
    if group := match["group"]:
        return escape("@" + (match["handle"] or group).lstrip("@"))
    if special := match["special"]:
        return escape("@" + special)
    if url := match["url"]:
        return Markup('<a href="{}" rel="noopener">{}</a>').format(url, match["label"] or url)
    return Markup("<code>{}</code>").format(match["code"])
