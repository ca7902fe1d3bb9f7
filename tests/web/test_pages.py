"""Small rules of the web pages: their forms, and the bot's sentences shown with names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.audit import AuditEvent, AuditRecord
from bot.core.catalog import StrategyName
from bot.core.release import Release, State
from bot.core.stages import Stage
from bot.web.pages import _days
from bot.web.people import person, said
from bot.web.templating import templates


@pytest.mark.parametrize(
    ("text", "days"), [("7", 7), ("0", 1), ("9999", 365), ("٣", 30), ("²", 30), ("-3", 30)]
)
def test_the_export_forms_day_count_is_ascii_digits_within_a_year(text: str, days: int):
    assert _days(text) == days


NAMES = {"U0BOB": "bob", "U0CAROL": "carol"}


def test_a_sentence_shows_names_code_and_link_labels_and_escapes_the_rest():
    shown = said("Rejected by <@U0BOB>: `v2` <b>broke</b> <https://ci.example/1|the build>", NAMES)
    assert shown == (
        'Rejected by <span class="person">bob</span>: <code>v2</code> &lt;b&gt;broke&lt;/b&gt; '
        '<a href="https://ci.example/1" rel="noopener">the build</a>'
    )


def test_people_never_seen_show_their_id_and_groups_their_handle():
    assert said("asked <@U0NEW> and <!subteam^S0ONCALL|@oncall>, <!channel>", NAMES) == (
        'asked <span class="person">U0NEW</span> and @oncall, @channel'
    )
    assert person("U0CAROL", NAMES) == "carol" and person(None, NAMES) == ""


def test_the_release_page_names_people_and_shows_no_slack_markup():
    release = Release(
        id=7,
        service="checkout",
        environment="production",
        strategy=StrategyName.CANARY,
        version_to="v2",
        version_from="v1",
        requested_by="U0CAROL",
        channel="C0DEPLOYS",
        stages=(Stage.step("weight", "10%", 10),),
        created_at=datetime(2026, 11, 28, tzinfo=UTC),
        state=State.REJECTED,
        reason="Rejected by <@U0BOB>: `v2` is broken",
    )
    event = AuditRecord(
        seq=1,
        event_id="e1",
        prev_hash="0" * 64,
        hash="1" * 64,
        event=AuditEvent(
            at=release.created_at,
            actor_id="U0BOB",
            action="release.rejected",
            reason="<@U0BOB> said no",
        ),
    )
    html = templates.get_template("release.html").render(
        release=release, events=[event], names=NAMES, user=None, may_export=False
    )
    assert "<@" not in html and "U0BOB" not in html and "U0CAROL" not in html
    assert "requested by carol" in html and "<code>v2</code>" in html
