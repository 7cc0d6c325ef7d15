"""A warehouse that inspects item by item: the first item's disposal waits for the rest (no
follow-up yet), the second completes the receipt and refunds once; when the rest never comes,
the "fewer received" follow-up opens once the inspection window has passed."""

import dataclasses
from datetime import timedelta

from bot.services.lifecycle import LifecycleService
from bot.store import CaseRepo, OutboxRepo
from bot.store.cases import Decision
from bot.store.stages import StageRepo
from policy.config import Policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.lifecycle_rules import merge_dispositions
from policy.models import CaseStatus
from tests.bot.factories import NOW, new_case, usd
from tests.lifecycle.orders import Orders


def _two_unit_case(cases, clock):
    base = new_case()
    rr = base.context.return_request
    line = rr.line_items[0].model_copy(update={"quantity": 2, "unit_price": usd("74.50")})
    ctx = base.context.model_copy(update={"return_request": rr.model_copy(update={"line_items": (line,)})})
    case, _ = cases.open(dataclasses.replace(base, context=ctx))
    cases.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.DONE, actor="U1", at=clock(),
                     event="case.approved", decision=Decision("approve", "refund", True, detail={
                         "refund_on": "receipt", "pending": {"outcome": "refund", "amount": "149.00",
                                                             "currency": "USD"}}))
    return cases.get(case.id), line


def _disposed(case, line, ref, quantity, at, disposition=Disposition.RESTOCKED):
    return StageUpdate(return_id=case.external_id, stage=ReturnStage.RECEIVED, at=at, source=case.source, ref=ref,
                       dispositions=(DisposedLine(return_line_id=line.id, quantity=quantity,
                                                  disposition=disposition),))


def _service(engine, clock):
    return LifecycleService(cases=CaseRepo(engine), stages=StageRepo(engine), source=Orders(),
                            policy=Policy.default(), clock=clock)


def _refunds(outbox, case):
    return [r for r in outbox.for_case(case.id) if r.operation == "refund_return"]


def test_the_first_item_waits_and_the_second_refunds_once(engine, clock):
    cases, outbox = CaseRepo(engine), OutboxRepo(engine)
    svc = _service(engine, clock)
    case, line = _two_unit_case(cases, clock)
    svc.apply(_disposed(case, line, "rfo-1#1", 1, NOW))
    waiting = cases.get(case.id)
    assert waiting.status is CaseStatus.DONE and not waiting.followup and not _refunds(outbox, case)
    clock.advance(hours=3)
    svc.apply(_disposed(case, line, "rfo-1#2", 2, NOW + timedelta(hours=3)))  # the whole RFO so far
    svc.apply(_disposed(case, line, "rfo-1#2", 2, NOW + timedelta(hours=3)))  # replayed
    after = cases.get(case.id)
    assert after.status is CaseStatus.APPROVED and not after.followup
    [refund] = _refunds(outbox, case)
    assert refund.payload["amount"] == "149.00"
    assert svc.overdue_receipts() == 0


def test_the_rest_never_inspected_opens_fewer_received_after_the_window_once(engine, clock):
    cases, outbox = CaseRepo(engine), OutboxRepo(engine)
    svc = _service(engine, clock)
    case, line = _two_unit_case(cases, clock)
    svc.apply(_disposed(case, line, "rfo-1#1", 1, clock()))
    clock.advance(days=1)
    assert svc.overdue_receipts() == 0 and not cases.get(case.id).followup  # still inside inspect_within_days
    clock.advance(days=1, minutes=1)
    assert svc.overdue_receipts() == 1
    opened = cases.get(case.id)
    assert opened.status is CaseStatus.OPEN and opened.followup["reason"] == "fewer_received"
    assert opened.followup["summary"] == "1 of 2 items received → partial refund $74.50"
    assert svc.overdue_receipts() == 0  # once
    assert not _refunds(outbox, case)


def test_a_missing_item_does_not_wait():
    line = "gid://shopify/ReturnLineItem/1"
    merged = merge_dispositions([
        (DisposedLine(return_line_id=line, quantity=1, disposition=Disposition.RESTOCKED),),
        (DisposedLine(return_line_id=line, quantity=1, disposition=Disposition.RESTOCKED),
         DisposedLine(return_line_id=line, quantity=1, disposition=Disposition.MISSING)),
    ])
    assert sorted((d.disposition, d.quantity) for d in merged) == [(Disposition.MISSING, 1),
                                                                  (Disposition.RESTOCKED, 1)]


def test_a_missing_item_opens_the_followup_at_once(engine, clock):
    cases = CaseRepo(engine)
    svc = _service(engine, clock)
    case, line = _two_unit_case(cases, clock)
    svc.apply(StageUpdate(return_id=case.external_id, stage=ReturnStage.RECEIVED, at=clock(), source=case.source,
                          ref="rfo-1#m", dispositions=(
                              DisposedLine(return_line_id=line.id, quantity=1, disposition=Disposition.RESTOCKED),
                              DisposedLine(return_line_id=line.id, quantity=1, disposition=Disposition.MISSING))))
    opened = cases.get(case.id)
    assert opened.followup["reason"] == "missing"
