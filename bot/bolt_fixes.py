"""Workarounds for known slack-bolt defects, applied once by the app factory.

slack-bolt 1.30 parses any form body that merely *contains* the word "payload" as an
interactivity payload, and returns {} when it has no `payload=` field — so
`/playbook payload refunds` or a channel named #payload-ops became an unhandled 404.
We parse form bodies by their fields instead. Remove when Bolt fixes it upstream.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import slack_bolt.request.request as bolt_request

_original_parse_body = bolt_request.parse_body


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    if body and content_type != "application/json" and not body.startswith("{"):
        fields = dict(parse_qsl(body, keep_blank_values=True))
        return json.loads(fields["payload"]) if "payload" in fields else fields
    return _original_parse_body(body, content_type)


def apply() -> None:
    bolt_request.parse_body = parse_body
