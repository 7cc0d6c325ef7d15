"""Exchanges through the running app (sample store, FakeSlack, signed requests): Daniel's
exchange (#1042) is out of stock, so approving it opens the follow-up with only Refund and
Store credit and his store credit runs once; Chloe's (#1046) is auto-approved, released once
and closed once when her hoodie is back — no refund. Every store call is counted."""

from blocks.ids import ActionId
from policy.lifecycle import Disposition, ReturnStage
from policy.models import CaseStatus
from tests.loop.harness import T1, action_ids, card_text, loop, wait_for
from tests.loop.test_approval_loop import store_calls
from tests.loop.test_return_lifecycle_loop import _fact, _received


def test_an_exchange_out_of_stock_becomes_refund_or_store_credit(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1042")  # Daniel, $149 size exchange: tier 1
        assert case.recommended_action == "exchange"
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        opened = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.OPEN and k.followup and k,
                          what="the out-of-stock follow-up")
        opened = lp.settle(case.id)
        assert opened.followup["reason"] == "exchange_out_of_stock"
        card = lp.last_card(opened)
        assert [a for a in action_ids(card) if a.startswith("followup")] == [ActionId.FOLLOWUP_REFUND,
                                                                              ActionId.FOLLOWUP_CREDIT]
        assert "US 10.5 is out of stock" in card_text(card)

        lp.click(opened, ActionId.FOLLOWUP_PARTIAL, T1)  # not offered: refused, no form
        wait_for(lambda: lp.ephemerals_to(T1), what="the refusal")
        assert "refund or store credit only" in lp.ephemerals_to(T1)[-1]
        assert lp.slack.calls_to("views.open") == []

        lp.click(opened, ActionId.FOLLOWUP_CREDIT, T1)
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="store credit")
        lp.settle(case.id)
        rid, customer = case.external_id, done.customer_id
        assert len(store_calls(lp, "approve_return", rid)) == 1
        assert len(store_calls(lp, "release_exchange", rid)) == 1
        assert len(store_calls(lp, "remove_exchange", rid)) == 1
        assert len(store_calls(lp, "issue_store_credit", customer)) == 1
        assert store_calls(lp, "refund_return") == []
        assert lp.store.exchange_released(rid) == 0


def test_an_exchange_in_stock_is_released_on_approval_and_closed_on_receipt(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1046")  # Chloe, $54 size exchange: auto-approved
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="released")
        assert done.auto_approved and done.recommended_action == "exchange"
        lp.settle(case.id)
        rid = case.external_id
        assert len(store_calls(lp, "release_exchange", rid)) == 1 and lp.store.exchange_released(rid) == 1

        restocked = _received(lp, case, lambda i: Disposition.RESTOCKED)
        _fact(lp, case, ReturnStage.RECEIVED, "rfo-1", dispositions=restocked)
        _fact(lp, case, ReturnStage.RECEIVED, "rfo-1", dispositions=restocked)  # the same delivery again
        wait_for(lambda: store_calls(lp, "close_return", rid), what="the close")
        closed = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="closed")
        lp.settle(case.id)
        assert len(store_calls(lp, "close_return", rid)) == 1
        assert store_calls(lp, "refund_return", rid) == [] and store_calls(lp, "issue_store_credit") == []
        assert len(store_calls(lp, "release_exchange", rid)) == 1
        assert closed.stage is ReturnStage.RECEIVED
