"""The return pipeline as the digest counts it in SQL, from a constructed history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, update

from bot.schema import cases, decisions, return_stages
from bot.services.digest import DigestService
from bot.store import CaseRepo
from policy.config import Policy
from tests.bot.factories import new_case

START = datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc)
END = START + timedelta(days=7)
D = timedelta(days=1)


def _case(engine, repo, n, *, stage, stage_at, history=(), followup=None, refund_on=None, opened=None):
    case, _ = repo.open(new_case(n, at=opened or START))
    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case.id).values(
            stage=stage, stage_at=stage_at, followup=followup, slack_channel="C0REVIEW01",
            slack_ts=f"17000000{n}.0001", decided_at=START + D if refund_on is not None else None))
        for st, at in history:
            conn.execute(insert(return_stages).values(
                case_id=case.id, stage=st, at=at, source="shopify", ref=f"{st}-{n}", detail={},
                recorded_at=at, current=st == stage))
        if refund_on is not None:
            # As the app writes them: with refund_on = "receipt" the approval only approves
            # (the money pending), and the refund on receipt is a decision of its own.
            conn.execute(insert(decisions).values(
                case_id=case.id, snapshot_id=case.snapshot_id, action="approve", outcome="refund",
                decided_by="U1", decided_at=START + D, followed_recommendation=True,
                detail={"refund_on": refund_on, "pending": {"outcome": "refund"}} if refund_on else {}))
            if refund_on == "receipt" and stage == "processed":
                conn.execute(insert(decisions).values(
                    case_id=case.id, snapshot_id=case.snapshot_id, action="approve", outcome="refund",
                    decided_by="returnsbot", decided_at=START + 1.5 * D, followed_recommendation=True,
                    detail={"receipt": f"rfo-{n}"}))
    return case


def test_the_digest_counts_the_pipeline(engine):
    repo = CaseRepo(engine)
    now = END + timedelta(hours=1)
    # Refunded in the week: 2 d and 4 d from request to refund.
    _case(engine, repo, 1001, stage="processed", stage_at=START + 2 * D, refund_on="receipt",
          history=[("approved", START + D), ("received", START + 1.5 * D), ("processed", START + 2 * D)])
    _case(engine, repo, 1002, stage="processed", stage_at=START + 4 * D, refund_on="",
          history=[("approved", START + 3 * D), ("processed", START + 4 * D)])
    # Refunded the week before: not timed this week.
    _case(engine, repo, 1003, stage="processed", stage_at=START - D, opened=START - 3 * D,
          history=[("approved", START - 2 * D), ("processed", START - D)])
    # Waiting: approved 5 days ago without a label (stalled), delivered back an hour ago (fine).
    stuck = _case(engine, repo, 1004, stage="approved", stage_at=now - 5 * D, history=[("approved", now - 5 * D)])
    _case(engine, repo, 1005, stage="delivered_back", stage_at=now - timedelta(hours=1))
    # Approved this week to refund on receipt, not received yet: nothing paid.
    _case(engine, repo, 1007, stage="approved", stage_at=now - timedelta(hours=2), refund_on="receipt",
          history=[("approved", now - timedelta(hours=2))])
    # An exception at receipt opened in the week.
    _case(engine, repo, 1006, stage="received", stage_at=START + 3 * D,
          followup={"reason": "missing", "summary": "1 of 2 items missing",
                    "opened_at": (START + 3 * D).isoformat()})
    svc = DigestService(engine=engine, ops=None, policy=Policy.model_validate({"store": {"currency": "USD", "timezone": "UTC"}}), clock=lambda: now, gateway=None)
    p = svc.compute(START, END).pipeline
    assert p is not None
    assert dict(p.in_stage) == {"approved": 2, "delivered_back": 1, "received": 1, "processed": 3}
    assert p.cycles == 2
    assert p.cycle_median_s == 3 * 86400  # median of 2 d and 4 d
    assert (p.refunds_on_receipt, p.refunds_on_approval) == (1, 1)
    assert p.exceptions == (("missing", 1),)
    assert [(s.case_id, s.stage, s.days) for s in p.stalled] == [(stuck.id, "approved", 5)]
    text = str(svc.render(svc.compute(START, END))["blocks"])
    assert "Return pipeline" in text and "no label for 5 d" in text
