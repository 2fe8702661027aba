"""Block Kit validation with Slack's limits and Slack-style error messages.

Slack rejects a bad message with ``invalid_blocks`` and a bad view with ``invalid_arguments``;
both carry ``response_metadata.messages`` like ``[ERROR] ... [json-pointer:/blocks/0/text/text]``.
Only the limits a bot commonly trips over are checked.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_MESSAGE_TEXT = 40000
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "rich_text",
        "section",
        "video",
        "markdown",
        "table",
        "context_actions",
    }
)


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def text_object(self, obj: Any, pointer: str, max_len: int, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.add("must provide an object", pointer)
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.add(f"must be one of {', '.join(allowed)}", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add("must be more than 0 characters", f"{pointer}/text")
        elif len(text) > max_len:
            self.add(f"must be less than {max_len + 1} characters", f"{pointer}/text")

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.add("must provide an object with a type", pointer)
            return
        action_id = element.get("action_id")
        if isinstance(action_id, str) and len(action_id) > MAX_ACTION_ID:
            self.add(f"must be less than {MAX_ACTION_ID + 1} characters", f"{pointer}/action_id")
        if element["type"] == "button":
            self.text_object(element.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, plain_only=True)
            value = element.get("value")
            if isinstance(value, str) and len(value) > MAX_BUTTON_VALUE:
                self.add(f"must be less than {MAX_BUTTON_VALUE + 1} characters", f"{pointer}/value")

    def block(self, block: Any, pointer: str, seen_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.add("must provide an object", pointer)
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.add(f"unsupported type: {kind}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > MAX_BLOCK_ID:
                self.add(f"must be between 1 and {MAX_BLOCK_ID} characters", f"{pointer}/block_id")
            elif block_id in seen_ids:
                self.add(f"duplicate block_id: {block_id}", f"{pointer}/block_id")
            else:
                seen_ids.add(block_id)
        if kind == "section":
            self.section(block, pointer)
        elif kind == "header":
            self.text_object(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT, plain_only=True)
        elif kind == "actions":
            self.element_list(block, pointer, MAX_ACTIONS_ELEMENTS)
        elif kind == "context":
            self.element_list(block, pointer, MAX_CONTEXT_ELEMENTS, check_elements=False)
        elif kind == "input":
            self.text_object(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
            self.element(block.get("element"), f"{pointer}/element")

    def section(self, block: dict[str, Any], pointer: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            self.add("must provide text or fields", pointer)
        if text is not None:
            self.text_object(text, f"{pointer}/text", MAX_SECTION_TEXT)
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
                self.add(f"must provide a list of at most {MAX_SECTION_FIELDS} items", f"{pointer}/fields")
            else:
                for i, item in enumerate(fields):
                    self.text_object(item, f"{pointer}/fields/{i}", MAX_FIELD_TEXT)
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{pointer}/accessory")

    def element_list(self, block: dict[str, Any], pointer: str, limit: int, check_elements: bool = True) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add("must provide a non-empty list", f"{pointer}/elements")
            return
        if len(elements) > limit:
            self.add(f"must provide at most {limit} items", f"{pointer}/elements")
        if check_elements:
            for i, element in enumerate(elements):
                self.element(element, f"{pointer}/elements/{i}")

    def blocks(self, blocks: Any, pointer: str, limit: int) -> None:
        if not isinstance(blocks, list):
            self.add("must provide an array", pointer)
            return
        if len(blocks) > limit:
            self.add(f"must provide at most {limit} items", pointer)
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}", seen)


def validate_message_blocks(blocks: Any) -> list[str]:
    """Errors for a message's ``blocks`` (empty when valid)."""
    checker = _Checker()
    checker.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    return checker.errors


def validate_view(view: Any) -> list[str]:
    """Errors for a modal or Home tab view (empty when valid)."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.add("must provide an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.add("must be one of modal, home", "/view/type")
    checker.blocks(view.get("blocks"), "/view/blocks", MAX_VIEW_BLOCKS)
    if kind == "modal":
        checker.text_object(view.get("title"), "/view/title", MAX_VIEW_TITLE, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                checker.text_object(view[key], f"/view/{key}", MAX_VIEW_TITLE, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            checker.add("must provide submit when input blocks are present", "/view/submit")
    metadata = view.get("private_metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA):
        checker.add(f"must be less than {MAX_PRIVATE_METADATA + 1} characters", "/view/private_metadata")
    callback_id = view.get("callback_id")
    if callback_id is not None and (not isinstance(callback_id, str) or len(callback_id) > MAX_CALLBACK_ID):
        checker.add(f"must be less than {MAX_CALLBACK_ID + 1} characters", "/view/callback_id")
    return checker.errors


def find_action_element(blocks: Any, action_id: str) -> tuple[str | None, dict[str, Any] | None]:
    """The ``(block_id, element)`` holding ``action_id`` in ``blocks``, if any."""
    if not isinstance(blocks, list):
        return None, None
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates: list[Any] = []
        if isinstance(block.get("elements"), list):
            candidates.extend(block["elements"])
        for key in ("accessory", "element"):
            if block.get(key) is not None:
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                block_id = block.get("block_id")
                return (block_id if isinstance(block_id, str) else None), element
    return None, None
