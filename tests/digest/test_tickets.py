"""The digest's ticket figures on hand-built rows — first response, handled per person per
day, one touch, drafts edited, CSAT — both weeks, exact, on SQLite and PostgreSQL; a
reopened ticket (its case undecided again) still counts its first reply; and "not
measured" (never 0) where nothing stands behind a figure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from blocks.digest import render_digest, tickets_text
from bot.schema import audit_log, cases, decisions, jobs
from bot.services.digest import DigestService
from tests.conftest import FrozenClock
from tests.digest.seed import LAST_START, POLICY, THIS_END, THIS_START, A, B, C, add_case, local

REPLY = "ticket_post_reply"


def add_ticket(engine, *, created, decided=None, by=None, sent=None, edited=False, reply_status="done",
               reopened=None, csat=None, rated=None, status=None):
    """A ticket case: created by the customer at `created`, opened 5 min later, its reply
    approved by `by` at `decided` (the decision's detail says `edited`), the reply job done at `sent`."""
    opened = created + timedelta(minutes=5)
    n = add_case(engine, kind="ticket", status=status or ("done" if decided else "open"), opened_at=opened,
                 recommended="accept", decided_at=decided, decided_by=by, outcome="accept" if decided else None,
                 followed=True, source="gorgias")
    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == n).values(
            ticket_created_at=created, priority_rank=2, reply_due_at=created + timedelta(hours=12),
            csat=csat, csat_at=rated))
        if decided is not None:
            conn.execute(update(decisions).where(decisions.c.case_id == n).values(
                detail={"sent_as": "as a@x", "agent": "1", "edited": edited, "decision": "accept"}))
            conn.execute(insert(jobs).values(
                kind="action", system="gorgias", operation=REPLY, case_id=n, order_key=f"case:{n}", seq=0,
                payload={"ticket_id": "1"}, idempotency_key=f"returnsbot:gorgias:case-{n}:{REPLY}",
                status=reply_status, attempts=1, token=1, next_attempt_at=decided, created_at=decided,
                updated_at=sent or decided, finished_at=sent if reply_status == "done" else None))
        if reopened is not None:  # as the reopening does: the case is open again, undecided
            conn.execute(insert(audit_log).values(case_id=n, at=reopened, actor="returnsbot",
                                                  event="case.ticket_reopened", detail={}))
            conn.execute(update(cases).where(cases.c.id == n).values(
                status="open", decided_at=None, decided_by=None, decided_action=None))
    return n


def seed_tickets(engine):
    # this week (Mon 16 Nov 09:00 → Mon 23 Nov 09:00, New York)
    add_ticket(engine, created=local(11, 16, 10), decided=local(11, 16, 10, 30), by=A,
               sent=local(11, 16, 10, 31), csat=5, rated=local(11, 17, 9))                        # 1860 s
    add_ticket(engine, created=local(11, 17, 8), decided=local(11, 17, 9), by=A, edited=True,
               sent=local(11, 17, 9, 2), csat=2, rated=local(11, 18, 9))                          # 3720 s
    add_ticket(engine, created=local(11, 18, 12), decided=local(11, 18, 13), by=B,
               sent=local(11, 18, 13, 0) + timedelta(seconds=30), reopened=local(11, 19, 9))      # 3630 s
    add_ticket(engine, created=local(11, 20, 9), decided=local(11, 20, 10), by=C, reply_status="dead")  # never sent
    add_ticket(engine, created=local(11, 21, 9))                                                  # waiting
    # decided last week, its reply sent this week: 13 h 30 min, counted this week
    add_ticket(engine, created=local(11, 15, 20), decided=local(11, 15, 21), by=B, sent=local(11, 16, 9, 30))
    # last week
    add_ticket(engine, created=local(11, 10, 10), decided=local(11, 10, 11), by=A, edited=True,
               sent=local(11, 10, 11), csat=4, rated=local(11, 12, 9))                            # 3600 s
    add_ticket(engine, created=local(11, 11, 10), decided=local(11, 11, 10, 10), by=A,
               sent=local(11, 11, 10, 10), reopened=local(11, 17, 9))  # 600 s; reopened after last week
    # a rating before both weeks counts in neither
    add_ticket(engine, created=local(11, 1, 10), decided=local(11, 1, 11), by=A, sent=local(11, 1, 11),
               csat=1, rated=local(11, 2, 9))


