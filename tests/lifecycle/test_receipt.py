"""Refund on receipt: the dispose fact (twice, out of order) queues the refund once, against
what the store says is left to refund at that moment."""

from datetime import timedelta

import pytest

from bot.services.lifecycle import FollowupRefused, LifecycleService
from bot.store import CaseRepo, OutboxRepo
from bot.store.cases import Decision
from bot.store.stages import StageRepo
from policy.config import Policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.models import CaseStatus, Money
from policy.ports import IntegrationError
from tests.bot.factories import NOW, new_case
from tests.lifecycle.orders import Orders

ORDER = "gid://shopify/Order/1001"


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


def _disposed(disposition):
    line = new_case().context.return_request.line_items[0]
    return (DisposedLine(return_line_id=line.id, quantity=line.quantity, disposition=disposition),)


def _service(engine, clock, store):
    return LifecycleService(cases=CaseRepo(engine), stages=StageRepo(engine), source=store,
                            policy=Policy.default(), clock=clock)


def _refunds(outbox, case):
    return [r for r in outbox.for_case(case.id) if r.operation == "refund_return"]


def test_dispose_twice_and_out_of_order_refunds_once(engine, clock):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    svc = _service(engine, clock, store)
    case = _approved_pending(cases, clock)
    received = _update(case, ReturnStage.RECEIVED, "rfo-1", _disposed(Disposition.RESTOCKED))
    svc.apply(received)
    svc.apply(_update(case, ReturnStage.LABEL_SENT, "label-1"))  # late: history only
    svc.apply(received)
    after = cases.get(case.id)
    assert after.stage is ReturnStage.RECEIVED and after.status is CaseStatus.APPROVED
    [refund] = _refunds(outbox, case)
    assert refund.payload["amount"] == "149.00"
    assert [u.stage for u in StageRepo(engine).history(case.id)] == [ReturnStage.LABEL_SENT, ReturnStage.RECEIVED]
    assert store.asked == [ORDER]  # asked once, when the money was decided; the replay found it decided


def test_a_refund_made_in_the_store_after_approval_opens_exceeds_refundable_for_the_remainder(engine, clock):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    svc = _service(engine, clock, store)
    case = _approved_pending(cases, clock)
    store.refund_in_admin(ORDER, Money.of("49.00", "USD"))  # between approval and receipt
    svc.apply(_update(case, ReturnStage.RECEIVED, "rfo-1", _disposed(Disposition.RESTOCKED)))
    opened = cases.get(case.id)
    assert opened.status is CaseStatus.OPEN and not outbox.for_case(case.id)
    fu = opened.followup
    assert fu["reason"] == "exceeds_refundable" and fu["recommended"] == "partial_refund"
    assert (fu["suggested_amount"], fu["refundable"], fu["currency"]) == ("100.00", "100.00", "USD")
    assert "$100.00" in fu["summary"]


def test_partial_above_the_fresh_remainder_is_refused_with_nothing_changed(engine, clock):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    svc = _service(engine, clock, store)
    case = _approved_pending(cases, clock)
    svc.apply(_update(case, ReturnStage.RECEIVED, "rfo-1", _disposed(Disposition.MISSING)))
    opened = cases.get(case.id)
    assert opened.status is CaseStatus.OPEN and opened.followup["refundable"] == "149.00"
    assert any(a["event"] == "case.followup_opened" for a in cases.audit(case.id))
    store.refund_in_admin(ORDER, Money.of("100.00", "USD"))  # while the follow-up waits: 49.00 left
    decisions, audit = len(cases.decisions(case.id)), len(cases.audit(case.id))

    for too_much in ("60.00", "500.00"):  # 60 was within the figure at receipt, not the store's now
        with pytest.raises(FollowupRefused, match="49.00 USD left to refund"):
            svc.decide_followup(case.id, choice="partial_refund", amount=Money.of(too_much, "USD"), message=None,
                                actor="U1", version=opened.version)
    assert cases.get(case.id).version == opened.version and cases.get(case.id).followup == opened.followup
    assert not outbox.for_case(case.id)
    assert (len(cases.decisions(case.id)), len(cases.audit(case.id))) == (decisions, audit)

    res = svc.decide_followup(case.id, choice="partial_refund", amount=Money.of("49.00", "USD"), message=None,
                              actor="U1", version=opened.version)
    assert res.ok and res.case.status is CaseStatus.APPROVED
    [refund] = _refunds(outbox, case)
    assert refund.payload["amount"] == "49.00"


def test_refund_anyway_is_capped_at_the_fresh_remainder_and_refused_when_nothing_is_left(engine, clock):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    svc = _service(engine, clock, store)
    case = _approved_pending(cases, clock)
    svc.apply(_update(case, ReturnStage.RECEIVED, "rfo-1", _disposed(Disposition.NOT_RESTOCKED)))
    opened = cases.get(case.id)
    store.refund_in_admin(ORDER, Money.of("149.00", "USD"))
    with pytest.raises(FollowupRefused, match="Nothing is left to refund"):
        svc.decide_followup(case.id, choice="refund", amount=None, message=None, actor="U1", version=opened.version)
    assert cases.get(case.id).version == opened.version and not outbox.for_case(case.id)


def test_store_unreachable_at_receipt_raises_for_a_retry_and_guesses_nothing(engine, clock):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    svc = _service(engine, clock, store)
    case = _approved_pending(cases, clock)
    received = _update(case, ReturnStage.RECEIVED, "rfo-1", _disposed(Disposition.RESTOCKED))
    store.down = 1
    with pytest.raises(IntegrationError) as err:
        svc.apply(received)
    assert err.value.retryable
    after = cases.get(case.id)
    assert after.status is CaseStatus.DONE and after.stage is ReturnStage.RECEIVED  # the fact is kept
    assert not outbox.for_case(case.id)
    svc.apply(received)  # the retry
    assert len(_refunds(outbox, case)) == 1 and len(store.asked) == 2


def test_store_unreachable_when_a_followup_is_decided_is_refused_with_nothing_changed(engine, clock):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    svc = _service(engine, clock, store)
    case = _approved_pending(cases, clock)
    svc.apply(_update(case, ReturnStage.RECEIVED, "rfo-1", _disposed(Disposition.MISSING)))
    opened = cases.get(case.id)
    store.down = 1
    with pytest.raises(FollowupRefused, match="could not say what is left"):
        svc.decide_followup(case.id, choice="partial_refund", amount=Money.of("10.00", "USD"), message=None,
                            actor="U1", version=opened.version)
    assert cases.get(case.id).version == opened.version and not outbox.for_case(case.id)
