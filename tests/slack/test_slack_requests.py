"""tests/fakes/slack_requests.py: the signature is Slack's, and the requests it builds are
ones slack-bolt accepts, verifies and routes like the real thing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.fakes import slack_requests as sr

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "slack"
SECRET = "test-signing-secret-0123456789ab"


@pytest.fixture(scope="module")
def vector() -> dict:
    return json.loads((REFERENCE / "slack_signing_test_vector.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------- signing


def test_sign_matches_slacks_documented_example(vector):
    headers = sr.sign(vector["signing_secret"], vector["body"].encode(), int(vector["timestamp"]))
    assert headers == vector["headers"]
    assert headers["X-Slack-Signature"] == vector["valid_signature"]


def test_sign_agrees_with_slack_sdks_verifier(vector):
    body = vector["body"].encode()
    ts = int(vector["timestamp"])
    verifier = SignatureVerifier(vector["signing_secret"], clock=type("C", (), {"now": lambda self: ts})())
    assert verifier.is_valid_request(body, sr.sign(vector["signing_secret"], body, ts))
    assert not verifier.is_valid_request(body + b"------", sr.sign(vector["signing_secret"], body, ts))
    assert sr.sign("secret", body.decode(), ts) == sr.sign("secret", body, ts)


# ---------------------------------------------------------------------------- shapes


def _payload(body: bytes) -> dict:
    [raw] = parse_qs(body.decode())["payload"]
    return json.loads(raw)


def test_block_action_is_shaped_like_slacks(vector):
    body, ctype = sr.block_action("case:v1:42", "case.approve", user_id="U7", message_ts="1700000000.000300")
    assert ctype == "application/x-www-form-urlencoded"
    assert body.startswith(b"payload=")
    payload = _payload(body)
    reference = json.loads((REFERENCE / "bolt-python-scenario-payloads" / "block_actions.json").read_text())["body"]
    assert set(reference) <= set(payload)
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U7"
    assert payload["container"] == {
        "type": "message", "message_ts": "1700000000.000300", "channel_id": "C0REVIEW01", "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == "C0REVIEW01"
    assert payload["message"]["ts"] == "1700000000.000300"
    [action] = payload["actions"]
    assert (action["type"], action["action_id"], action["value"]) == ("button", "case.approve", "case:v1:42")
    assert payload["trigger_id"] and payload["response_url"].startswith("https://hooks.slack.com/actions/")
    assert _payload(sr.block_action("x", "a")[0])["trigger_id"] != payload["trigger_id"]


def test_view_submission_state_and_blocks_agree():
    body, _ = sr.view_submission("case.deny", '{"case_id": 42}', {"reason": {"text": "outside window"}}, "U2")
    view = _payload(body)["view"]
    assert view["callback_id"] == "case.deny"
    assert view["private_metadata"] == '{"case_id": 42}'
    assert view["state"]["values"] == {"reason": {"text": {"type": "plain_text_input", "value": "outside window"}}}
    assert view["blocks"][0]["block_id"] == "reason"
    assert view["blocks"][0]["element"]["action_id"] == "text"


def test_slash_command_and_events_shapes():
    body, ctype = sr.slash_command("/order", "#1001", "U3", "C9")
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert ctype == "application/x-www-form-urlencoded"
    assert fields["command"] == "/order" and fields["text"] == "#1001"
    assert fields["user_id"] == "U3" and fields["channel_id"] == "C9"
    assert "enterprise_id" not in fields

    event = sr.message_event("approve, customer is VIP", thread_ts="1700000000.000100")
    body, ctype = sr.event_callback(event, "Ev42")
    envelope = json.loads(body)
    assert ctype == "application/json"
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev42"
    assert envelope["event"]["thread_ts"] == "1700000000.000100"
    assert envelope["authorizations"][0]["user_id"] == "UBOT"

    body, _ = sr.url_verification("chal-123")
    assert json.loads(body) == {"token": sr.VERIFICATION_TOKEN, "challenge": "chal-123", "type": "url_verification"}


# ---------------------------------------------------------------------------- through slack-bolt


@pytest.fixture
def bolt(fake_slack):
    """A Bolt app over WSGI, its Web API pointed at FakeSlack; handlers record what Bolt parsed."""
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=fake_slack.token, base_url=fake_slack.base_url),
        process_before_response=True,
    )
    seen: dict[str, dict] = {}

    @app.action("case.approve")
    def on_approve(ack, body):
        seen["action"] = body
        ack()

    @app.view("case.deny")
    def on_deny(ack, body, view):
        seen["view"] = view
        ack()

    @app.command("/order")
    def on_order(ack, command):
        seen["command"] = command
        ack(text=f"looking up {command['text']}")

    @app.event("message")
    def on_message(event):
        seen["event"] = event

    return SlackRequestHandler(app), seen


def _post(handler, body, ctype, **kw) -> httpx.Response:
    return sr.post("http://returnsbot.test/slack/events", body, ctype, SECRET,
                   transport=httpx.WSGITransport(app=handler), **kw)


def test_bolt_accepts_and_routes_every_kind(bolt):
    handler, seen = bolt

    assert _post(handler, *sr.block_action("case:v1:42", "case.approve", user_id="U1")).status_code == 200
    assert seen["action"]["actions"][0]["value"] == "case:v1:42"
    assert seen["action"]["user"]["id"] == "U1"

    resp = _post(handler, *sr.view_submission("case.deny", "42", {"reason": {"text": "late"}}, "U2"))
    assert resp.status_code == 200
    assert seen["view"]["state"]["values"]["reason"]["text"]["value"] == "late"

    resp = _post(handler, *sr.slash_command("/order", "alice@example.com", "U3", "C0REVIEW01"))
    assert resp.status_code == 200 and "looking up alice@example.com" in resp.text

    event = sr.message_event("refund it", user="U4", thread_ts="1700000000.000100")
    assert _post(handler, *sr.event_callback(event, "Ev1")).status_code == 200
    assert seen["event"]["text"] == "refund it" and seen["event"]["thread_ts"] == "1700000000.000100"

    resp = _post(handler, *sr.url_verification("chal-xyz"))
    assert resp.status_code == 200 and resp.json() == {"challenge": "chal-xyz"}


def test_bolt_rejects_bad_signatures_and_stale_timestamps(bolt):
    handler, seen = bolt
    body, ctype = sr.block_action("case:v1:42", "case.approve")

    assert _post(handler, body, ctype, headers={"X-Slack-Signature": "v0=" + "0" * 64}).status_code == 401
    assert _post(handler, body, ctype, timestamp=int(time.time()) - 6 * 60).status_code == 401
    resp = sr.post("http://returnsbot.test/slack/events", body, ctype, "another-secret",
                   transport=httpx.WSGITransport(app=handler))
    assert resp.status_code == 401
    assert "action" not in seen


def test_post_over_a_real_socket(bolt):
    handler, seen = bolt

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, handler, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        resp = sr.post(url, *sr.block_action("case:v1:7", "case.approve"), SECRET)
        assert resp.status_code == 200
        assert seen["action"]["actions"][0]["value"] == "case:v1:7"
    finally:
        server.shutdown()
        server.server_close()
