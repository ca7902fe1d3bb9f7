"""Every message the bot can send is valid Block Kit within Slack's limits, in every state,
and reads well on a phone: state and versions first, buttons next, danger said in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app.catalog_file import load_catalog
from bot.core.catalog import StrategyName
from bot.core.clock import ManualClock
from bot.core.release import Approve, CiChecked, Release, StageStarted, State, transition
from bot.core.strategies import StrategyChoice, plan_stages
from bot.emulator.blockkit import validate_blocks, validate_view
from bot.slack.render import SlackRenderer
from tests.support.catalogs import SCENARIO_CATALOG

CLOCK = ManualClock()
CATALOG = load_catalog(SCENARIO_CATALOG)


def release(state: State, **changes) -> Release:
    service = CATALOG.services["checkout"]
    base = Release(
        id=12,
        service="checkout",
        environment="production",
        strategy=StrategyName.CANARY,
        version_to="v1.4.3",
        version_from="v1.4.2",
        requested_by="U0ALICE",
        channel="C0DEPLOYS",
        stages=plan_stages(service, StrategyChoice(StrategyName.CANARY, 10), analysis=True),
        created_at=CLOCK.now(),
        approvals_required=1,
        due_at=CLOCK.now(),
    )
    if state in (State.RUNNING, State.PAUSED):
        base, _ = transition(base, CiChecked(True, summary="ok"), CLOCK.now())
        base, _ = transition(base, Approve("U0BOB"), CLOCK.now())
        base, _ = transition(base, StageStarted(0, "op"), CLOCK.now())
    return replace(base, state=state, reason="analysis failed at 10%: error_rate 0.08", **changes)


@pytest.mark.parametrize("state", list(State))
def test_the_status_message_is_valid_block_kit_in_every_state(state):
    message = SlackRenderer(CLOCK).status(release(state))
    assert validate_blocks(message.blocks) == []
    assert message.text.startswith("checkout → production")
    head = message.blocks[0]["text"]["text"]
    assert "v1.4.2" in head and "v1.4.3" in head and "release #12" in head
    kinds = [block["type"] for block in message.blocks]
    if "actions" in kinds:
        assert kinds.index("actions") == 1, "buttons belong right under the headline"


@pytest.mark.parametrize("state", [State.RUNNING, State.PAUSED, State.SUCCEEDED, State.FAILED])
def test_roll_back_says_its_danger_in_words_and_names_both_versions(state):
    message = SlackRenderer(CLOCK).status(release(state))
    button = next(
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "release_rollback"
    )
    assert button["text"]["text"] == "Roll back" and button["style"] == "danger"
    assert "from v1.4.3 to v1.4.2" in button["confirm"]["text"]["text"]
    assert button["value"] == "12"


def test_progress_marks_the_current_step_with_its_elapsed_time():
    running = release(State.RUNNING)
    later = ManualClock(CLOCK.now() + timedelta(seconds=42))
    message = SlackRenderer(later).status(running)
    progress = next(b for b in message.blocks if b.get("block_id") == "status_progress")
    assert (
        progress["elements"][0]["text"]
        == ":arrow_forward: *10%* 42s → :white_circle: 50% → :white_circle: 100%"
    )


def test_long_texts_are_cut_to_slack_limits():
    huge = release(State.FAILED, service="checkout", version_to="v" + "9" * 120)
    huge = replace(huge, reason="x" * 5000)
    message = SlackRenderer(CLOCK).status(huge)
    assert validate_blocks(message.blocks) == []


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("refusal", {"reason": "r" * 4000, "rule": "rbac.deploy"}),
        ("usage", {"problem": "p", "example": "/deploy x", "command": "/deploy", "topic": ""}),
        ("help", {"topic": "", "services": ["checkout"], "environments": ["staging"]}),
        ("release_list", {"title": "t", "releases": []}),
        ("status_summary", {"releases": [], "release_id": 3, "service": None, "environment": None}),
        (
            "thread_fact",
            {
                "kind": "analysis.failed",
                "summary": "s",
                "outcome": "failed",
                "details": {
                    "measurements": [
                        {
                            "name": "error_rate",
                            "value": None,
                            "threshold": "max 0.01",
                            "passed": False,
                        }
                    ]
                },
            },
        ),
        ("post_failed", {"channel": "C1", "error": "channel_not_found", "ref": "#1"}),
    ],
)
def test_every_reply_template_renders_valid_blocks(template, context):
    message = SlackRenderer(CLOCK).render(template, context)
    assert message.text and validate_blocks(message.blocks) == []


def test_the_reject_modal_is_a_valid_view():
    view = SlackRenderer(CLOCK).view(
        "reject_modal",
        {
            "private_metadata": "{}",
            "ref": "#12345678",
            "service": "checkout",
            "version_to": "v1",
            "environment": "production",
        },
    )
    assert validate_view(view) == []


def test_elapsed_analysis_time_is_shown_against_the_bake():
    running = release(State.RUNNING)
    stages = list(running.stages)
    stages[0] = replace(stages[0], status=stages[0].status.SUCCEEDED, finished_at=CLOCK.now())
    stages[1] = replace(stages[1], status=stages[1].status.RUNNING, started_at=CLOCK.now())
    baking = replace(running, stages=tuple(stages), current=1)
    later = ManualClock(CLOCK.now() + timedelta(seconds=15))
    text = str(SlackRenderer(later).status(baking).blocks)
    assert ":white_check_mark: *10%* (analysis 15s/20s) → :white_circle: 50%" in text
