"""Refund on receipt: the dispose fact (twice, out of order) queues the refund once."""

from datetime import timedelta

from bot.store import CaseRepo, OutboxRepo
from bot.store.cases import Decision
from bot.store.stages import StageRepo
from bot.services.lifecycle import LifecycleService
from policy.config import Policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.models import CaseStatus
from tests.bot.factories import NOW, new_case


def _approved_pending(cases, clock):
    case, _ = cases.open(new_case())
    cases.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.DONE, actor="U1", at=clock(),
                     event="case.approved", decision=Decision("approve", "refund", True, detail={
                         "refund_on": "receipt", "pending": {"outcome": "refund", "amount": "149.00",
                                                             "currency": "USD"}}))
    return cases.get(case.id)


def _update(case, stage, ref, dispositions=()):
    return StageUpdate(return_id=case.external_id, stage=stage, at=NOW + timedelta(hours=stage.rank),
                       source=case.source, ref=ref, dispositions=dispositions)


def test_dispose_twice_and_out_of_order_refunds_once(engine, clock):
    cases, outbox = CaseRepo(engine), OutboxRepo(engine)
    svc = LifecycleService(cases=cases, stages=StageRepo(engine), policy=Policy.default(), clock=clock)
    case = _approved_pending(cases, clock)
    line = new_case().context.return_request.line_items[0]
    received = _update(case, ReturnStage.RECEIVED, "rfo-1",
                       (DisposedLine(return_line_id=line.id, quantity=line.quantity,
                                     disposition=Disposition.RESTOCKED),))
    svc.apply(received)
    svc.apply(_update(case, ReturnStage.LABEL_SENT, "label-1"))  # late: history only
    svc.apply(received)
    after = cases.get(case.id)
    assert after.stage is ReturnStage.RECEIVED and after.status is CaseStatus.APPROVED
    refunds = [r for r in outbox.for_case(case.id) if r.operation == "refund_return"]
    assert len(refunds) == 1
    assert [u.stage for u in StageRepo(engine).history(case.id)] == [ReturnStage.LABEL_SENT, ReturnStage.RECEIVED]


def test_missing_item_opens_followup_and_partial_above_refundable_is_refused(engine, clock):
    import pytest
    from bot.services.lifecycle import FollowupRefused
    from policy.models import Money
    cases, outbox = CaseRepo(engine), OutboxRepo(engine)
    svc = LifecycleService(cases=cases, stages=StageRepo(engine), policy=Policy.default(), clock=clock)
    case = _approved_pending(cases, clock)
    line = new_case().context.return_request.line_items[0]
    svc.apply(_update(case, ReturnStage.RECEIVED, "rfo-1", (DisposedLine(
        return_line_id=line.id, quantity=line.quantity, disposition=Disposition.MISSING),)))
    opened = cases.get(case.id)
    assert opened.status is CaseStatus.OPEN and opened.followup["reason"] == "missing"
    assert any(a["event"] == "case.followup_opened" for a in cases.audit(case.id))
    with pytest.raises(FollowupRefused):
        svc.decide_followup(case.id, choice="partial_refund", amount=Money.of("500", "USD"), message=None,
                            actor="U1", version=opened.version)
    assert cases.get(case.id).version == opened.version and not outbox.for_case(case.id)
