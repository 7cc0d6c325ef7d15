"""PlaybookService on SQLite and PostgreSQL: notes, edits, deletes, dedupe, promotion,
relevance, search, most used, retiring."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.schema import case_notes, playbook_entries, slack_events
from bot.services.playbook import DELETED_BY, PlaybookRefused, entry_text_of, split_prefix
from policy.models import CaseKind
from tests.playbook.conftest import ESCALATION, REVIEW

ALICE, BOB, CARL = "U0ALICE001", "U0BOB00001", "U0CARL0001"
_ts = iter(range(1, 10_000))


def next_ts() -> str:
    return f"1700001000.{next(_ts):06d}"


def reply(pb, case, text: str, *, author: str = ALICE, ts: str | None = None, event_id: str | None = None,
          thread_ts: str | None = None):
    return pb.record_reply(channel=REVIEW, ts=ts or next_ts(), thread_ts=thread_ts or case.slack_ts, author=author,
                           text=text, event_id=event_id)


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --- the prefix -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, body", [
    ("playbook: Offer store credit first", "Offer store credit first"),
    ("Playbook:Offer store credit first", "Offer store credit first"),
    ("  PLAYBOOK : call the carrier ", "call the carrier"),
    ("*playbook:* bold prefix", "bold prefix"),
    ("_Playbook_: italic prefix", "italic prefix"),
    ("playbook:", None),
    ("playbook: ", None),
    ("the playbook: says", None),
    ("playbooks: no", None),
    ("Refund it", None),
])
def test_prefix(text, body):
    assert split_prefix(text) == body
    assert entry_text_of(text) == (body or text.strip())


# --- notes ------------------------------------------------------------------------------------


def test_a_reply_in_a_card_thread_is_stored_as_a_note(pb, make, engine):
    case = make()
    out = reply(pb, case, "Called the customer, she'll send photos", ts="1700000500.000100", event_id="Ev1")
    assert out.status == "stored" and out.promoted is None
    [note] = pb.notes_for_case(case.id)
    assert (note.author, note.text, note.channel, note.thread_ts) == (
        ALICE, "Called the customer, she'll send photos", REVIEW, case.slack_ts)
    assert note.created_at == datetime.fromtimestamp(1700000500.0001, tz=timezone.utc)  # when it was written
    assert count(engine, playbook_entries) == 0


def test_replies_elsewhere_are_ignored_and_leave_no_trace(pb, make, engine):
    case = make()
    assert pb.record_reply(channel=REVIEW, ts=next_ts(), thread_ts="1699999999.000001", author=ALICE,
                           text="other thread", event_id="Ev-a").status == "ignored"
    assert pb.record_reply(channel="C0OTHER001", ts=next_ts(), thread_ts=case.slack_ts, author=ALICE,
                           text="same ts, other channel", event_id="Ev-b").status == "ignored"
    top = next_ts()
    assert pb.record_reply(channel=REVIEW, ts=top, thread_ts=top, author=ALICE, text="top level",
                           event_id="Ev-c").status == "ignored"
    assert count(engine, case_notes) == 0
    assert count(engine, slack_events) == 0  # only deliveries that touch a case thread are recorded


def test_a_reply_on_the_escalation_card_is_a_note_on_the_same_case(pb, make):
    case = make(escalation_ts="1700000900.000001")
    out = pb.record_reply(channel=ESCALATION, ts=next_ts(), thread_ts="1700000900.000001", author=BOB,
                          text="Tier 2 here: approve it")
    assert out.status == "stored" and out.note.case_id == case.id


def test_the_same_event_twice_is_one_note(pb, make, engine):
    case = make()
    ts = next_ts()
    assert reply(pb, case, "playbook: Ask for photos", ts=ts, event_id="EvDUP").status == "stored"
    second = reply(pb, case, "playbook: Ask for photos", ts=ts, event_id="EvDUP")
    assert second.status == "duplicate" and second.promoted is None
    assert count(engine, case_notes) == 1 and count(engine, playbook_entries) == 1
    # the same message under another event id (Slack never does this, but) is still one note
    assert reply(pb, case, "playbook: Ask for photos", ts=ts, event_id="EvOTHER").status == "duplicate"
    assert count(engine, case_notes) == 1 and count(engine, playbook_entries) == 1


def test_concurrent_deliveries_of_one_event_store_one_note(pb, make, engine):
    case = make()
    ts, barrier, results = next_ts(), threading.Barrier(8), []

    def deliver() -> None:
        barrier.wait()
        results.append(reply(pb, case, "playbook: one only", ts=ts, event_id="EvRACE").status)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["duplicate"] * 7 + ["stored"]
    assert count(engine, case_notes) == 1 and count(engine, playbook_entries) == 1


# --- edits and deletes ------------------------------------------------------------------------


def test_an_edit_updates_the_note_and_its_entry(pb, make, clock):
    case = make()
    ts = next_ts()
    reply(pb, case, "playbook: Refund if under $50", ts=ts)
    clock.advance(minutes=3)
    out = pb.edit_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE,
                        text="playbook: Refund if under $75", event_id="EvE1")
    assert out.status == "updated"
    assert out.note.text == "playbook: Refund if under $75" and out.note.edited_at == clock()
    assert out.entry.text == "Refund if under $75"
    assert pb.edit_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE,
                         text="playbook: Refund if under $75", event_id="EvE1").status == "duplicate"
    assert pb.edit_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE,
                         text="playbook: Refund if under $75", event_id="EvE2").status == "unchanged"


def test_an_edit_that_adds_the_prefix_promotes(pb, make):
    case = make()
    ts = next_ts()
    reply(pb, case, "Check the carrier scan first")
    reply(pb, case, "Ask for the tracking number", ts=ts)
    out = pb.edit_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE,
                        text="playbook: Ask for the tracking number")
    assert out.promoted is not None and out.promoted.text == "Ask for the tracking number"
    assert out.promoted.promoted_by == ALICE


def test_an_edit_without_the_prefix_keeps_the_entry_with_the_new_text(pb, make):
    case = make()
    ts = next_ts()
    entry = reply(pb, case, "playbook: Offer an exchange", ts=ts).promoted
    pb.edit_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE, text="Offer an exchange first")
    assert pb.get(entry.id).text == "Offer an exchange first" and not pb.get(entry.id).retired


def test_an_edit_of_a_reply_we_never_saw_stores_it(pb, make):
    case = make()
    out = pb.edit_reply(channel=REVIEW, ts=next_ts(), thread_ts=case.slack_ts, author=BOB,
                        text="playbook: late but here")
    assert out.status == "stored" and out.promoted.text == "late but here"
    assert pb.edit_reply(channel=REVIEW, ts=next_ts(), thread_ts="1690000000.000001", author=BOB,
                         text="not ours").status == "ignored"


def test_a_delete_marks_the_note_erases_it_and_retires_its_entry(pb, make, clock):
    case = make()
    ts = next_ts()
    entry = reply(pb, case, "playbook: Card 4242 4242 4242 4242 was used", ts=ts).promoted
    assert pb.for_case(CaseKind.RETURN_REQUEST, ("high_value",))
    clock.advance(minutes=1)
    out = pb.delete_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE, event_id="EvD1")
    assert out.status == "deleted"
    assert out.note.deleted_at == clock() and out.note.text == ""
    gone = pb.get(entry.id)
    assert gone.retired_at == clock() and gone.retired_by == DELETED_BY and gone.text == ""
    assert pb.for_case(CaseKind.RETURN_REQUEST, ("high_value",)) == ()
    assert pb.search("4242") == [] and pb.most_used() == []
    assert pb.notes_for_case(case.id) == []
    assert pb.delete_reply(channel=REVIEW, ts=ts, event_id="EvD1").status == "duplicate"
    # edits of a deleted reply are ignored; so is promoting it
    assert pb.edit_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE, text="x").status == "ignored"
    assert pb.promote(channel=REVIEW, ts=ts, by=BOB).status == "deleted"


def test_a_delete_that_overtakes_its_message_leaves_a_tombstone(pb, make, engine):
    case = make()
    ts = next_ts()
    assert pb.delete_reply(channel=REVIEW, ts=ts, thread_ts=case.slack_ts, author=ALICE).status == "deleted"
    assert reply(pb, case, "playbook: arrived late", ts=ts).status == "duplicate"
    assert count(engine, playbook_entries) == 0 and pb.notes_for_case(case.id) == []
    assert pb.delete_reply(channel=REVIEW, ts=next_ts(), thread_ts="1690000000.000001").status == "ignored"


# --- promotion ------------------------------------------------------------------------------------


def test_a_playbook_reply_becomes_an_entry_of_the_case_kind_and_signals(pb, make):
    case = make(CaseKind.RETURN_REQUEST, ("outside_window", "vip_customer"))
    out = reply(pb, case, "playbook: VIPs outside the window get store credit", author=BOB)
    entry = out.promoted
    assert entry.kind is CaseKind.RETURN_REQUEST and entry.signal_codes == ("outside_window", "vip_customer")
    assert (entry.text, entry.author, entry.promoted_by, entry.case_id, entry.uses) == (
        "VIPs outside the window get store credit", BOB, BOB, case.id, 0)
    assert entry.created_at == out.note.created_at
    assert entry.view().author == BOB and entry.view().text == entry.text


def test_save_to_playbook_promotes_a_stored_reply_once(pb, make):
    case = make()
    ts = next_ts()
    reply(pb, case, "Always check the serial number", ts=ts, author=ALICE)
    first = pb.promote(channel=REVIEW, ts=ts, by=BOB)
    assert first.status == "promoted"
    assert (first.entry.author, first.entry.promoted_by, first.entry.text) == (
        ALICE, BOB, "Always check the serial number")
    again = pb.promote(channel=REVIEW, ts=ts, by=CARL)
    assert again.status == "already" and again.entry.id == first.entry.id


def test_save_to_playbook_on_a_reply_we_never_stored(pb, make):
    case = make()
    ts = next_ts()
    out = pb.promote(channel=REVIEW, ts=ts, by=BOB, thread_ts=case.slack_ts, author=ALICE,
                     text="Written before the bot joined")
    assert out.status == "promoted" and out.entry.author == ALICE
    assert [n.text for n in pb.notes_for_case(case.id)] == ["Written before the bot joined"]
    assert pb.promote(channel=REVIEW, ts=next_ts(), by=BOB, thread_ts="1690000000.000001", author=ALICE,
                      text="x").status == "not_a_reply"
    top = next_ts()
    assert pb.promote(channel=REVIEW, ts=top, by=BOB, thread_ts=None, author=ALICE,
                      text="x").status == "not_a_reply"
    assert pb.promote(channel=REVIEW, ts=next_ts(), by=BOB, thread_ts=case.slack_ts, author=ALICE,
                      text="").status == "empty"


def test_a_retired_entry_is_not_promoted_again(pb, make):
    case = make()
    ts = next_ts()
    entry = reply(pb, case, "playbook: old advice", ts=ts).promoted
    pb.retire(entry.id, ALICE)
    out = pb.promote(channel=REVIEW, ts=ts, by=BOB)
    assert out.status == "already" and out.entry.retired


# --- relevance ------------------------------------------------------------------------------------


def promoted(pb, make, text: str, kind=CaseKind.RETURN_REQUEST, signals=("high_value",), author=ALICE):
    return reply(pb, make(kind, signals), f"playbook: {text}", author=author).promoted


def texts(views) -> list[str]:
    return [v.text for v in views]


def test_for_case_needs_the_same_kind(pb, make):
    promoted(pb, make, "dispute advice", kind=CaseKind.DISPUTE)
    promoted(pb, make, "return advice")
    assert texts(pb.for_case(CaseKind.RETURN_REQUEST, ("high_value",))) == ["return advice"]
    assert texts(pb.for_case(CaseKind.DISPUTE, ("high_value",))) == ["dispute advice"]
    assert pb.for_case(CaseKind.ORDER_REVIEW, ("high_value",)) == ()


def test_for_case_ranks_by_shared_signals_then_uses_then_recency(pb, make, engine, clock):
    two = promoted(pb, make, "shares two", signals=("high_value", "vip_customer"))
    one_old = promoted(pb, make, "shares one, older", signals=("high_value", "final_sale"))
    clock.advance(days=1)
    one_new = promoted(pb, make, "shares one, newer", signals=("vip_customer",))
    promoted(pb, make, "shares none", signals=("not_delivered",))
    generic = promoted(pb, make, "no signals of its own", signals=())
    # created_at is when the reply was written (its ts): make "newer" really newer
    from sqlalchemy import update
    with engine.begin() as conn:
        conn.execute(update(playbook_entries).where(playbook_entries.c.id == one_new.id)
                     .values(created_at=one_old.created_at + timedelta(hours=1)))
    wanted = ("high_value", "vip_customer", "outside_window")
    assert texts(pb.relevant(CaseKind.RETURN_REQUEST, wanted, limit=10)) == [
        "shares two", "shares one, newer", "shares one, older", "no signals of its own"]
    # uses break the tie between the two sharing one signal
    with engine.begin() as conn:
        conn.execute(update(playbook_entries).where(playbook_entries.c.id == one_old.id).values(uses=5))
    assert texts(pb.for_case(CaseKind.RETURN_REQUEST, wanted)) == [
        "shares two", "shares one, older", "shares one, newer"]
    assert texts(pb.for_case(CaseKind.RETURN_REQUEST, ",".join(wanted), limit=1)) == ["shares two"]
    # a case with no signals sees every entry of its kind
    assert len(pb.relevant(CaseKind.RETURN_REQUEST, (), limit=10)) == 5
    assert two.id and generic.id


def test_for_case_counts_a_use_and_skips_retired(pb, make, clock):
    a = promoted(pb, make, "first")
    b = promoted(pb, make, "second")
    clock.advance(minutes=5)
    assert len(pb.for_case(CaseKind.RETURN_REQUEST, ("high_value",))) == 2
    assert pb.get(a.id).uses == 1 and pb.get(a.id).last_used_at == clock()
    pb.for_case(CaseKind.RETURN_REQUEST, ("high_value",), count_use=False)
    assert pb.get(a.id).uses == 1
    pb.retire(b.id, ALICE)
    assert texts(pb.for_case(CaseKind.RETURN_REQUEST, ("high_value",))) == ["first"]
    assert pb.get(b.id).uses == 1


def test_for_case_returns_card_views_with_author_and_time(pb, make):
    entry = promoted(pb, make, "use the <b> tag & @here", author=BOB)
    [view] = pb.for_case(CaseKind.RETURN_REQUEST, ["high_value"])
    assert (view.author, view.created_at, view.text) == (BOB, entry.created_at, "use the <b> tag & @here")


# --- search and most used -----------------------------------------------------------------------


def test_search_is_case_insensitive_and_needs_every_word(pb, make):
    promoted(pb, make, "Refund VIP customers in full")
    promoted(pb, make, "Store credit for serial returners")
    promoted(pb, make, "Refund only after the carrier scan")
    assert {e.text for e in pb.search("refund")} == {"Refund VIP customers in full",
                                                     "Refund only after the carrier scan"}
    assert [e.text for e in pb.search("REFUND vip")] == ["Refund VIP customers in full"]
    assert pb.search("refund credit") == []
    assert pb.search("   ") == pb.most_used()


def test_search_treats_like_wildcards_literally(pb, make):
    promoted(pb, make, "Refund 100% when damaged")
    promoted(pb, make, "Refund 100 dollars")
    promoted(pb, make, "use order_name not id")
    promoted(pb, make, "use orderXname")
    promoted(pb, make, r"path C:\returns")
    assert [e.text for e in pb.search("100%")] == ["Refund 100% when damaged"]
    assert [e.text for e in pb.search("order_name")] == ["use order_name not id"]
    assert [e.text for e in pb.search("c:\\returns")] == [r"path C:\returns"]


def test_search_folds_case_beyond_ascii(pb, make):
    promoted(pb, make, "GRÖSSE tauschen, nicht erstatten")
    promoted(pb, make, "Ärger vermeiden")
    assert [e.text for e in pb.search("größe")] == ["GRÖSSE tauschen, nicht erstatten"]
    assert [e.text for e in pb.search("ärger")] == ["Ärger vermeiden"]


def test_search_skips_retired_and_counts_hits(pb, make):
    keep = promoted(pb, make, "exchange before refund")
    gone = promoted(pb, make, "exchange always")
    pb.retire(gone.id, ALICE)
    assert [e.id for e in pb.search("exchange")] == [keep.id]
    assert pb.get(keep.id).uses == 1 and pb.get(gone.id).uses == 0


def test_most_used_lists_by_uses(pb, make, engine):
    from sqlalchemy import update
    low = promoted(pb, make, "low")
    high = promoted(pb, make, "high")
    mid = promoted(pb, make, "mid")
    retired = promoted(pb, make, "retired")
    with engine.begin() as conn:
        for entry, uses in ((low, 1), (high, 9), (mid, 4), (retired, 50)):
            conn.execute(update(playbook_entries).where(playbook_entries.c.id == entry.id).values(uses=uses))
    pb.retire(retired.id, ALICE)
    assert [e.text for e in pb.most_used()] == ["high", "mid", "low"]
    assert [e.text for e in pb.most_used(limit=2)] == ["high", "mid"]
    assert pb.get(high.id).uses == 9  # listing is not a use


# --- retiring -------------------------------------------------------------------------------------


def test_the_author_may_retire(pb, make, clock):
    entry = promoted(pb, make, "mine", author=ALICE)
    clock.advance(hours=1)
    done = pb.retire(entry.id, ALICE)
    assert done.retired_at == clock() and done.retired_by == ALICE


def test_whoever_saved_it_may_retire(pb, make):
    case = make()
    ts = next_ts()
    reply(pb, case, "Alice's note", ts=ts, author=ALICE)
    entry = pb.promote(channel=REVIEW, ts=ts, by=BOB).entry
    assert pb.retire(entry.id, BOB).retired_by == BOB


def test_others_may_not_retire_unless_approvers(pb, make):
    entry = promoted(pb, make, "Alice's", author=ALICE)
    asked = []
    with pytest.raises(PlaybookRefused, match="Only the author"):
        pb.retire(entry.id, CARL, is_approver=lambda u: asked.append(u) or False)
    assert asked == [CARL] and not pb.get(entry.id).retired
    assert pb.retire(entry.id, CARL, is_approver=lambda u: u == CARL).retired_by == CARL


def test_retire_twice_or_missing_is_refused(pb, make):
    entry = promoted(pb, make, "x", author=ALICE)
    pb.retire(entry.id, ALICE)
    with pytest.raises(PlaybookRefused, match=f"#{entry.id} was already retired by <@{ALICE}>"):
        pb.retire(entry.id, ALICE)
    with pytest.raises(PlaybookRefused, match="no playbook entry #999"):
        pb.retire(999, ALICE)


def test_prune_events(pb, make, clock):
    case = make()
    reply(pb, case, "one", event_id="EvOld")
    clock.advance(days=2)
    reply(pb, case, "two", event_id="EvNew")
    assert pb.prune_events(clock() - timedelta(days=1)) == 1
    assert reply(pb, case, "one again", event_id="EvNew").status == "duplicate"
