"""Recording a refund the payment processor made (RECORD_REFUND), run against every store
adapter: the return's order was paid through the processor and only recorded in the store.

- the refund is recorded once on the order, whatever number of times the job runs with its
  key, with a note naming where the money went back;
- where the store itself holds the money (its gateway would refund it), recording is refused,
  not retried, and nothing is recorded (it would pay the customer a second time).
"""

from __future__ import annotations

import pytest

from policy.ports import IntegrationError
from tests.contract.test_return_actions import a_return, money
from tests.contract.worlds import require

pytestmark = pytest.mark.capability("returns")

KEY = "returnsbot:shopify:case-1:record_refund"
WHERE = "stripe payment ch_contract_1"


@pytest.mark.operations("approve_return", "record_refund")
def test_a_refund_made_elsewhere_is_recorded_once(world):
    ret = a_return(world, "#1001")
    world.pay_outside(ret.order)
    world.actions.approve_return(ret.id, notify_customer=False, idempotency_key="contract:approve")
    first = world.actions.record_refund(ret.id, amount=money(world, "129.50"), refunded_in=WHERE,
                                        notify_customer=False, idempotency_key=KEY)
    again = world.actions.record_refund(ret.id, amount=money(world, "129.50"), refunded_in=WHERE,
                                        notify_customer=False, idempotency_key=KEY)
    assert first.ok and again.ok and first.external_id == again.external_id
    [refund] = world.source.get_order(ret.order.id).refunds
    assert refund.amount == money(world, "129.50") and WHERE in (refund.note or "")
    assert world.effects() == {"approve": 1, "refund": 1}


@pytest.mark.operations("approve_return", "record_refund")
def test_recording_where_the_store_holds_the_money_is_refused(world):
    require(world, "actions.record_refuses_store_money")
    ret = a_return(world, "#1001")  # paid through the store's own gateway
    world.actions.approve_return(ret.id, notify_customer=False, idempotency_key="contract:approve")
    with pytest.raises(IntegrationError) as refused:
        world.actions.record_refund(ret.id, amount=money(world, "129.50"), refunded_in=WHERE,
                                    notify_customer=False, idempotency_key=KEY)
    assert refused.value.retryable is False
    assert world.source.get_order(ret.order.id).refunds == ()
    assert world.effects() == {"approve": 1}
