from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.emulator.methods import HANDLERS
from bot.emulator.spec import DEFAULT_SPEC_DIR, ApiError, load_specs, validate_args

SHARED = Path(__file__).parents[2].parent / "shared" / "peers" / "slack"


def test_every_handled_method_has_a_vendored_spec():
    specs = load_specs()
    assert set(HANDLERS) <= set(specs)
    assert (DEFAULT_SPEC_DIR / "LICENSE").read_text().startswith("MIT License")


def test_vendored_spec_files_match_shared_copy():
    if not (SHARED / "methods").is_dir():
        if os.environ.get("REQUIRE_PEERS") == "1":
            pytest.fail(f"REQUIRE_PEERS=1 but {SHARED / 'methods'} is missing")
        pytest.skip(f"{SHARED / 'methods'} not present on this machine")
    vendored = sorted(DEFAULT_SPEC_DIR.glob("*.json"))
    assert vendored
    for path in vendored:
        shared = SHARED / "methods" / path.name
        assert shared.read_bytes() == path.read_bytes(), f"{path.name} differs from shared copy"
    assert (SHARED / "LICENSE").read_bytes() == (DEFAULT_SPEC_DIR / "LICENSE").read_bytes()


def test_spec_dir_can_be_overridden(tmp_path):
    (tmp_path / "auth.test.json").write_bytes((DEFAULT_SPEC_DIR / "auth.test.json").read_bytes())
    assert set(load_specs(tmp_path)) == {"auth.test"}


@pytest.fixture(scope="module")
def specs():
    return load_specs()


def _error(spec, args) -> ApiError:
    with pytest.raises(ApiError) as info:
        validate_args(spec, args)
    return info.value


def test_missing_required_args_map_to_slacks_errors(specs):
    assert _error(specs["chat.postMessage"], {"text": "x"}).error == "channel_not_found"
    assert _error(specs["users.info"], {}).error == "user_not_found"
    assert _error(specs["chat.update"], {"channel": "C1", "text": "x"}).error == "message_not_found"
    assert _error(specs["files.getUploadURLExternal"], {"length": 3}).error == "missing_argument"
    missing_view = _error(specs["views.open"], {"trigger_id": "1"})
    assert missing_view.error == "invalid_arguments"
    assert missing_view.messages == ["[ERROR] missing required field: view"]


def test_types_are_checked_and_decoded(specs):
    post = specs["chat.postMessage"]
    args = validate_args(
        post, {"channel": "C1", "text": "x", "blocks": "[]", "reply_broadcast": "true"}
    )
    assert args["blocks"] == [] and args["reply_broadcast"] is True
    assert _error(post, {"channel": "C1", "blocks": "{nope"}).error == "invalid_blocks_format"
    assert _error(post, {"channel": "C1", "blocks": '{"a": 1}'}).error == "invalid_blocks_format"
    assert _error(post, {"channel": "C1", "blocks": "[1, 2]"}).error == "invalid_blocks_format"
    assert _error(post, {"channel": "C1", "reply_broadcast": "maybe"}).error == "invalid_arguments"
    bad_metadata = {"channel": "C1", "text": "x", "metadata": "{"}
    assert _error(post, bad_metadata).error == "invalid_metadata_format"
    history = specs["conversations.history"]
    assert _error(history, {"channel": "C1", "limit": "ten"}).error == "invalid_arguments"
    assert _error(history, {"channel": "C1", "latest": "yesterday"}).error == "invalid_ts_latest"
    assert validate_args(history, {"channel": "C1", "limit": "10"})["limit"] == 10


def test_arg_groups(specs):
    post = specs["chat.postMessage"]
    assert _error(post, {"channel": "C1"}).error == "no_text"
    assert _error(post, {"channel": "C1", "text": "", "blocks": "[]"}).error == "no_text"
    both = {"channel": "C1", "text": "a", "markdown_text": "b"}
    assert _error(post, both).error == "markdown_text_conflict"
    assert _error(specs["views.open"], {"view": "{}"}).error == "invalid_arguments"
