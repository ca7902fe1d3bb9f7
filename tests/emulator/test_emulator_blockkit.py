from __future__ import annotations

import pytest

from bot.emulator.blockkit import validate_blocks, validate_view


def button(action_id="go", text="Go", **extra):
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        **extra,
    }


def actions(*elements, block_id=None):
    block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def section(text="hi", **extra):
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def confirm(text="Sure?"):
    return {
        "title": {"type": "plain_text", "text": "Roll back?"},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": "Roll back"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }


def modal(**extra):
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Approve"},
        "blocks": [],
        **extra,
    }


def test_a_realistic_release_message_is_valid():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "checkout → production"}},
        section("*Canary* at 10%", accessory=button("details", "Details")),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Env*\nprod"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0ALICE>"}]},
        {"type": "divider"},
        actions(
            button("promote", "Promote", style="primary", value="r1"),
            button("rollback", "Roll back (danger)", style="danger", confirm=confirm()),
        ),
    ]
    assert validate_blocks(blocks) == []


@pytest.mark.parametrize(
    ("blocks", "surface", "expected"),
    [
        ([{"type": "divider"}] * 51, "message", "no more than 50 items allowed"),
        ([{"type": "divider"}] * 101, "modal", "no more than 100 items allowed"),
        ([{"type": "carousel"}], "message", "unknown block type: 'carousel'"),
        ([actions(button(text="x" * 76))], "message", "must be less than 76 characters"),
        ([actions(button(value="v" * 2001))], "message", "must be less than 2001 characters"),
        (
            [actions(*[button(f"b{i}") for i in range(26)])],
            "message",
            "no more than 25 items allowed",
        ),
        ([section("s" * 3001)], "message", "must be less than 3001 characters"),
        (
            [actions(button(confirm=confirm("c" * 301)))],
            "message",
            "must be less than 301 characters",
        ),
        (
            [actions(button("a"), block_id="x"), actions(button("b"), block_id="x")],
            "message",
            "duplicate block_id: x",
        ),
        ([actions(button("a")), actions(button("a"))], "message", "duplicate action_id: a"),
        (
            [actions({"type": "button", "action_id": "a"})],
            "message",
            "missing required field: text",
        ),
        (
            [actions({"type": "button", "text": {"type": "plain_text", "text": "Go"}})],
            "message",
            "missing required field: action_id",
        ),
        ([{"type": "section"}], "message", "missing required field: text"),
        ([actions(button(style="blue"))], "message", "must be one of primary, danger"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "message", "plain_text"),
    ],
)
def test_limits_and_required_fields(blocks, surface, expected):
    errors = validate_blocks(blocks, surface)
    assert any(expected in e for e in errors), errors
    assert all(e.startswith("[ERROR] ") and "[json-pointer:/blocks" in e for e in errors)


def test_fifty_blocks_and_exact_limits_pass():
    assert validate_blocks([{"type": "divider"}] * 50) == []
    assert validate_blocks([actions(button(text="x" * 75, value="v" * 2000))]) == []
    assert validate_blocks([actions(*[button(f"b{i}") for i in range(25)])]) == []
    assert validate_blocks([section("s" * 3000)]) == []


def test_error_points_at_the_offending_field():
    errors = validate_blocks([{"type": "divider"}, actions(button(text="x" * 80))])
    assert errors == [
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]"
    ]


def test_modal_limits():
    assert validate_view(modal()) == []
    assert any(
        "less than 25" in e
        for e in validate_view(modal(title={"type": "plain_text", "text": "t" * 25}))
    )
    assert any("private_metadata" in e for e in validate_view(modal(private_metadata="m" * 3001)))
    assert validate_view(modal(private_metadata="m" * 3000)) == []
    assert validate_view(modal(blocks=[{"type": "divider"}] * 100)) == []
    assert any("100 items" in e for e in validate_view(modal(blocks=[{"type": "divider"}] * 101)))
    assert any("title" in e for e in validate_view({"type": "modal", "blocks": []}))
    assert validate_view({"type": "home", "blocks": [{"type": "divider"}] * 100}) == []
    assert any("modal, home" in e for e in validate_view({"type": "dialog", "blocks": []}))


def test_modal_with_input_needs_submit_and_valid_elements():
    reason = {
        "type": "input",
        "block_id": "reason",
        "label": {"type": "plain_text", "text": "Reason"},
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
    }
    assert any("submit" in e for e in validate_view(modal(blocks=[reason])))
    ok = modal(blocks=[reason], submit={"type": "plain_text", "text": "Approve"})
    assert validate_view(ok) == []
    select = {
        "type": "input",
        "block_id": "env",
        "label": {"type": "plain_text", "text": "Env"},
        "element": {
            "type": "static_select",
            "action_id": "pick",
            "options": [{"text": {"type": "plain_text", "text": "prod"}, "value": "p" * 151}],
        },
    }
    errors = validate_view(modal(blocks=[select], submit={"type": "plain_text", "text": "Go"}))
    assert any("less than 151" in e for e in errors)
