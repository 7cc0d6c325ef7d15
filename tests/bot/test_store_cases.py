"""Cases: natural-key dedupe, snapshots, compare-and-set transitions, audit and outbox."""

from __future__ import annotations

import threading
from decimal import Decimal

from bot.store import CaseRepo, OutboxOp, OutboxRepo
from bot.store.cases import Decision
from policy.models import CaseStatus, Money
from tests.bot.factories import NOW, new_case


def test_same_event_twice_is_one_case(engine):
    repo = CaseRepo(engine)
    first, created = repo.open(new_case(1001))
    again, created_again = repo.open(new_case(1001))
    assert created and not created_again
    assert again.id == first.id
    assert repo.count() == 1
    assert [a["event"] for a in repo.audit(first.id)] == ["case.opened"]


def test_case_keeps_money_exact_and_times_utc(engine):
    repo = CaseRepo(engine)
    case, _ = repo.open(new_case(1002, amount="1234.57"))
    loaded = repo.get(case.id)
    assert loaded.amount == Money.of("1234.57", "USD")
    assert isinstance(loaded.amount.amount, Decimal)
    assert loaded.opened_at == NOW and loaded.opened_at.tzinfo is not None
    assert loaded.signal_codes == ("high_value",)


def test_snapshot_round_trips_context_and_assessment(engine):
    repo = CaseRepo(engine)
    nc = new_case(1003)
    case, _ = repo.open(nc)
    ctx, assessment = repo.snapshot(case)
    assert ctx == nc.context
    assert assessment == nc.assessment


def test_transition_is_compare_and_set_with_audit_decision_and_outbox(engine):
    repo, outbox = CaseRepo(engine), OutboxRepo(engine)
    case, _ = repo.open(new_case(1004))
    op = OutboxOp("approve_return", {"return_id": case.external_id}, f"k-{case.id}")
    ok = repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor="U1", at=NOW,
                         event="case.decided", decision=Decision("approve", "refund", True), ops=[op])
    assert ok.ok and ok.case.status is CaseStatus.APPROVED and ok.case.decided_by == "U1"
    late = repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.DENIED, actor="U2", at=NOW,
                           event="case.decided", decision=Decision("deny", "deny", False))
    assert not late.ok
    assert late.case.status is CaseStatus.APPROVED and late.case.decided_by == "U1"
    assert [a["event"] for a in repo.audit(case.id)] == ["case.opened", "case.decided"]
    assert len(repo.decisions(case.id)) == 1
    assert [r.operation for r in outbox.for_case(case.id)] == ["approve_return"]


def test_thirty_concurrent_deciders_one_wins(engine):
    repo, outbox = CaseRepo(engine), OutboxRepo(engine)
    case, _ = repo.open(new_case(1005))
    results, barrier = [], threading.Barrier(30)

    def decide(i: int) -> None:
        barrier.wait()
        op = OutboxOp("approve_return", {"return_id": case.external_id}, f"case-{case.id}:approve")
        results.append(repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor=f"U{i}",
                                       at=NOW, event="case.decided", decision=Decision("approve", "refund", True),
                                       ops=[op]).ok)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert len(repo.decisions(case.id)) == 1
    assert len(outbox.for_case(case.id)) == 1


def test_a_decision_writes_its_actions_and_a_card_job_in_its_own_transaction(engine):
    from bot.store.jobs import JobRepo

    repo, outbox, jobs = CaseRepo(engine), OutboxRepo(engine), JobRepo(engine)
    case, _ = repo.open(new_case(1006))
    ops = [OutboxOp("approve_return", {}, "a"), OutboxOp("refund_return", {}, "b")]
    repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor="U1", at=NOW,
                    event="case.decided", ops=ops)
    assert [(r.operation, r.seq, r.idempotency_key, r.status) for r in outbox.for_case(case.id)] == [
        ("approve_return", 0, "a", "pending"), ("refund_return", 1, "b", "pending")]
    cards = jobs.for_case(case.id, kind="card")
    assert [j.payload["version"] for j in cards] == [1, 2]  # opened, then decided


def test_a_refused_transition_writes_no_jobs(engine):
    from bot.store.jobs import JobRepo

    repo, jobs = CaseRepo(engine), JobRepo(engine)
    case, _ = repo.open(new_case(1007))
    res = repo.transition(case.id, expected=CaseStatus.ESCALATED, to=CaseStatus.APPROVED, actor="U1", at=NOW,
                          event="case.decided", ops=[OutboxOp("approve_return", {}, "x")])
    assert not res.ok
    assert jobs.for_case(case.id, kind="action") == []
    assert len(jobs.for_case(case.id, kind="card")) == 1


def test_opening_a_return_case_copies_its_distinct_reasons_for_the_digest(engine):
    from sqlalchemy import select

    from bot.schema import cases

    repo = CaseRepo(engine)
    case, _ = repo.open(new_case(1008))
    with engine.connect() as conn:
        assert conn.execute(select(cases.c.return_reasons).where(cases.c.id == case.id)).scalar_one() == "SIZE_TOO_SMALL"


def test_the_same_return_reported_by_two_systems_is_one_case(engine):
    """Shopify says return R; Loop says its own return id, on the same order and lines."""
    from dataclasses import replace

    repo = CaseRepo(engine)
    from_shopify = new_case(1009)
    from_loop = replace(from_shopify, source="loop", external_id="loop-return-555")
    first, created = repo.open(from_shopify)
    again, created_again = repo.open(from_loop)
    assert created and not created_again and again.id == first.id
    assert repo.count() == 1


def test_two_systems_opening_the_same_return_at_once_make_one_case(engine):
    from dataclasses import replace

    repo = CaseRepo(engine)
    base = new_case(1010)
    reports = [replace(base, source=f"system-{i}", external_id=f"r-{i}") for i in range(6)]
    barrier, results, errors = threading.Barrier(6), [], []

    def open_(report) -> None:
        barrier.wait()
        try:
            results.append(repo.open(report))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_, args=(r,)) for r in reports]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert sum(created for _, created in results) == 1
    assert len({case.id for case, _ in results}) == 1 and repo.count() == 1
