"""Issue 9 through the running app: approved from the card with refund_on = "receipt", the
warehouse's facts arrive (twice, out of order), and the store is refunded once with no
second click; a missing item opens the follow-up instead. Every store call is counted."""

from datetime import timedelta

from blocks.ids import ActionId
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate, Tracking
from policy.models import CaseStatus, DomainEvent, EventKind, Money
from tests.loop.harness import POLICY, T2A, loop, wait_for
from tests.loop.test_approval_loop import store_calls

RECEIPT_POLICY = POLICY + '\n[returns]\nrefund_on = "receipt"\n'


def _fact(lp, case, stage, ref, **kw):
    update = StageUpdate(return_id=case.external_id, stage=stage, at=lp.c.clock() + timedelta(seconds=stage.rank),
                         source=case.source, ref=ref, **kw)
    return lp.c.ingest.ingest(DomainEvent(source=case.source, kind=EventKind.RETURN_STAGE,
                                          resource_id=case.external_id, stage=update))


def _received(lp, case, disposition_for):
    ret = lp.c.store.get_return(case.external_id)
    lines = tuple(DisposedLine(return_line_id=li.id, quantity=li.quantity, disposition=disposition_for(i))
                  for i, li in enumerate(ret.line_items))
    return lines


def test_receipt_refunds_once_without_a_second_click(database_url):
    with loop(database_url, policy=RECEIPT_POLICY) as lp:
        case = lp.open_case("#1034")
        assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200
        approved = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="approve")
        lp.settle(case.id)
        assert len(store_calls(lp, "approve_return", case.external_id)) == 1
        assert store_calls(lp, "refund_return", case.external_id) == []  # not on approval
        assert approved.stage is ReturnStage.APPROVED

        restocked = _received(lp, case, lambda i: Disposition.RESTOCKED)
        _fact(lp, case, ReturnStage.RECEIVED, "rfo-1", dispositions=restocked)
        _fact(lp, case, ReturnStage.LABEL_SENT, "rd-1", tracking=Tracking(carrier="UPS", number="1Z999"))  # late
        _fact(lp, case, ReturnStage.RECEIVED, "rfo-1", dispositions=restocked)  # the same delivery again
        wait_for(lambda: store_calls(lp, "refund_return", case.external_id), what="the refund on receipt")
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="refund done")
        lp.settle(case.id)
        assert len(store_calls(lp, "refund_return", case.external_id)) == 1
        assert len(store_calls(lp, "approve_return", case.external_id)) == 1
        assert done.stage is ReturnStage.RECEIVED  # the late label did not move it back
        history = [u.stage for u in lp.c.stages.history(case.id)]
        assert ReturnStage.APPROVED in history and ReturnStage.LABEL_SENT in history


def test_a_missing_item_opens_the_followup_and_a_partial_refund_runs_once(database_url):
    with loop(database_url, policy=RECEIPT_POLICY) as lp:
        case = lp.open_case("#1034")
        lp.click(case, ActionId.CASE_APPROVE, T2A)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="approve")
        _fact(lp, case, ReturnStage.RECEIVED, "rfo-1",
              dispositions=_received(lp, case, lambda i: Disposition.MISSING))
        opened = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.OPEN and k, what="follow-up")
        assert opened.followup["reason"] == "missing"
        assert store_calls(lp, "refund_return", case.external_id) == []
        half = Money.of("100.00", opened.amount.currency)
        lp.c.lifecycle.decide_followup(case.id, choice="partial_refund", amount=half, message=None,
                                       actor=T2A, version=opened.version)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="partial refund")
        lp.settle(case.id)
        [refund] = store_calls(lp, "refund_return", case.external_id)
        assert "100.00" in repr(refund)
