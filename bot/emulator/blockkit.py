"""Block Kit checks with Slack's documented limits.

validate_blocks() and validate_view() return Slack-style explanations
("[ERROR] <why> [json-pointer:/blocks/0/text]"); an empty list means valid.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}

BLOCK_TYPES = frozenset(
    {
        "actions", "context", "context_actions", "divider", "file", "header", "image", "input",
        "markdown", "rich_text", "section", "table", "video",
    }
)  # fmt: skip
SELECTS = frozenset(
    {
        "static_select", "external_select", "users_select", "conversations_select",
        "channels_select", "multi_static_select", "multi_external_select", "multi_users_select",
        "multi_conversations_select", "multi_channels_select",
    }
)  # fmt: skip
INPUTS = frozenset(
    {
        "plain_text_input", "email_text_input", "url_text_input", "number_input",
        "rich_text_input", "file_input", "datepicker", "timepicker", "datetimepicker",
        "checkboxes", "radio_buttons",
    }
)  # fmt: skip
INTERACTIVE = SELECTS | INPUTS | {"button", "overflow", "workflow_button"}
ELEMENT_TYPES = INTERACTIVE | {"image"}


def validate_blocks(blocks: Any, surface: str = "message", pointer: str = "/blocks") -> list[str]:
    checker = _Checker()
    checker.blocks(blocks, surface, pointer)
    return checker.errors


def validate_view(view: Any) -> list[str]:
    checker = _Checker()
    checker.view(view)
    return checker.errors


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()
        self.action_ids: set[str] = set()

    def err(self, why: str, ptr: str) -> None:
        self.errors.append(f"[ERROR] {why} [json-pointer:{ptr}]")

    # -- shared field checks ---------------------------------------------------------------

    def string(self, obj: dict, key: str, ptr: str, max_len: int, required: bool = False) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.err(f"missing required field: {key}", ptr)
            return
        if not isinstance(value, str):
            self.err("must be a string", f"{ptr}/{key}")
        elif len(value) > max_len:
            self.err(f"must be less than {max_len + 1} characters", f"{ptr}/{key}")

    def text(
        self,
        obj: dict,
        key: str,
        ptr: str,
        max_len: int,
        *,
        required: bool = True,
        plain_only: bool = False,
    ) -> None:
        value = obj.get(key)
        where = f"{ptr}/{key}"
        if value is None:
            if required:
                self.err(f"missing required field: {key}", ptr)
            return
        if not isinstance(value, dict):
            self.err("must be a text object", where)
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if value.get("type") not in allowed:
            self.err(f"must be one of {', '.join(allowed)}", f"{where}/type")
        body = value.get("text")
        if not isinstance(body, str):
            self.err("missing required field: text", where)
        elif not body:
            self.err("must be more than 0 characters", f"{where}/text")
        elif len(body) > max_len:
            self.err(f"must be less than {max_len + 1} characters", f"{where}/text")

    def unique(self, seen: set[str], kind: str, value: Any, ptr: str) -> None:
        if not isinstance(value, str):
            return
        if len(value) > 255:
            self.err("must be less than 256 characters", f"{ptr}/{kind}")
        if value in seen:
            self.err(f"duplicate {kind}: {value}", f"{ptr}/{kind}")
        seen.add(value)

    # -- blocks ----------------------------------------------------------------------------

    def blocks(self, blocks: Any, surface: str, ptr: str) -> None:
        if not isinstance(blocks, list):
            self.err("must be an array", ptr)
            return
        limit = MAX_BLOCKS[surface]
        if len(blocks) > limit:
            self.err(f"no more than {limit} items allowed", ptr)
        for i, block in enumerate(blocks):
            self.block(block, f"{ptr}/{i}")

    def block(self, block: Any, ptr: str) -> None:
        if not isinstance(block, dict):
            self.err("must be an object", ptr)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.err(f"unknown block type: {kind!r}", f"{ptr}/type")
            return
        self.unique(self.block_ids, "block_id", block.get("block_id"), ptr)
        check = getattr(self, f"block_{kind}", None)
        if check is not None:
            check(block, ptr)

    def block_section(self, block: dict, ptr: str) -> None:
        if block.get("text") is None and block.get("fields") is None:
            self.err("missing required field: text", ptr)
        self.text(block, "text", ptr, 3000, required=False)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                self.err("must be an array of no more than 10 items", f"{ptr}/fields")
            else:
                for i, item in enumerate(fields):
                    self.text({"f": item}, "f", f"{ptr}/fields/{i}", 2000)
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{ptr}/accessory", ELEMENT_TYPES)

    def block_header(self, block: dict, ptr: str) -> None:
        self.text(block, "text", ptr, 150, plain_only=True)

    def block_markdown(self, block: dict, ptr: str) -> None:
        self.string(block, "text", ptr, 12000, required=True)

    def block_image(self, block: dict, ptr: str) -> None:
        if block.get("image_url") is None and block.get("slack_file") is None:
            self.err("missing required field: image_url", ptr)
        self.string(block, "image_url", ptr, 3000)
        self.string(block, "alt_text", ptr, 2000, required=True)
        self.text(block, "title", ptr, 2000, required=False, plain_only=True)

    def block_context(self, block: dict, ptr: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.err("missing required field: elements", ptr)
            return
        if len(elements) > 10:
            self.err("no more than 10 items allowed", f"{ptr}/elements")
        for i, element in enumerate(elements):
            where = f"{ptr}/elements/{i}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.element(element, where, {"image"})
            else:
                self.text({"e": element}, "e", where, 3000)

    def block_actions(self, block: dict, ptr: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.err("missing required field: elements", ptr)
            return
        if len(elements) > 25:
            self.err("no more than 25 items allowed", f"{ptr}/elements")
        for i, element in enumerate(elements):
            self.element(element, f"{ptr}/elements/{i}", INTERACTIVE)

    def block_input(self, block: dict, ptr: str) -> None:
        self.text(block, "label", ptr, 2000, plain_only=True)
        self.text(block, "hint", ptr, 2000, required=False, plain_only=True)
        if block.get("element") is None:
            self.err("missing required field: element", ptr)
        else:
            self.element(block["element"], f"{ptr}/element", SELECTS | INPUTS)

    def block_rich_text(self, block: dict, ptr: str) -> None:
        if not isinstance(block.get("elements"), list):
            self.err("missing required field: elements", ptr)

    # -- elements --------------------------------------------------------------------------

    def element(self, element: Any, ptr: str, allowed: frozenset[str] | set[str]) -> None:
        if not isinstance(element, dict):
            self.err("must be an object", ptr)
            return
        kind = element.get("type")
        if kind not in allowed:
            self.err(f"unsupported element type here: {kind!r}", f"{ptr}/type")
            return
        self.unique(self.action_ids, "action_id", element.get("action_id"), ptr)
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{ptr}/confirm")
        if kind == "button":
            self.button(element, ptr)
        elif kind == "image":
            self.string(element, "image_url", ptr, 3000, required=element.get("slack_file") is None)
            self.string(element, "alt_text", ptr, 2000, required=True)
        elif kind in ("static_select", "multi_static_select"):
            self.text(element, "placeholder", ptr, 150, required=False, plain_only=True)
            if element.get("options") is None and element.get("option_groups") is None:
                self.err("missing required field: options", ptr)
            self.options(element.get("options"), f"{ptr}/options", 100)
            for i, group in enumerate(element.get("option_groups") or []):
                self.options(group.get("options"), f"{ptr}/option_groups/{i}/options", 100)
        elif kind == "overflow":
            self.options(element.get("options"), f"{ptr}/options", 5, required=True)
        elif kind in ("checkboxes", "radio_buttons"):
            self.options(element.get("options"), f"{ptr}/options", 10, required=True)
        elif kind == "plain_text_input":
            self.text(element, "placeholder", ptr, 150, required=False, plain_only=True)
            max_length = element.get("max_length")
            if isinstance(max_length, int) and max_length > 3000:
                self.err("must be no more than 3000", f"{ptr}/max_length")

    def button(self, element: dict, ptr: str) -> None:
        self.text(element, "text", ptr, 75, plain_only=True)
        if element.get("action_id") is None:
            self.err("missing required field: action_id", ptr)
        self.string(element, "value", ptr, 2000)
        self.string(element, "url", ptr, 3000)
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            self.err("must be one of primary, danger", f"{ptr}/style")

    def confirm(self, confirm: Any, ptr: str) -> None:
        if not isinstance(confirm, dict):
            self.err("must be an object", ptr)
            return
        self.text(confirm, "title", ptr, 100, plain_only=True)
        self.text(confirm, "text", ptr, 300)
        self.text(confirm, "confirm", ptr, 30, plain_only=True)
        self.text(confirm, "deny", ptr, 30, plain_only=True)

    def options(self, options: Any, ptr: str, limit: int, required: bool = False) -> None:
        if options is None:
            if required:
                self.err("missing required field: options", ptr.rsplit("/", 1)[0])
            return
        if not isinstance(options, list):
            self.err("must be an array", ptr)
            return
        if len(options) > limit:
            self.err(f"no more than {limit} items allowed", ptr)
        for i, option in enumerate(options):
            where = f"{ptr}/{i}"
            if not isinstance(option, dict):
                self.err("must be an object", where)
                continue
            self.text(option, "text", where, 75)
            self.string(option, "value", where, 150, required=True)

    # -- views -----------------------------------------------------------------------------

    def view(self, view: Any) -> None:
        ptr = "/view"
        if not isinstance(view, dict):
            self.err("must be an object", ptr)
            return
        kind = view.get("type")
        if kind not in ("modal", "home"):
            self.err("must be one of modal, home", f"{ptr}/type")
            return
        if kind == "modal":
            self.text(view, "title", ptr, 24, plain_only=True)
            self.text(view, "submit", ptr, 24, required=False, plain_only=True)
            self.text(view, "close", ptr, 24, required=False, plain_only=True)
        self.string(view, "private_metadata", ptr, 3000)
        self.string(view, "callback_id", ptr, 255)
        self.string(view, "external_id", ptr, 255)
        if "blocks" not in view:
            self.err("missing required field: blocks", ptr)
            return
        self.blocks(view["blocks"], kind, f"{ptr}/blocks")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view["blocks"])
        if kind == "modal" and has_input and view.get("submit") is None:
            self.err("missing required field: submit (the view has input blocks)", ptr)
