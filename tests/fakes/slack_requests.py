"""Signed, real-shaped Slack requests for the app under test.

Every builder starts from a payload recorded in slack-bolt's own tests
(tests/reference/slack/bolt-python-scenario-payloads/, see NOTICE.md), swaps in our ids,
and returns `(body_bytes, content_type)` encoded the way Slack sends it: interactivity as
`payload=<json>` form bodies, slash commands as plain form bodies, Events API as JSON.
`post` signs the exact bytes it sends (v0 HMAC-SHA256 of `v0:{timestamp}:{body}`).

    body, ctype = block_action("case:v1:42", "case.approve", user_id="U1")
    resp = post(f"{base}/slack/events", body, ctype, secret="test-signing-secret")
    assert resp.status_code == 200

    # in-process, without a socket, for a WSGI app:
    post("http://app/slack/events", body, ctype, secret, transport=httpx.WSGITransport(app=wsgi))
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "slack"
PAYLOADS = REFERENCE / "bolt-python-scenario-payloads"

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

DEFAULT_CHANNEL = "C0REVIEW01"
DEFAULT_CHANNEL_NAME = "returns-review"
DEFAULT_MESSAGE_TS = "1700000000.000100"
TEAM_DOMAIN = "returnsbot-test"
API_APP_ID = "A0RETURNS"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
VERIFICATION_TOKEN = "deprecated-verification-token"

_seq = itertools.count(1)


@lru_cache(maxsize=None)
def _reference(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def _template(name: str, key: str) -> dict[str, Any]:
    return copy.deepcopy(_reference(name)[key])


def _trigger_id() -> str:
    n = next(_seq)
    return f"1700000000.{n}.{hashlib.sha1(str(n).encode()).hexdigest()[:32]}"


def _user(user_id: str, team: str, name: str | None = None) -> dict[str, Any]:
    name = name or f"user-{user_id.lower()}"
    return {"id": user_id, "username": name, "name": name, "team_id": team}


# ---------------------------------------------------------------------------- signing


def sign(secret: str, body: bytes | str, timestamp: int | str) -> dict[str, str]:
    """Slack's v0 request signature headers for `body` sent at `timestamp` (unix seconds)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def post(
    url: str,
    body: bytes,
    content_type: str,
    secret: str,
    timestamp: int | None = None,
    *,
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST `body` signed with `secret` (timestamp defaults to now). `headers` adds or
    overrides (e.g. `X-Slack-Retry-Num`, or a forged signature); `transport` lets a test
    call a WSGI app in-process (`httpx.WSGITransport(app=...)`)."""
    ts = int(time.time()) if timestamp is None else timestamp
    sent = {"Content-Type": content_type, **sign(secret, body, ts), **(headers or {})}
    with httpx.Client(transport=transport, timeout=timeout) as client:
        return client.post(url, content=body, headers=sent)


# ---------------------------------------------------------------------------- interactivity


def _form_payload(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("utf-8"), FORM


def form(payload: dict[str, Any]) -> tuple[bytes, str]:
    """An interactivity body for `payload` as given (to send a payload altered by hand)."""
    return _form_payload(payload)


def payload_of(body: bytes) -> dict[str, Any]:
    """The JSON `payload` field of an interactivity body (to alter it, then `form` it)."""
    return json.loads(dict(parse_qsl(body.decode("utf-8")))["payload"])


def block_action(
    case_value: str,
    action_id: str,
    user_id: str = "U1",
    channel: str = DEFAULT_CHANNEL,
    message_ts: str = DEFAULT_MESSAGE_TS,
    team: str = "T1",
    *,
    block_id: str = "case.actions",
    button_text: str = "Approve",
    message_blocks: list[dict[str, Any]] | None = None,
    message_text: str = "",
    user_name: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    state_values: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    """A button click on a bot message (the case card) — shaped like block_actions.json,
    with the `message` Slack includes for non-ephemeral messages."""
    body = _template("block_actions.json", "body")
    action = body["actions"][0]
    action.update(
        action_id=action_id,
        block_id=block_id,
        value=case_value,
        text={"type": "plain_text", "text": button_text, "emoji": True},
        action_ts=f"{int(float(message_ts)) + 60}.{next(_seq):06d}",
    )
    body.update(
        user=_user(user_id, team, user_name),
        api_app_id=API_APP_ID,
        token=VERIFICATION_TOKEN,
        container={"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        trigger_id=trigger_id or _trigger_id(),
        team={"id": team, "domain": TEAM_DOMAIN},
        enterprise=None,
        is_enterprise_install=False,
        channel={"id": channel, "name": DEFAULT_CHANNEL_NAME},
        message={
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "team": team,
            "ts": message_ts,
            "text": message_text,
            "blocks": message_blocks if message_blocks is not None else [],
        },
        state={"values": state_values or {}},
        response_url=response_url
        or f"https://hooks.slack.com/actions/{team}/{next(_seq)}/fake-response-url",
        actions=[action],
    )
    return _form_payload(body)


def users_select_action(block_id: str, action_id: str, selected_user: str, user_id: str = "U1",
                        channel: str = DEFAULT_CHANNEL, message_ts: str = DEFAULT_MESSAGE_TS) -> tuple[bytes, str]:
    """A person picked someone in a users_select on a bot message: the action carries
    `selected_user` and its block id, and no `value` (Slack's shape for selects)."""
    import json as _json
    from urllib.parse import parse_qs

    raw, ctype = block_action("", action_id, user_id=user_id, channel=channel, message_ts=message_ts,
                              block_id=block_id)
    body = _json.loads(parse_qs(raw.decode())["payload"][0])
    action = body["actions"][0]
    for key in ("value", "text", "style"):
        action.pop(key, None)
    action.update(type="users_select", selected_user=selected_user, initial_user=None)
    return _form_payload(body)


def _state(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Slack's `view.state.values`; a plain string value is shorthand for a
    plain_text_input (`{"note": {"text": "hi"}}`)."""
    out: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        out[block_id] = {
            action_id: ({"type": "plain_text_input", "value": v} if isinstance(v, str) or v is None else v)
            for action_id, v in actions.items()
        }
    return out


def view_submission(
    callback_id: str,
    private_metadata: str,
    state_values: dict[str, dict[str, Any]],
    user_id: str = "U1",
    *,
    team: str = "T1",
    view_id: str = "V0000000001",
    blocks: list[dict[str, Any]] | None = None,
    title: str = "returnsbot",
    trigger_id: str | None = None,
) -> tuple[bytes, str]:
    """A modal submitted — shaped like view_submission.json. Without `blocks`, one input
    block per state entry is made up so blocks and state agree."""
    body = _template("view_submission.json", "body")
    values = _state(state_values)
    if blocks is None:
        blocks = [
            {
                "type": "input",
                "block_id": block_id,
                "label": {"type": "plain_text", "text": block_id},
                "optional": False,
                "element": {"type": element.get("type", "plain_text_input"), "action_id": action_id},
            }
            for block_id, actions in values.items()
            for action_id, element in actions.items()
        ]
    view = body["view"]
    view.update(
        id=view_id,
        team_id=team,
        blocks=blocks,
        private_metadata=private_metadata,
        callback_id=callback_id,
        state={"values": values},
        hash=f"1700000000.{next(_seq):08d}",
        title={"type": "plain_text", "text": title},
        root_view_id=view_id,
        app_id=API_APP_ID,
        app_installed_team_id=team,
        bot_id=BOT_ID,
    )
    body.update(
        team={"id": team, "domain": TEAM_DOMAIN},
        enterprise=None,
        is_enterprise_install=False,
        user=_user(user_id, team),
        api_app_id=API_APP_ID,
        token=VERIFICATION_TOKEN,
        trigger_id=trigger_id or _trigger_id(),
        view=view,
        response_urls=[],
    )
    return _form_payload(body)


def slash_command(
    command: str,
    text: str,
    user_id: str = "U1",
    channel_id: str = DEFAULT_CHANNEL,
    *,
    team: str = "T1",
    channel_name: str = DEFAULT_CHANNEL_NAME,
    user_name: str | None = None,
    trigger_id: str | None = None,
) -> tuple[bytes, str]:
    """A slash command — the form body of slash_command.json with our values."""
    fields = dict(parse_qsl(_reference("slash_command.json")["slash_command_body"], keep_blank_values=True))
    for key in ("enterprise_id", "enterprise_name"):  # a plain (non-Grid) workspace
        fields.pop(key, None)
    fields.update(
        token=VERIFICATION_TOKEN,
        team_id=team,
        team_domain=TEAM_DOMAIN,
        channel_id=channel_id,
        channel_name=channel_name,
        user_id=user_id,
        user_name=user_name or f"user-{user_id.lower()}",
        command=command,
        text=text,
        api_app_id=API_APP_ID,
        is_enterprise_install="false",
        response_url=f"https://hooks.slack.com/commands/{team}/{next(_seq)}/fake-response-url",
        trigger_id=trigger_id or _trigger_id(),
    )
    return urlencode(fields).encode("utf-8"), FORM


# ---------------------------------------------------------------------------- Events API


def event_callback(
    event: dict[str, Any],
    event_id: str = "Ev0000000001",
    *,
    team: str = "T1",
    event_time: int | None = None,
) -> tuple[bytes, str]:
    """An Events API delivery wrapping `event` — the envelope of message.json, with the
    `authorizations` block Slack sends today."""
    body = _template("message.json", "message_body")
    event = copy.deepcopy(event)
    if "ts" in event and "event_ts" not in event:
        event["event_ts"] = event["ts"]
    ts = event.get("event_ts") or event.get("ts")
    body.pop("enterprise_id", None)
    body.pop("authed_users", None)
    body.update(
        token=VERIFICATION_TOKEN,
        team_id=team,
        context_team_id=team,
        context_enterprise_id=None,
        api_app_id=API_APP_ID,
        event=event,
        type="event_callback",
        event_id=event_id,
        event_time=event_time if event_time is not None else int(float(ts)) if ts else int(time.time()),
        authorizations=[
            {"enterprise_id": None, "team_id": team, "user_id": BOT_USER_ID, "is_bot": True,
             "is_enterprise_install": False}
        ],
        is_ext_shared_channel=False,
        event_context=f"4-{event_id}",
    )
    return json.dumps(body).encode("utf-8"), JSON


def message_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = DEFAULT_CHANNEL,
    ts: str = "1700000100.000200",
    thread_ts: str | None = None,
    channel_type: str = "channel",
    team: str = "T1",
) -> dict[str, Any]:
    """A human's `message` event (a reply in a card's thread when `thread_ts` is set),
    shaped like message.json's event. `channel_type="group"` for a private channel."""
    event = _template("message.json", "message_body")["event"]
    event.update(
        client_msg_id=f"00000000-0000-4000-8000-{next(_seq):012d}",
        text=text,
        user=user,
        ts=ts,
        team=team,
        channel=channel,
        event_ts=ts,
        channel_type=channel_type,
        blocks=[{"type": "rich_text", "block_id": "r1", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}],
    )
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = BOT_USER_ID
    return event


def url_verification(challenge: str) -> tuple[bytes, str]:
    """Slack's handshake when the Events request URL is saved; the app must echo `challenge`."""
    body = _template("events_url_verification.json", "event_body")
    body.update(challenge=challenge, token=VERIFICATION_TOKEN)
    return json.dumps(body).encode("utf-8"), JSON
