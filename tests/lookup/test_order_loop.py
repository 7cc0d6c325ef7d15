"""`/order` end to end: signed slash commands to the running app (sample store, FakeSlack);
the private answer arrives at the command's response_url (a small local receiver here)."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.blocks.limits import check_limits
from tests.fakes import slack_requests as sr
from tests.loop import harness
from tests.loop.harness import REVIEW, SIGNING_SECRET, card_text, wait_for

USER = harness.T1  # an approver: by default only approvers may look orders up


class Receiver:
    """Stands in for Slack's response_url endpoint: records what was POSTed."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[float, str, dict]] = []  # (monotonic, path, json)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((time.monotonic(), self.path, json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, at every teardown.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self._n = 0

    def url(self) -> str:
        self._n += 1
        return f"http://127.0.0.1:{self.server.server_address[1]}/commands/T1/{self._n}/hook"

    def answer(self, url: str) -> dict:
        path = url.split(str(self.server.server_address[1]), 1)[1]
        return wait_for(lambda: next((p for _, p_path, p in self.posts if p_path == path), None), timeout=5,
                        what="the answer at response_url")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def loop(database_url: str, policy: str = harness.POLICY):
    """The harness's running app; its engine is disposed after (PostgreSQL connections add up)."""
    lp = None
    try:
        with harness.loop(database_url, policy=policy) as lp:
            yield lp
    finally:  # after the server and its workers stopped
        if lp is not None:
            lp.c.engine.dispose()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def order_command(lp, text: str, response_url: str, *, channel: str = "C0ELSEWHER"):
    body, ctype = sr.slash_command("/order", text, user_id=USER, channel_id=channel)
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    fields["response_url"] = response_url
    started = time.monotonic()
    resp = sr.post(lp.url, urlencode(fields).encode(), ctype, SIGNING_SECRET)
    return resp, started, time.monotonic() - started


def text_of(answer: dict) -> str:
    return card_text(answer)


def test_order_number_answers_privately_with_the_order_context_and_the_case_link(database_url, receiver):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        url = receiver.url()
        resp, started, ack_seconds = order_command(lp, "#1034", url)
        assert resp.status_code == 200 and resp.content == b""  # acked at once, Slack shows nothing
        assert ack_seconds < 1.0
        answer = receiver.answer(url)
        arrived = next(t for t, path, _ in receiver.posts if url.endswith(path))
        assert arrived - started < 3.0
        assert answer["response_type"] == "ephemeral" and "replace_original" not in answer
        check_limits({"blocks": answer["blocks"], "text": answer["text"]})
        text = text_of(answer)
        customer = lp.store.get_customer(lp.store.find_orders("#1034")[0].customer_id)
        assert "Order #1034 · $549.00" in text
        assert "*Paid*" in text and "*Fulfilled*" in text  # status
        for item in lp.store.find_orders("#1034")[0].line_items:  # items
            assert item.title in text
        assert "Marcus Webb" in text and customer.lifetime_spend.format() in text  # lifetime spend
        permalink = f"https://returnsbot-test.slack.com/archives/{REVIEW}/p{case.slack_ts.replace('.', '')}"
        assert f"*Case {case.id}*" in text and f"<{permalink}|open the card>" in text
        assert lp.slack.calls_to("chat.postEphemeral") == []  # response_url worked: no fallback


@pytest.mark.parametrize("text, expected", [
    ("#9999", "No order matches “#9999”."),
    ("", "Look an order up with `/order 1001`"),
    ("   ", "Look an order up with `/order 1001`"),
    ("what is this", "“what is this” isn't an order number"),
    # bolt 1.30 returned {} for a form body containing "payload" (→ 404); bot.bolt_fixes keeps /order working.
    ("payload", "“payload” isn't an order number"),
    ("payload=1001", "“payload=1001” isn't an order number"),
])
def test_unknown_empty_and_malformed_get_the_usage_line(database_url, receiver, text, expected):
    with loop(database_url) as lp:
        url = receiver.url()
        resp, _, _ = order_command(lp, text, url)
        assert resp.status_code == 200 and resp.content == b""
        answer = receiver.answer(url)
        assert expected in answer["text"]
        assert answer["response_type"] == "ephemeral"


def test_several_matches_are_a_list_and_a_pick_replaces_it_with_the_card(database_url, receiver):
    with loop(database_url) as lp:
        url = receiver.url()
        order_command(lp, "<mailto:d.okafor@example.net|d.okafor@example.net>", url)
        answer = receiver.answer(url)
        check_limits({"blocks": answer["blocks"], "text": answer["text"]})
        buttons = [b["accessory"] for b in answer["blocks"] if "accessory" in b]
        assert [b["text"]["text"] for b in buttons] == ["Show #1042", "Show #1025", "Show #1015", "Show #1007",
                                                        "Show #1003", "Show #1001"]
        assert "or type `/order #1042`" in text_of(answer)
        pick = buttons[2]
        click_url = receiver.url()
        body, ctype = sr.block_action(pick["value"], pick["action_id"], user_id=USER, channel="C0ELSEWHER",
                                      response_url=click_url)
        assert sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code == 200
        card = receiver.answer(click_url)
        assert card["replace_original"] is True and card["response_type"] == "ephemeral"
        assert "Order #1015" in text_of(card) and "Daniel Okafor" in text_of(card)


