"""check_limits: walk a rendered payload and assert every Block Kit limit holds.

Limits from reference/slack/block-kit-limits.md and slack_sdk_models_limits.json. Each
block is also rebuilt with slack_sdk's models and serialised, which runs the SDK's own
validators (and a whole modal goes through `View`).
"""

from __future__ import annotations

import re

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100


def check_limits(payload: dict[str, Any]) -> None:
    is_view = payload.get("type") == "modal"
    blocks = payload["blocks"]
    assert blocks, "no blocks"
    if is_view:
        assert len(blocks) <= VIEW_BLOCKS, len(blocks)
        for key in ("title", "submit", "close"):
            if key in payload:
                _plain(payload[key], 24)
        assert len(payload.get("private_metadata", "")) <= 3000
        assert len(payload.get("callback_id", "")) <= 255
        View(**payload).to_dict()
    else:
        assert len(blocks) <= MESSAGE_BLOCKS, len(blocks)
        text = payload["text"]
        assert isinstance(text, str) and text.strip(), "a message needs its fallback text"
        assert len(text) <= 3000
    block_ids: list[str] = []
    action_ids: list[str] = []
    for block in blocks:
        if "block_id" in block:
            assert 0 < len(block["block_id"]) <= 255
            block_ids.append(block["block_id"])
        _check_block(block, action_ids)
        rebuilt = Block.parse(block)
        assert rebuilt is not None, block
        assert rebuilt.to_dict() == block  # the SDK's validators pass, nothing lost
    assert len(block_ids) == len(set(block_ids)), f"duplicate block_id: {block_ids}"
    assert len(action_ids) == len(set(action_ids)), f"duplicate action_id: {action_ids}"


def _text(obj: dict[str, Any], limit: int) -> None:
    assert obj["type"] in ("plain_text", "mrkdwn"), obj
    assert isinstance(obj["text"], str) and obj["text"].strip(), f"empty text: {obj}"
    assert len(obj["text"]) <= limit, (len(obj["text"]), limit)


def _plain(obj: dict[str, Any], limit: int) -> None:
    assert obj["type"] == "plain_text", obj
    _text(obj, limit)


def _check_block(block: dict[str, Any], action_ids: list[str]) -> None:
    kind = block["type"]
    if kind == "header":
        _plain(block["text"], 150)
    elif kind == "section":
        assert "text" in block or "fields" in block
        if "text" in block:
            _text(block["text"], 3000)
        fields = block.get("fields", [])
        assert len(fields) <= 10
        for f in fields:
            _text(f, 2000)
        if "accessory" in block:
            _check_element(block["accessory"], action_ids)
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= 10
        for el in block["elements"]:
            if el["type"] in ("plain_text", "mrkdwn"):
                _text(el, 3000)
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= 25
        for el in block["elements"]:
            _check_element(el, action_ids)
    elif kind == "input":
        _plain(block["label"], 2000)
        if "hint" in block:
            _plain(block["hint"], 2000)
        _check_element(block["element"], action_ids)
    elif kind == "divider":
        pass
    else:  # pragma: no cover - a renderer started using a new block type: add its limits
        raise AssertionError(f"unchecked block type {kind}")


def _check_element(el: dict[str, Any], action_ids: list[str]) -> None:
    if "action_id" in el:
        assert 0 < len(el["action_id"]) <= 255
        action_ids.append(el["action_id"])
    if "placeholder" in el:
        _plain(el["placeholder"], 150)
    kind = el["type"]
    if kind == "button":
        _plain(el["text"], 75)
        assert len(el.get("value", "")) <= 2000
        assert len(el.get("url", "")) <= 3000
        assert el.get("style") in (None, "primary", "danger")
        if "confirm" in el:  # a confirmation dialog: title 100, text 300, buttons 30
            c = el["confirm"]
            _plain(c["title"], 100), _text(c["text"], 300), _plain(c["confirm"], 30), _plain(c["deny"], 30)
            assert c.get("style") in (None, "primary", "danger")
    elif kind == "users_select":
        assert el.get("initial_user") is None or re.fullmatch(r"[UW][A-Z0-9]+", el["initial_user"])
    elif kind in ("static_select", "checkboxes", "radio_buttons"):
        options = el["options"]
        assert 1 <= len(options) <= (10 if kind != "static_select" else 100)
        values = []
        for o in options:
            _text(o["text"], 75)
            assert 0 < len(o["value"]) <= 150
            values.append(o["value"])
        assert len(values) == len(set(values))
        for o in el.get("initial_options", []) + ([el["initial_option"]] if "initial_option" in el else []):
            assert o in options, "an initial option must be one of the options, exactly"
    elif kind == "overflow":  # 1 to 5 options, each text 75 and value 150
        options = el["options"]
        assert 1 <= len(options) <= 5
        values = [o["value"] for o in options]
        for o in options:
            _text(o["text"], 75)
            assert 0 < len(o["value"]) <= 150
        assert len(values) == len(set(values))
    elif kind == "plain_text_input":
        assert 0 < el.get("max_length", 3000) <= 3000
        assert 0 <= el.get("min_length", 0) <= el.get("max_length", 3000)
    else:  # pragma: no cover
        raise AssertionError(f"unchecked element type {kind}")


def all_strings(payload: Any) -> list[str]:
    """Every string value in the payload (texts, values, ids, metadata)."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in all_strings(v)]
    if isinstance(payload, list):
        return [s for v in payload for s in all_strings(v)]
    return []


def text_objects(payload: Any) -> list[dict[str, Any]]:
    """Every text object ({"type": "mrkdwn"|"plain_text", "text": ...}) in the payload."""
    found: list[dict[str, Any]] = []
    if isinstance(payload, dict):
        if payload.get("type") in ("mrkdwn", "plain_text") and isinstance(payload.get("text"), str):
            found.append(payload)
        for v in payload.values():
            found += text_objects(v)
    elif isinstance(payload, list):
        for v in payload:
            found += text_objects(v)
    return found


def block_texts(payload: dict[str, Any]) -> str:
    """All the text a person reads in the blocks, joined by newlines (for `in` asserts)."""
    return "\n".join(t["text"] for t in text_objects(payload["blocks"]))
