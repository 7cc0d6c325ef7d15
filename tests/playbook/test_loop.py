"""The playbook end to end: signed Events API deliveries, a message shortcut, `/playbook`
and the Retire button sent to the running app; FakeSlack records what Slack was told."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from urllib.parse import urlencode

from blocks.ids import PlaybookId
from policy.models import CaseKind
from tests.fakes import slack_requests as sr
from tests.loop import harness
from tests.loop.harness import REVIEW, SIGNING_SECRET, T1, T2A, T3, card_text, wait_for

OTHER = "U0SOMEONE1"  # in no approval tier
LOOKUP = f'\n[access]\nlookup = ["{REVIEW}"]\n'  # anyone in the review channel may use /playbook


@contextmanager
def loop(database_url: str):
    """The harness's loop, with its database connections closed afterwards (on PostgreSQL
    a suite of running servers would otherwise hold connections until garbage collection).
    The review channel may look up (`LOOKUP`)."""
    with harness.loop(database_url, policy=harness.POLICY + LOOKUP) as lp:
        yield lp
    lp.c.engine.dispose()


# --- requests -------------------------------------------------------------------------------


def deliver(lp, event: dict, event_id: str, **headers):
    body, ctype = sr.event_callback(event, event_id)
    resp = sr.post(lp.url, body, ctype, SIGNING_SECRET, headers=headers or None)
    assert resp.status_code == 200, resp.text
    return resp


def reply(lp, case, text: str, ts: str, *, user: str = T1, event_id: str | None = None):
    event = sr.message_event(text, user=user, ts=ts, thread_ts=case.slack_ts, channel=case.slack_channel)
    return deliver(lp, event, event_id or f"Ev{ts.replace('.', '')}")


def changed(case, ts: str, old: str, new: str, user: str = T1) -> dict:
    thread = case.slack_ts
    return {
        "type": "message", "subtype": "message_changed", "hidden": True, "channel": case.slack_channel,
        "ts": f"{float(ts) + 30:.6f}", "event_ts": f"{float(ts) + 30:.6f}", "channel_type": "channel",
        "message": {"type": "message", "user": user, "text": new, "ts": ts, "thread_ts": thread, "team": "T1",
                    "edited": {"user": user, "ts": f"{float(ts) + 30:.6f}"}},
        "previous_message": {"type": "message", "user": user, "text": old, "ts": ts, "thread_ts": thread,
                             "team": "T1"},
    }


def deleted(case, ts: str, old: str, user: str = T1) -> dict:
    return {
        "type": "message", "subtype": "message_deleted", "hidden": True, "channel": case.slack_channel,
        "ts": f"{float(ts) + 60:.6f}", "event_ts": f"{float(ts) + 60:.6f}", "deleted_ts": ts,
        "channel_type": "channel",
        "previous_message": {"type": "message", "user": user, "text": old, "ts": ts, "thread_ts": case.slack_ts,
                             "team": "T1"},
    }


def command(lp, text: str, user: str = T1, channel: str = REVIEW):
    body, ctype = sr.slash_command("/playbook", text, user_id=user, channel_id=channel)
    resp = sr.post(lp.url, body, ctype, SIGNING_SECRET)
    assert resp.status_code == 200, resp.text
    assert resp.content in (b"", b"{}") or not json.loads(resp.content).get("text")  # nothing before the ack
    return resp


def message_shortcut(lp, message: dict, user: str, channel: str = REVIEW):
    """A message shortcut ("Save to playbook" in a message's ⋯ menu): `message_action`."""
    payload = {
        "type": "message_action", "token": sr.VERIFICATION_TOKEN, "action_ts": "1700000999.000001",
        "team": {"id": "T1", "domain": sr.TEAM_DOMAIN}, "user": {"id": user, "name": user.lower(), "team_id": "T1"},
        "channel": {"id": channel, "name": sr.DEFAULT_CHANNEL_NAME}, "is_enterprise_install": False,
        "enterprise": None, "callback_id": PlaybookId.SAVE_SHORTCUT.value, "trigger_id": "1700000999.1.abc",
        "response_url": "https://hooks.slack.com/app/T1/1/fake", "message_ts": message["ts"], "message": message,
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    resp = sr.post(lp.url, body, sr.FORM, SIGNING_SECRET)
    assert resp.status_code == 200, resp.text
    return resp


def click_retire(lp, value: str, user: str, channel: str = REVIEW):
    action_id = f"{PlaybookId.RETIRE}:{value.rsplit(':', 1)[1]}"
    body, ctype = sr.block_action(value, action_id, user_id=user, channel=channel,
                                  block_id="playbook-result", button_text="Retire")
    resp = sr.post(lp.url, body, ctype, SIGNING_SECRET)
    assert resp.status_code == 200, resp.text
    return resp


# --- what happened --------------------------------------------------------------------------


def ephemerals(lp, user: str) -> list[dict]:
    return [c.params for c in lp.slack.calls_to("chat.postEphemeral") if c.params.get("user") == user]


def ephemeral_text(params: dict) -> str:
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks or [], ensure_ascii=False) + "\n" + params.get("text", "")


def wait_ephemeral(lp, user: str, n: int) -> dict:
    return wait_for(lambda: (e := ephemerals(lp, user)) and len(e) >= n and e[n - 1], what=f"ephemeral {n}")


def retire_values(params: dict) -> list[str]:
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [b["accessory"]["value"] for b in blocks or []
            if b.get("accessory", {}).get("action_id", "").startswith(PlaybookId.RETIRE)]


def record_outcomes(lp) -> list[str]:
    """Every reply the service was asked to record, by outcome (wraps the live service)."""
    outcomes: list[str] = []
    pb = lp.c.playbook
    for name in ("record_reply", "edit_reply", "delete_reply"):
        original = getattr(pb, name)

        def wrapped(*a, _original=original, **kw):
            out = _original(*a, **kw)
            outcomes.append(out.status)
            return out

        setattr(pb, name, wrapped)
    return outcomes


def posted_card(lp, order_name: str) -> dict:
    [call] = [c for c in lp.slack.calls_to("chat.postMessage") if order_name in c.params.get("text", "")]
    return {"blocks": call.params["blocks"], "text": call.params["text"]}


# --- tests ----------------------------------------------------------------------------------


def test_thread_replies_become_notes_once_and_bots_are_ignored(database_url):
    with loop(database_url) as lp:
        outcomes = record_outcomes(lp)
        case = lp.open_case("#1034")
        reply(lp, case, "Called Marcus: he'll send photos of the seam", "1700000500.000100", event_id="EvONE")
        wait_for(lambda: lp.c.playbook.notes_for_case(case.id), what="the note")
        # Slack retries the same delivery: acked, nothing new
        reply(lp, case, "Called Marcus: he'll send photos of the seam", "1700000500.000100", event_id="EvONE")
        wait_for(lambda: sorted(outcomes) == ["duplicate", "stored"], what="the retry")
        # another app's bot, and our own bot, in the thread
        bot = sr.message_event("Automated: label printed", user="U0OTHERBOT", ts="1700000501.000100",
                               thread_ts=case.slack_ts, channel=case.slack_channel)
        bot.update(subtype="bot_message", bot_id="B0OTHERBOT")
        deliver(lp, bot, "EvBOT")
        own = sr.message_event("Reminder: still open", user=sr.BOT_USER_ID, ts="1700000502.000100",
                               thread_ts=case.slack_ts, channel=case.slack_channel)
        own["bot_id"] = sr.BOT_ID
        deliver(lp, own, "EvOWN")
        # a top-level message in the channel, and a reply in some other thread
        deliver(lp, sr.message_event("lunch?", ts="1700000503.000100", channel=REVIEW), "EvTOP")
        deliver(lp, sr.message_event("hm", ts="1700000504.000100", thread_ts="1690000000.000001", channel=REVIEW),
                "EvELSE")
        reply(lp, case, "Photos in, approving", "1700000505.000100", user=T3)
        wait_for(lambda: len(lp.c.playbook.notes_for_case(case.id)) == 2, what="the second note")
        notes = lp.c.playbook.notes_for_case(case.id)
        assert [(n.author, n.text) for n in notes] == [
            (T1, "Called Marcus: he'll send photos of the seam"), (T3, "Photos in, approving")]
        wait_for(lambda: outcomes.count("ignored") == 1, what="the other thread")
        assert sorted(outcomes) == ["duplicate", "ignored", "stored", "stored"]  # bots never reached the service
        assert ephemerals(lp, T1) == []  # plain notes say nothing


def test_a_playbook_reply_shows_on_the_next_card_of_its_kind(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")  # return request: high_value, vip_customer
        reply(lp, case, "playbook: VIP & high value: offer an exchange before a refund <@U0TIERTHRE>",
              "1700000600.000100", user=T1)
        saved = wait_ephemeral(lp, T1, 1)
        assert "Saved to the playbook" in ephemeral_text(saved) and saved["thread_ts"] == case.slack_ts
        [entry] = lp.c.playbook.most_used()
        assert entry.text == "VIP & high value: offer an exchange before a refund @U0TIERTHRE"
        assert entry.kind is CaseKind.RETURN_REQUEST and set(entry.signal_codes) == {"high_value", "vip_customer"}

        lp.open_case("#1039")  # another return request with high_value
        card = card_text(posted_card(lp, "#1039"))
        assert "offer an exchange before a refund" in card
        assert "VIP &amp; high value" in card  # escaped
        assert f"<@{T1}>" in card  # who wrote it
        assert "<@U0TIERTHRE>" not in card  # a mention inside the note is never a ping
        assert lp.c.playbook.get(entry.id).uses >= 1
        lp.open_case("#1035", CaseKind.HIGH_VALUE_REFUND)  # another kind: not shown
        assert "offer an exchange" not in card_text(posted_card(lp, "#1035"))


def test_edits_and_deletes_follow_the_thread(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        ts = "1700000700.000100"
        reply(lp, case, "playbook: refund under $600", ts)
        wait_for(lambda: lp.c.playbook.most_used(), what="the entry")
        deliver(lp, changed(case, ts, "playbook: refund under $600", "playbook: refund under $500"), "EvEDIT")
        wait_for(lambda: lp.c.playbook.most_used()[0].text == "refund under $500", what="the edit")
        note = lp.c.playbook.note(case.slack_channel, ts)
        assert note.text == "playbook: refund under $500" and note.edited_at is not None
        deliver(lp, deleted(case, ts, "playbook: refund under $500"), "EvDEL")
        wait_for(lambda: lp.c.playbook.note(case.slack_channel, ts).deleted_at, what="the delete")
        assert lp.c.playbook.most_used() == [] and lp.c.playbook.notes_for_case(case.id) == []


def test_save_to_playbook_shortcut(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        ts = "1700000800.000100"
        reply(lp, case, "Check the seam photos before approving", ts, user=T3)
        wait_for(lambda: lp.c.playbook.notes_for_case(case.id), what="the note")
        message = {"type": "message", "user": T3, "text": "Check the seam photos before approving", "ts": ts,
                   "thread_ts": case.slack_ts, "team": "T1"}
        message_shortcut(lp, message, user=T1)
        done = wait_ephemeral(lp, T1, 1)
        assert "Saved to the playbook" in ephemeral_text(done) and done["thread_ts"] == case.slack_ts
        [entry] = lp.c.playbook.most_used()
        assert (entry.author, entry.promoted_by) == (T3, T1)
        message_shortcut(lp, message, user=T2A)  # again: it is there already
        assert "already" in wait_ephemeral(lp, T2A, 1)["text"]
        # on the card itself (a bot message): explained, nothing saved
        card = {"type": "message", "user": sr.BOT_USER_ID, "bot_id": sr.BOT_ID, "text": "card",
                "ts": case.slack_ts}
        message_shortcut(lp, card, user=OTHER)
        assert "people's replies" in wait_ephemeral(lp, OTHER, 1)["text"]
        assert len(lp.c.playbook.most_used()) == 1


def test_slash_playbook_searches_lists_and_retires(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        reply(lp, case, "playbook: Refunds for VIPs go through in full", "1700000900.000100", user=T1)
        reply(lp, case, "playbook: Payload damage claims need carrier photos", "1700000901.000100", user=T1)
        wait_for(lambda: len(lp.c.playbook.most_used()) == 2, what="two entries")
        wait_ephemeral(lp, T1, 2)  # the two "saved" notices

        command(lp, "refunds vip", user=OTHER)
        found = wait_ephemeral(lp, OTHER, 1)
        text = ephemeral_text(found)
        assert "Refunds for VIPs go through in full" in text and "carrier photos" not in text
        assert found["channel"] == REVIEW and retire_values(found) == []  # not theirs to retire

        command(lp, "payload", user=OTHER)  # the word Bolt's form parser used to trip on
        assert "carrier photos" in ephemeral_text(wait_ephemeral(lp, OTHER, 2))

        command(lp, "", user=T1)  # the most used, with Retire buttons for the author
        listed = wait_ephemeral(lp, T1, 3)
        assert "most used" in ephemeral_text(listed) and len(retire_values(listed)) == 2

        refunds = next(e for e in lp.c.playbook.most_used() if "VIPs" in e.text)
        command(lp, f"retire {refunds.id}", user=OTHER)  # not the author, not an approver
        assert "Only the author" in wait_ephemeral(lp, OTHER, 3)["text"]
        assert not lp.c.playbook.get(refunds.id).retired

        [value] = [v for v in retire_values(listed) if v.endswith(f":{refunds.id}")]
        click_retire(lp, value, T1)
        assert "retired" in ephemeral_text(wait_ephemeral(lp, T1, 4))
        assert lp.c.playbook.get(refunds.id).retired_by == T1

        lp.open_case("#1039")  # high_value return: the retired entry no longer shows
        card = card_text(posted_card(lp, "#1039"))
        assert "Refunds for VIPs" not in card and "carrier photos" in card
        command(lp, "refunds", user=OTHER)
        assert "Nothing in the playbook matches" in wait_ephemeral(lp, OTHER, 4)["text"]


def test_approvers_may_retire_anyones_entry(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        reply(lp, case, "playbook: first", "1700001000.000100", user=T1)
        reply(lp, case, "playbook: second", "1700001001.000100", user=T1)
        wait_for(lambda: len(lp.c.playbook.most_used()) == 2, what="two entries")
        first, second = sorted(lp.c.playbook.most_used(), key=lambda e: e.id)
        command(lp, f"retire #{first.id}", user=T3)  # named in a tier
        assert "retired" in wait_ephemeral(lp, T3, 1)["text"]
        command(lp, f"retire {second.id}", user=T2A)  # member of the S0TIER2 group
        assert "retired" in wait_ephemeral(lp, T2A, 1)["text"]
        assert lp.c.playbook.most_used() == []
        command(lp, "help", user=OTHER)
        assert "/playbook retire" in wait_ephemeral(lp, OTHER, 1)["text"]


def test_a_burst_of_retried_deliveries_stores_one_note(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        barrier, codes = threading.Barrier(10), []

        def send() -> None:
            barrier.wait()
            event = sr.message_event("playbook: once", user=T1, ts="1700001100.000100", thread_ts=case.slack_ts,
                                     channel=case.slack_channel)
            body, ctype = sr.event_callback(event, "EvBURST")
            codes.append(sr.post(lp.url, body, ctype, SIGNING_SECRET, headers={"X-Slack-Retry-Num": "1"}).status_code)

        threads = [threading.Thread(target=send) for _ in range(10)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert codes == [200] * 10
        wait_for(lambda: lp.c.playbook.most_used(), what="the entry")
        wait_ephemeral(lp, T1, 1)
        assert len(lp.c.playbook.notes_for_case(case.id)) == 1 and len(lp.c.playbook.most_used()) == 1


# --- who may use /playbook -----------------------------------------------------------------------


def test_playbook_is_for_those_access_allows_and_every_use_is_audited(database_url):
    from sqlalchemy import select

    from bot.schema import audit_log

    with loop(database_url) as lp:
        command(lp, "refund window", user=OTHER, channel="C0ELSEWHER")  # not from the review channel
        refused = wait_ephemeral(lp, OTHER, 1)
        assert refused["text"] == (f"Only people in <#{REVIEW}> can use /playbook (set in `[access] lookup` of the "
                                   "policy file); ask one of them.")
        assert "blocks" not in refused or not refused["blocks"]
        command(lp, "refund window", user=OTHER)  # from the review channel: allowed
        assert "Nothing in the playbook matches" in wait_ephemeral(lp, OTHER, 2)["text"]
        with lp.c.engine.connect() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.event == "lookup.playbook")
                                .order_by(audit_log.c.id)).all()
        assert [(r.case_id, r.actor, r.detail) for r in rows] == [
            (None, OTHER, {"query": "refund window", "channel": "C0ELSEWHER", "allowed": False}),
            (None, OTHER, {"query": "refund window", "channel": REVIEW, "allowed": True}),
        ]