def test_unreachable_response_url_falls_back_to_an_ephemeral(database_url):
    with loop(database_url) as lp:
        dead = Receiver()
        url = dead.url()
        dead.close()  # nothing listens there any more
        resp, _, _ = order_command(lp, "1033", url, channel=REVIEW)
        assert resp.status_code == 200
        [call] = lp.slack.wait_for("chat.postEphemeral")
        assert call.params["user"] == USER and call.params["channel"] == REVIEW
        assert call.params["text"].startswith("[Sample store — not a real shop] Order #1033 · $206.00 · Grace Liu")
        assert any("Refunded so far" in json.dumps(b) for b in call.params["blocks"])


def test_refused_response_url_falls_back_too(database_url):
    with loop(database_url) as lp:
        gone = Receiver(status=404)  # Slack answers 404 expired_url after 30 minutes
        try:
            order_command(lp, "1033", gone.url(), channel=REVIEW)
            [call] = lp.slack.wait_for("chat.postEphemeral")
            assert call.params["text"].startswith("[Sample store — not a real shop] Order #1033")
            assert len(gone.posts) == 1
        finally:
            gone.close()


# --- who may look orders up ----------------------------------------------------------------------


def lookups(lp) -> list[tuple]:
    from sqlalchemy import select

    from bot.schema import audit_log

    with lp.c.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.event == "lookup.order").order_by(audit_log.c.id))
        return [(r.case_id, r.actor, r.detail) for r in rows]


def test_someone_access_does_not_allow_gets_a_private_line_saying_who_can_ask(database_url, receiver):
    with loop(database_url) as lp:
        url = receiver.url()
        body, ctype = sr.slash_command("/order", "#1034", user_id="U0STRANGER", channel_id="C0ELSEWHER")
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True), response_url=url)
        assert sr.post(lp.url, urlencode(fields).encode(), ctype, SIGNING_SECRET).status_code == 200
        answer = receiver.answer(url)
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] == (f"Only <@{harness.T1}>, <!subteam^S0TIER2>, <@{harness.T3}> can use /order "
                                  "(set in the approval tiers of the policy file); ask one of them.")
        assert "Marcus" not in json.dumps(answer) and "549" not in json.dumps(answer)  # nothing about the order
        assert lookups(lp) == [(None, "U0STRANGER", {"query": "#1034", "channel": "C0ELSEWHER", "allowed": False})]


def test_members_of_an_approver_group_may_look_up_and_each_lookup_is_audited(database_url, receiver):
    with loop(database_url) as lp:
        url = receiver.url()
        body, ctype = sr.slash_command("/order", "ada@example.com", user_id=harness.T2A, channel_id="C0ELSEWHER")
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True), response_url=url)
        sr.post(lp.url, urlencode(fields).encode(), ctype, SIGNING_SECRET)
        assert "No order matches" in receiver.answer(url)["text"]  # looked up: a usage line, not a refusal
        assert lookups(lp) == [(None, harness.T2A, {"query": "ada@example.com", "channel": "C0ELSEWHER",
                                                    "allowed": True})]


def test_access_can_name_a_channel(database_url, receiver):
    with loop(database_url, policy=harness.POLICY + '\n[access]\nlookup = ["C0OPSROOM1"]\n') as lp:
        inside, outside = receiver.url(), receiver.url()
        order_command(lp, "#1034", inside, channel="C0OPSROOM1")
        assert "Order #1034" in text_of(receiver.answer(inside))
        order_command(lp, "#1034", outside, channel="C0ELSEWHER")  # USER is an approver, but access is set
        assert receiver.answer(outside)["text"].startswith("Only people in <#C0OPSROOM1> can use /order")
        assert [d["allowed"] for _, _, d in lookups(lp)] == [True, False]


def test_a_pick_from_the_list_is_checked_and_audited_too(database_url, receiver):
    with loop(database_url) as lp:
        order = lp.store.find_orders("#1015")[0]
        click_url = receiver.url()
        body, ctype = sr.block_action(order.id, "order-open-1", user_id="U0STRANGER", channel="C0ELSEWHER",
                                      response_url=click_url)
        assert sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code == 200
        assert receiver.answer(click_url)["text"].startswith("Only ")
        assert lookups(lp) == [(None, "U0STRANGER", {"query": order.id, "channel": "C0ELSEWHER", "allowed": False})]
