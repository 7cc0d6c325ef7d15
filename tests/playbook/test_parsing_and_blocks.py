"""Pure parts: which message events are replies, Slack text → plain text, `/playbook`
answers within Block Kit limits with outside text escaped."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from blocks.ids import PlaybookId
from blocks.playbook import (
    MAX_SHOWN,
    PlaybookItem,
    entry_ref,
    parse_entry_ref,
    render_help,
    render_most_used,
    render_retired,
    render_saved,
    render_search,
)
from blocks.playbook_proposal import (ProposalView, parse_proposal_ref, proposal_ref, render_proposal,
                                      render_proposal_ignored, render_proposal_saved)
from blocks.refs import BadRef
from handlers.slack.playbook import answer_command, is_approver, reply_from_event, slack_text_to_plain
from policy.models import CaseKind
from tests.blocks.limits import check_limits
from tests.fakes import slack_requests as sr

CARD_TS = "1700000000.000100"
BOT = dict(bot_user_id=sr.BOT_USER_ID, bot_id=sr.BOT_ID)


# --- which events are replies ---------------------------------------------------------------


def test_a_thread_reply_is_a_new_reply():
    event = sr.message_event("Check the photos &amp; the seam", user="U0ALICE001", ts="1700000100.000200",
                             thread_ts=CARD_TS)
    reply = reply_from_event(event, **BOT)
    assert (reply.change, reply.channel, reply.ts, reply.thread_ts, reply.author, reply.text) == (
        "new", sr.DEFAULT_CHANNEL, "1700000100.000200", CARD_TS, "U0ALICE001", "Check the photos & the seam")


@pytest.mark.parametrize("change", [
    {"thread_ts": None},  # top level
    {"thread_ts": "1700000100.000200"},  # a thread's parent
    {"subtype": "bot_message", "bot_id": "B0OTHER"},
    {"bot_id": "B0OTHER"},  # an app posting as itself, no subtype
    {"user": sr.BOT_USER_ID},  # ourselves
    {"subtype": "channel_join"},
    {"text": "   "},
    {"user": None},
])
def test_what_is_not_a_reply(change):
    event = sr.message_event("hello", user="U0ALICE001", ts="1700000100.000200", thread_ts=CARD_TS)
    for key, value in change.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    assert reply_from_event(event, **BOT) is None


def test_a_broadcast_reply_counts():
    event = sr.message_event("also in channel", ts="1700000100.000200", thread_ts=CARD_TS)
    event["subtype"] = "thread_broadcast"
    assert reply_from_event(event, **BOT).change == "new"


def _changed(message: dict, previous: dict | None = None) -> dict:
    return {"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": True,
            "ts": "1700000200.000001", "message": message, "previous_message": previous or {}}


def test_message_changed():
    msg = {"type": "message", "user": "U0ALICE001", "text": "new <https://x.example|text>", "ts": "1700000100.000200",
           "thread_ts": CARD_TS}
    reply = reply_from_event(_changed(msg, {**msg, "text": "old"}), **BOT)
    assert (reply.change, reply.ts, reply.thread_ts, reply.author, reply.text) == (
        "edit", "1700000100.000200", CARD_TS, "U0ALICE001", "new text (https://x.example)")
    assert reply_from_event(_changed(msg, dict(msg)), **BOT) is None  # an unfurl: same text
    assert reply_from_event(_changed({**msg, "bot_id": sr.BOT_ID}, {**msg, "text": "x"}), **BOT) is None
    assert reply_from_event(_changed({**msg, "thread_ts": msg["ts"]}, {**msg, "text": "x"}), **BOT) is None


def test_message_deleted():
    previous = {"type": "message", "user": "U0ALICE001", "text": "x", "ts": "1700000100.000200", "thread_ts": CARD_TS}
    event = {"type": "message", "subtype": "message_deleted", "channel": "C1", "hidden": True,
             "ts": "1700000300.000001", "deleted_ts": "1700000100.000200", "previous_message": previous}
    reply = reply_from_event(event, **BOT)
    assert (reply.change, reply.ts, reply.thread_ts, reply.author) == ("delete", "1700000100.000200", CARD_TS,
                                                                       "U0ALICE001")
    assert reply_from_event({**event, "previous_message": {**previous, "bot_id": sr.BOT_ID}}, **BOT) is None


@pytest.mark.parametrize("raw, plain", [
    ("AT&amp;T &lt;b&gt;", "AT&T <b>"),
    ("typed &amp;lt; literally", "typed &lt; literally"),
    ("ask <@U0BOB00001> or <@U0CARL0001|carl>", "ask @U0BOB00001 or @carl"),
    ("<!here> <!channel> <!subteam^S0OPS|@ops>", "@here @channel @ops"),
    ("see <#C0REVIEW01|returns-review>", "see #returns-review"),
    ("<https://help.example/x?a=1&amp;b=2|the doc> and <https://a.example>",
     "the doc (https://help.example/x?a=1&b=2) and https://a.example"),
    ("<mailto:ops@shop.example|ops@shop.example>", "ops@shop.example"),
    ("on <!date^1700000000^{date_short}|Nov 14>", "on Nov 14"),
])
def test_slack_text_to_plain(raw, plain):
    assert slack_text_to_plain(raw) == plain


# --- answers ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)


def item(n: int = 1, text: str = "Offer an exchange first", **kw) -> PlaybookItem:
    base = dict(id=n, author="U0ALICE001", created_at=NOW, text=text, kind=CaseKind.RETURN_REQUEST,
                signal_codes=("high_value", "vip_customer"), uses=3)
    return PlaybookItem(**{**base, **kw})


def buttons(message: dict) -> list[dict]:
    return [b["accessory"] for b in message["blocks"] if "accessory" in b]


def test_search_results_escape_and_carry_retire_buttons_only_where_allowed():
    evil = "<!channel> @here <https://evil.example|click> & " + "x" * 5000
    message = render_search("<!everyone> refunds", [item(1, evil, can_retire=True), item(2)])
    check_limits(message)
    text = str(message)
    assert "<!channel>" not in text and "<!everyone>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert "<@U0ALICE001>" in text and "<!date^" in text and "Return request" in text and "used 3 times" in text
    [button] = buttons(message)
    assert button["action_id"] == f"{PlaybookId.RETIRE}:1" and parse_entry_ref(button["value"]) == 1
    assert button["confirm"]["confirm"]["text"] == "Retire"


def test_many_results_stay_within_limits():
    message = render_search("x", [item(n, "y" * 3000, can_retire=True) for n in range(1, 40)])
    check_limits(message)
    assert len(buttons(message)) == MAX_SHOWN and "29 more" in str(message)
    check_limits(render_most_used([item(n, can_retire=True) for n in range(1, 11)]))


def test_empty_answers_say_how_to_add():
    for message in (render_search("zzz", []), render_most_used([])):
        check_limits(message)
        assert "playbook:" in str(message) and "Save to playbook" in str(message)
    check_limits(render_help())
    check_limits(render_retired(item(7), "U0BOB00001"))
    saved = render_saved(item(7, signal_codes=()))
    check_limits(saved)
    assert "#7" in saved["text"] and "new return request cards will show it" in str(saved)
    assert "any of high value" in str(render_saved(item(8)))


@pytest.mark.parametrize("raw", ["v1:playbook:0", "v1:playbook:-1", "v1:playbook:01", "v1:case:1:1", "v1:playbook:1 ",
                                 None, 5, "v1:playbook:" + "9" * 30])
def test_entry_refs(raw):
    assert parse_entry_ref(entry_ref(42)) == 42
    with pytest.raises(BadRef):
        parse_entry_ref(raw)


# --- the command, with stand-in services --------------------------------------------------------


class FakePlaybook:
    Refused = type("Refused", (Exception,), {})

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def retire(self, entry_id, user, *, is_approver):
        self.calls.append(("retire", entry_id, user))
        if entry_id == 13:
            raise self.Refused("no")
        return SimpleNamespace(id=entry_id, author=user, created_at=NOW, text="t", kind=CaseKind.DISPUTE,
                               signal_codes=(), uses=0)

    def search(self, text):
        self.calls.append(("search", text))
        return []

    def most_used(self):
        self.calls.append(("most_used",))
        return []


def _svc():
    decide = SimpleNamespace(policy=SimpleNamespace(tiers=[SimpleNamespace(approvers=("U0T1",))]),
                             groups_of=lambda user: {"S0G"} if user == "U0GROUPIE" else set())
    return SimpleNamespace(playbook=FakePlaybook(), decide=decide)


@pytest.mark.parametrize("text, call", [
    ("", ("most_used",)),
    ("  ", ("most_used",)),
    ("retire 12", ("retire", 12, "U1")),
    ("Retire  #12", ("retire", 12, "U1")),
    ("retire twelve", ("search", "retire twelve")),
    ("retire", ("search", "retire")),
    ("refund  VIP", ("search", "refund VIP")),
    ("payload refunds", ("search", "payload refunds")),
])
def test_command_text(text, call):
    svc = _svc()
    answer_command(svc, text, "U1")
    assert svc.playbook.calls == [call]


def test_command_help_and_refusal():
    svc = _svc()
    assert "/playbook retire" in answer_command(svc, "help", "U1")["text"]
    assert answer_command(svc, "retire 13", "U1") == {"text": "no"}


def test_is_approver():
    svc = _svc()
    assert is_approver(svc.decide, "U0T1") and is_approver(svc.decide, "U0GROUPIE")
    assert not is_approver(svc.decide, "U0NOBODY")

    def broken(user):
        raise RuntimeError("slack down")

    assert not is_approver(SimpleNamespace(policy=svc.decide.policy, groups_of=broken), "U0NOBODY")


def test_playbook_ids_are_unique_among_all_ids():
    from blocks.ids import ActionId, BlockId, CallbackId, OptionValue

    values = [m.value for enum in (ActionId, BlockId, CallbackId, OptionValue, PlaybookId) for m in enum]
    assert len(values) == len(set(values))
    assert PlaybookId.SAVE_SHORTCUT == "playbook-save"  # app.yaml's shortcut callback_id


def test_a_proposal_renders_escaped_with_save_and_ignore_and_its_ref_round_trips():
    view = ProposalView(id=7, text="When <!channel> asks, do *this*, because x.", kind=CaseKind.RETURN_REQUEST,
                        signal_codes=("high_value",))
    message = render_proposal(view)
    dumped = json.dumps(message)
    assert "<!channel>" not in dumped and "&lt;!channel&gt;" in dumped
    assert [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "playbook-proposal-save", "playbook-proposal-ignore"]
    assert parse_proposal_ref(proposal_ref(7)) == 7
    for bad in ("v1:proposal:0", "v1:playbook:7", None, "v1:proposal:7x"):
        with pytest.raises(BadRef):
            parse_proposal_ref(bad)
    check_limits(message)
    for answered in (render_proposal_saved(view, entry_id=3, by="U0TIERONE1"),
                     render_proposal_ignored(view, by="U0TIERONE1")):
        check_limits(answered)
        assert not [b for b in answered["blocks"] if b["type"] == "actions"]
