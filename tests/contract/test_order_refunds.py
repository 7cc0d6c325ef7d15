"""Order-refund contract (issue 12, a return asked for in a ticket): a refund on an order
with no store return behind it, carried out once.

- the amount goes back to the order's payments (the order's refunded figure moves by it);
- more than is left to refund is refused, non-retryable, nothing refunded;
- the same key again is one refund, also after an answer lost on the way back (a crash
  between the store's write and our record of it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.models import Money
from policy.ports import IntegrationError, Operation, store_actions
from tests.contract.checks import is_money
from tests.contract.worlds import NOW, Line, Unsupported

pytestmark = [pytest.mark.capability("orders"), pytest.mark.operations("refund_order")]

PLACED = NOW - timedelta(days=6)


def an_order(world, name: str):
    return world.add_order(name=name, created_at=PLACED, email="buyer@example.com",
                           lines=[Line("Merino sweater", "89.00"), Line("Wool socks", "9.00", quantity=2)])


def money(world, amount: str) -> Money:
    return Money.of(amount, world.currency)


def refund(world, order, amount: str, key: str):
    return world.actions.refund_order(order.id, amount=money(world, amount), items="Merino sweater × 1",
                                      notify_customer=False, idempotency_key=key)


def test_a_refund_goes_back_to_the_order(world):
    order = an_order(world, "#T101")
    result = refund(world, order, "89.00", "c:o:1")
    assert result.ok and result.external_id
    assert world.effects()["refund"] == 1
    assert is_money(world.source.get_order(order.id).refunded, "89.00", world.currency)


def test_more_than_is_left_to_refund_is_refused_and_nothing_refunded(world):
    order = an_order(world, "#T102")
    refund(world, order, "100.00", "c:o:2")
    with pytest.raises(IntegrationError) as refused:
        refund(world, order, "7.01", "c:o:2b")
    assert refused.value.retryable is False
    assert refund(world, order, "7.00", "c:o:2c").ok  # what is left, exactly
    assert world.effects()["refund"] == 2
    assert is_money(world.source.get_order(order.id).refunded, "107.00", world.currency)


def test_a_refund_over_what_is_left_leaves_the_order_as_it_was(world):
    order = an_order(world, "#T107")
    refund(world, order, "100.00", "c:o:7")
    with pytest.raises(IntegrationError):
        refund(world, order, "7.01", "c:o:7b")
    assert world.effects()["refund"] == 1
    assert is_money(world.source.get_order(order.id).refunded, "100.00", world.currency)


def test_a_refund_that_is_not_positive_is_refused(world):
    order = an_order(world, "#T103")
    with pytest.raises(IntegrationError) as refused:
        refund(world, order, "0.00", "c:o:3")
    assert refused.value.retryable is False
    assert world.effects()["refund"] == 0


def test_the_same_key_again_is_one_refund(world):
    order = an_order(world, "#T104")
    first = refund(world, order, "89.00", "c:o:4")
    again = refund(world, order, "89.00", "c:o:4")
    assert again.ok and again.external_id == first.external_id
    assert world.effects()["refund"] == 1
    assert is_money(world.source.get_order(order.id).refunded, "89.00", world.currency)


def test_a_refund_whose_answer_was_lost_is_not_made_twice(world):
    order = an_order(world, "#T105")
    try:
        world.lose_next_answer("refund_order")
    except Unsupported as why:
        pytest.skip(f"{world.name}: {why}")
    with pytest.raises(IntegrationError) as lost:
        refund(world, order, "89.00", "c:o:5")
    assert lost.value.retryable is True
    again = refund(world, order, "89.00", "c:o:5")
    assert again.ok
    assert world.effects()["refund"] == 1
    assert is_money(world.source.get_order(order.id).refunded, "89.00", world.currency)


def test_the_outbox_operation_refunds_the_order(world):
    order = an_order(world, "#T106")
    run = store_actions(world.actions)[Operation.REFUND_ORDER]
    result = run({"order_id": order.id, "amount": "18.00", "currency": world.currency, "notify_customer": False,
                  "items": "Wool socks × 2"}, "c:o:6")
    assert result.ok
    assert is_money(world.source.get_order(order.id).refunded, "18.00", world.currency)
