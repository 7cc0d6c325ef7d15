"""The form-body fix: the word "payload" in a slash command's text must not lose the body."""

import json
from urllib.parse import urlencode

from bot.bolt_fixes import parse_body

FORM = "application/x-www-form-urlencoded"


def test_slash_command_mentioning_payload_keeps_its_fields():
    body = urlencode({"command": "/playbook", "text": "payload refunds", "user_id": "U1"})
    assert parse_body(body, FORM) == {"command": "/playbook", "text": "payload refunds", "user_id": "U1"}


def test_interactivity_payload_still_parsed():
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}})})
    assert parse_body(body, FORM)["type"] == "block_actions"


def test_json_bodies_untouched():
    assert parse_body('{"type": "event_callback"}', "application/json") == {"type": "event_callback"}
    assert parse_body("", FORM) == {}