@pytest.fixture
def digest(engine):
    seed_tickets(engine)
    service = DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(local(11, 23, 9, 30)),
                            gateway=None)
    return service.compute(THIS_START, THIS_END)


def test_first_response_is_ticket_created_to_reply_sent_median_and_p90(digest):
    t, p = digest.this_week, digest.last_week
    # 1860, 3630, 3720, 48600 s (the dead reply is not a response)
    assert t.replies_timed == 4 and t.first_response_median_s == 3675.0
    assert t.first_response_p90_s == pytest.approx(3720 + 0.7 * (48600 - 3720))
    assert (p.replies_timed, p.first_response_median_s, p.first_response_p90_s) == (2, 2100.0, 3300.0)


def test_tickets_handled_per_person_per_day(digest):
    t, p = digest.this_week, digest.last_week
    assert dict(t.handled_by) == {A: 2, B: 1, C: 1} and t.handled_by[0] == (A, 2)
    assert t.tickets_handled == 4 and t.handled_per_person_day == pytest.approx(4 / 3 / 7)
    assert dict(p.handled_by) == {A: 2, B: 1} and p.handled_per_person_day == pytest.approx(3 / 2 / 7)


def test_one_touch_is_sent_unedited_and_not_reopened_by_the_weeks_end(digest):
    t, p = digest.this_week, digest.last_week
    assert (t.tickets_edited, t.reopened, t.one_touch) == (1, 1, 2) and t.one_touch_rate == 0.5
    assert t.edited_rate == 0.25
    # the ticket reopened on 17 Nov was still one touch at last week's end
    assert (p.tickets_edited, p.reopened, p.one_touch) == (1, 0, 2)


def test_csat_counts_the_ratings_that_arrived_in_the_week(digest):
    t, p = digest.this_week, digest.last_week
    assert (t.csat_rated, t.csat_satisfied, t.csat_average, t.csat_share) == (2, 1, 3.5, 0.5)
    assert (p.csat_rated, p.csat_satisfied, p.csat_average) == (1, 1, 4.0)


def test_the_ticket_section_reads_the_figures(digest):
    text = tickets_text(digest)
    assert "First response (ticket → reply sent): median 1 h 1 min · p90 9 h 45 min (4 replies)" in text
    assert "last week median 35 min · p90 55 min (2 replies)" in text
    assert f"0.2 per person per day (4 by 3 people: <@{A}> 2" in text
    assert "One touch (sent unedited, not reopened): 50% of 4 tickets · 1 reopened · last week 67%" in text
    assert "Drafts edited before sending: 1 of 4 (25%)" in text
    assert "CSAT: 50% satisfied (4–5 of 5) · average 3.5 (2 ratings) · last week 100%" in text
    blocks = render_digest(digest)["blocks"]
    assert any(":speech_balloon: *Tickets*" in (b.get("text") or {}).get("text", "") for b in blocks)


def test_nothing_to_measure_reads_not_measured_and_no_tickets_no_section(engine):
    service = DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(local(11, 23, 9, 30)),
                            gateway=None)
    empty = service.compute(THIS_START, THIS_END)
    assert not empty.this_week.has_tickets and not empty.last_week.has_tickets
    assert not any("*Tickets*" in (b.get("text") or {}).get("text", "") for b in render_digest(empty)["blocks"])

    add_ticket(engine, created=local(11, 21, 9))  # a ticket waiting, nothing sent or rated
    d = service.compute(THIS_START, THIS_END)
    t = d.this_week
    assert t.has_tickets and t.first_response_median_s is None and t.one_touch_rate is None and t.csat_share is None
    text = tickets_text(d)
    assert "First response (ticket → reply sent): not measured" in text
    assert "Handled: not measured" in text and "One touch (sent unedited, not reopened): not measured" in text
    assert "Drafts edited before sending: not measured" in text and "CSAT: not measured" in text
    assert " 0%" not in text and "0.0" not in text


def test_the_last_week_boundary(digest):
    assert (digest.last_week.start, digest.last_week.end) == (LAST_START, THIS_START)
