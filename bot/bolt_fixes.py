"""Workarounds for known slack-bolt defects, applied once by the app factory.

* slack-bolt 1.30 parses any form body that merely *contains* the word "payload" as an
  interactivity payload, and returns {} when it has no `payload=` field — so
  `/playbook payload refunds` or a channel named #payload-ops became an unhandled 404.
  We parse form bodies by their fields instead. Remove when Bolt fixes it upstream.
* A body Bolt cannot parse (a `payload=` field or a JSON body that isn't a JSON object,
  nesting deep enough for a RecursionError) raised out of `BoltRequest` itself: a 500
  and a traceback, before the signature was even looked at. Such a body now parses to a
  marker; `RefuseMalformed` (run after the signature check, before authorisation)
  answers it 400, and so a payload missing what Bolt's listener matchers index blindly
  (`actions[0]["action_id"]`, `view["callback_id"]`, `event["type"]`). An unsigned one is
  still a 401.

Not a defect, a cost: a click's form body is ~1 KB of percent-escaped JSON, and
`parse_qsl`'s pure-Python unquoting of it was ~17 % of a click's ack path (bench/README.md).
`form_fields` decodes the same fields at C speed (`binascii.a2b_qp` does the hex escapes),
falling back to `unquote` for anything that isn't a plain escaped ASCII value.
"""

from __future__ import annotations

import binascii
import json
import logging
from typing import Any, Callable
from urllib.parse import unquote

import slack_bolt.request.request as bolt_request
from slack_bolt.middleware import Middleware
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

MALFORMED = "returnsbot_malformed_body"  # key of the marker a body we can't read parses to


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        return {MALFORMED: f"{what} is not JSON ({type(exc).__name__})"}
    if not isinstance(value, dict):
        return {MALFORMED: f"{what} is not a JSON object"}
    return value


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    if not body:
        return {}
    if content_type == "application/json" or body.startswith("{"):
        return _json_object(body, "the body")
    fields = form_fields(body)
    return _json_object(fields["payload"], "the payload field") if "payload" in fields else fields


def form_fields(body: str) -> dict[str, str]:
    """`dict(parse_qsl(body, keep_blank_values=True))`, exactly, faster."""
    fields = {}
    for pair in body.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields[_unquote_plus(name)] = _unquote_plus(value)
    return fields


def _unquote_plus(text: str) -> str:
    """What parse_qsl makes of a name or value: "+" is a space, escapes decoded as UTF-8
    with errors replaced."""
    if "%" not in text:
        return text.replace("+", " ")
    # a2b_qp reads "=XX" escapes; a raw "=" or line break would mean something else to it.
    if text.isascii() and "=" not in text and "\n" not in text and "\r" not in text:
        raw = binascii.a2b_qp(text.replace("%", "=").replace("+", " "))
        # A malformed escape ("%zz", "%4", a trailing "%") comes out longer (or one short)
        # than three characters to one byte: only when every "%" took two hex digits is
        # this what unquote makes, which keeps malformed escapes as they are.
        if len(raw) == len(text) - 2 * text.count("%"):
            return raw.decode("utf-8", "replace")
    return unquote(text.replace("+", " "), encoding="utf-8", errors="replace")


def _shape_problem(body: dict[str, Any]) -> str | None:
    """What Bolt's listener matchers index without looking (`actions[0]["action_id"]`,
    `view["callback_id"]`, `event["type"]`): a payload without it made them raise."""
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "block_actions without actions that have an action_id"
    elif kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return f"{kind} without a view that has a callback_id"
    elif kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event_callback without an event type"
    return None


class RefuseMalformed(Middleware):
    """Bolt middleware (as `before_authorize`, so after the signature check): a signed body
    we can't read, or that lacks what Bolt's routing reads blindly, is a 400. A Middleware
    subclass, not a function: Bolt builds a function middleware's arguments from the body
    (`to_action(body)` …), which is the very thing that fails on such a body."""

    def process(self, *, req: Any, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        body = req.body if isinstance(req.body, dict) else {}
        problem = body.get(MALFORMED) or _shape_problem(body)
        if problem is None:
            return next()
        log.warning("slack.request_refused status=400 reason=%s", problem, extra={"reason": "malformed"})
        return BoltResponse(status=400, body=f"malformed request: {problem}")


def apply() -> None:
    bolt_request.parse_body = parse_body
