"""Reminders before a dispute's evidence is due: one per mark, once across replicas, the
assignee named (and DMed at the last mark), nothing for decided disputes, a failed post
tried again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.services.dispute_deadlines import DeadlineReport, DisputeDeadlines
from bot.store import CaseRepo, NewCase
from policy.models import Action, Assessment, CaseContext, CaseKind, CaseStatus, Dispute, DisputeStatus
from tests.bot.factories import new_case, order
from tests.stalls.test_stalls import NOW, FakeDecide, FakeGateway, _policy

DUE = NOW + timedelta(days=5)


def open_dispute(repo: CaseRepo, n: int = 1001, *, due=DUE):
    base = new_case(n)
    dispute = Dispute(id=f"du_{n}", order_id=base.context.order.id, status=DisputeStatus.NEEDS_RESPONSE,
                      reason="fraudulent", amount=base.context.order.total, initiated_at=NOW, evidence_due_by=due,
                      source="stripe")
    ctx = CaseContext(kind=CaseKind.DISPUTE, now=NOW, order=order(n, "149.00"), dispute=dispute)
    rec = base.assessment.recommendation.model_copy(update={"action": Action.CONTEST})
    new = NewCase(source="stripe", external_id=dispute.id, context=ctx, channel="C0REVIEW01", opened_at=NOW,
                  assessment=Assessment(kind=CaseKind.DISPUTE, signals=(), recommendation=rec))
    case, _ = repo.open(new)
    repo.set_card(case.id, slack_channel="C0REVIEW01", slack_ts=f"170000000{n}.0001")
    return repo.get(case.id)


def deadlines(engine, gw, at) -> DisputeDeadlines:
    return DisputeDeadlines(cases=CaseRepo(engine), decide=FakeDecide(), gateway=gw, policy=_policy(), clock=lambda: at)


def test_one_reminder_per_mark_in_the_thread_then_a_dm_at_the_last(engine):
    repo = CaseRepo(engine)
    case = open_dispute(repo)
    assert case.due_at == DUE
    gw = FakeGateway()
    assert deadlines(engine, gw, DUE - timedelta(hours=80)).run_once() == DeadlineReport()
    at72 = deadlines(engine, gw, DUE - timedelta(hours=71))
    assert at72.run_once() == DeadlineReport(reminded=1)
    assert at72.run_once() == DeadlineReport()  # once
    assert deadlines(engine, gw, DUE - timedelta(hours=70)).run_once() == DeadlineReport()  # another replica
    (post,) = gw.posts
    assert post["thread_ts"] == case.slack_ts and "due" in post["text"] and "in 2 d 23 h" in post["text"]
    assert "<!subteam^S0TIER2>" in post["text"]  # nobody assigned: the tier's approvers

    repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.OPEN, actor="U1", at=NOW, event="case.assigned",
                    extra={"assignee": "U0LEAD"})
    assert deadlines(engine, gw, DUE - timedelta(hours=23)).run_once() == DeadlineReport(reminded=1)
    thread, dm = gw.posts[1:]
    assert "<@U0LEAD>" in thread["text"] and thread["thread_ts"] == case.slack_ts
    assert dm["channel"] == "U0LEAD" and dm["thread_ts"] is None and "#1001" in dm["text"]
    assert deadlines(engine, gw, DUE + timedelta(hours=1)).run_once() == DeadlineReport()  # past due: nothing


def test_a_late_start_posts_one_reminder_for_the_nearest_mark(engine):
    repo = CaseRepo(engine)
    open_dispute(repo)
    gw = FakeGateway()
    d = deadlines(engine, gw, DUE - timedelta(hours=10))
    assert d.run_once() == DeadlineReport(reminded=1)
    assert d.run_once() == DeadlineReport()
    assert len(gw.posts) == 1 + 0  # no DM: nobody is assigned


def test_decided_disputes_get_no_reminder_and_a_failed_post_is_tried_again(engine):
    repo = CaseRepo(engine)
    decided = open_dispute(repo, 1001)
    repo.transition(decided.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor="U1", at=NOW, event="x")
    waiting = open_dispute(repo, 1002)
    gw = FakeGateway(fail=True)
    at = DUE - timedelta(hours=20)
    assert deadlines(engine, gw, at).run_once() == DeadlineReport()
    gw.fail = False
    assert deadlines(engine, gw, at).run_once() == DeadlineReport(reminded=1)
    assert [p["thread_ts"] for p in gw.posts] == [waiting.slack_ts]
