"""Shipment-remedies contract (issue 10): what a delayed-shipment case does in the store
that owns the order, each carried out once.

- refund shipping: all that is left (amount None), or part of it; more than is left (or
  nothing left) is refused, non-retryable, nothing refunded; the same key again is one
  refund, also after an answer lost on the way back;
- reship: one replacement order for an order shipped and not delivered; the same key
  again is the same order; a delivered order, or one not shipped yet, is refused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.models import Money
from policy.ports import IntegrationError, Operation, store_actions
from tests.contract.checks import is_money
from tests.contract.worlds import NOW, Line, Unsupported

pytestmark = pytest.mark.capability("orders")

PLACED = NOW - timedelta(days=6)


def a_shipped_order(world, name: str, *, shipping: str = "12.50", delivered: bool = False):
    return world.add_shipped_order(name=name, created_at=PLACED, shipping=shipping, delivered=delivered,
                                   lines=[Line("Trail boots", "120.00"), Line("Wool socks", "9.00", quantity=2)])


def eur(world, amount: str) -> Money:
    return Money.of(amount, world.currency)


# --- refund shipping ---------------------------------------------------------------------------


@pytest.mark.operations("refund_shipping")
def test_refunding_all_the_shipping(world):
    order = a_shipped_order(world, "#S101")
    result = world.actions.refund_shipping(order.id, amount=None, notify_customer=False, idempotency_key="c:s:1")
    assert result.ok and result.external_id
    assert is_money(world.shipping_left(order), "0.00", world.currency)
    assert world.effects()["refund"] == 1
    refunded = world.source.get_order(order.id).refunded
    assert is_money(refunded, "12.50", world.currency)


@pytest.mark.operations("refund_shipping")
def test_refunding_part_of_the_shipping_leaves_the_rest(world):
    order = a_shipped_order(world, "#S102")
    world.actions.refund_shipping(order.id, amount=eur(world, "5.00"), notify_customer=False, idempotency_key="c:s:2")
    assert is_money(world.shipping_left(order), "7.50", world.currency)
    rest = world.actions.refund_shipping(order.id, amount=None, notify_customer=False, idempotency_key="c:s:2b")
    assert rest.ok
    assert is_money(world.shipping_left(order), "0.00", world.currency)
    assert world.effects()["refund"] == 2


@pytest.mark.operations("refund_shipping")
def test_more_than_the_shipping_left_is_refused_and_nothing_refunded(world):
    order = a_shipped_order(world, "#S103")
    world.actions.refund_shipping(order.id, amount=eur(world, "10.00"), notify_customer=False, idempotency_key="c:s:3")
    with pytest.raises(IntegrationError) as refused:
        world.actions.refund_shipping(order.id, amount=eur(world, "2.51"), notify_customer=False,
                                      idempotency_key="c:s:3b")
    assert refused.value.retryable is False
    assert "2.50" in str(refused.value)  # says what is left
    assert is_money(world.shipping_left(order), "2.50", world.currency)
    assert world.effects()["refund"] == 1


@pytest.mark.operations("refund_shipping")
def test_an_order_without_shipping_left_is_refused(world):
    order = a_shipped_order(world, "#S104", shipping="0.00")
    with pytest.raises(IntegrationError) as refused:
        world.actions.refund_shipping(order.id, amount=None, notify_customer=False, idempotency_key="c:s:4")
    assert refused.value.retryable is False
    assert world.effects()["refund"] == 0


@pytest.mark.operations("refund_shipping")
def test_the_same_key_again_is_one_refund(world):
    order = a_shipped_order(world, "#S105")
    first = world.actions.refund_shipping(order.id, amount=eur(world, "4.00"), notify_customer=False,
                                          idempotency_key="c:s:5")
    again = world.actions.refund_shipping(order.id, amount=eur(world, "4.00"), notify_customer=False,
                                          idempotency_key="c:s:5")
    assert again.ok and again.external_id == first.external_id
    assert world.effects()["refund"] == 1
    assert is_money(world.shipping_left(order), "8.50", world.currency)


@pytest.mark.operations("refund_shipping")
def test_a_refund_whose_answer_was_lost_is_not_made_twice(world):
    order = a_shipped_order(world, "#S106")
    try:
        world.lose_next_answer("refund_shipping")
    except Unsupported as why:
        pytest.skip(f"{world.name}: {why}")
    with pytest.raises(IntegrationError) as lost:
        world.actions.refund_shipping(order.id, amount=None, notify_customer=False, idempotency_key="c:s:6")
    assert lost.value.retryable is True
    again = world.actions.refund_shipping(order.id, amount=None, notify_customer=False, idempotency_key="c:s:6")
    assert again.ok
    assert world.effects()["refund"] == 1
    assert is_money(world.shipping_left(order), "0.00", world.currency)


@pytest.mark.operations("refund_shipping")
def test_the_outbox_operation_refunds_the_shipping(world):
    order = a_shipped_order(world, "#S107")
    run = store_actions(world.actions)[Operation.REFUND_SHIPPING]
    assert run({"order_id": order.id, "amount": "2.50", "currency": world.currency, "notify_customer": False},
               "c:s:7").ok
    assert run({"order_id": order.id, "amount": None, "currency": None, "notify_customer": False}, "c:s:7b").ok
    assert is_money(world.shipping_left(order), "0.00", world.currency)


# --- reship ------------------------------------------------------------------------------------------


@pytest.mark.operations("reship_order")
def test_reshipping_makes_one_replacement_order_at_no_charge(world):
    order = a_shipped_order(world, "#S201")
    result = world.actions.reship_order(order.id, note="parcel lost", idempotency_key="c:r:1")
    assert result.ok
    assert world.replacements(order) == [result.external_id]
    replacement = world.source.get_order(result.external_id)
    assert is_money(replacement.total, "0.00", world.currency)  # nothing for the customer to pay
    assert sorted((li.title, li.quantity) for li in replacement.line_items) == [("Trail boots", 1), ("Wool socks", 2)]
    assert world.effects()["reship"] == 1


@pytest.mark.operations("reship_order")
def test_reshipping_again_with_the_same_key_is_the_same_order(world):
    order = a_shipped_order(world, "#S202")
    first = world.actions.reship_order(order.id, note=None, idempotency_key="c:r:2")
    again = world.actions.reship_order(order.id, note=None, idempotency_key="c:r:2")
    assert again.ok and again.external_id == first.external_id
    assert world.replacements(order) == [first.external_id]
    assert world.effects()["reship"] == 1


@pytest.mark.operations("reship_order")
def test_a_reship_whose_answer_was_lost_is_not_made_twice(world):
    order = a_shipped_order(world, "#S203")
    try:
        world.lose_next_answer("reship_order")
    except Unsupported as why:
        pytest.skip(f"{world.name}: {why}")
    with pytest.raises(IntegrationError) as lost:
        world.actions.reship_order(order.id, note=None, idempotency_key="c:r:3")
    assert lost.value.retryable is True
    again = world.actions.reship_order(order.id, note=None, idempotency_key="c:r:3")
    assert again.ok
    assert world.replacements(order) == [again.external_id]
    assert world.effects()["reship"] == 1


@pytest.mark.operations("reship_order")
def test_a_delivered_order_is_not_reshipped(world):
    order = a_shipped_order(world, "#S204", delivered=True)
    with pytest.raises(IntegrationError) as refused:
        world.actions.reship_order(order.id, note=None, idempotency_key="c:r:4")
    assert refused.value.retryable is False
    assert world.replacements(order) == []


@pytest.mark.operations("reship_order")
def test_an_order_not_shipped_yet_is_not_reshipped(world):
    order = world.add_order(name="#S205", created_at=PLACED, lines=[Line("Trail boots", "120.00")],
                            email="buyer@example.com")
    with pytest.raises(IntegrationError) as refused:
        world.actions.reship_order(order.id, note=None, idempotency_key="c:r:5")
    assert refused.value.retryable is False
    assert "not shipped" in str(refused.value)
    assert world.replacements(order) == []


@pytest.mark.operations("reship_order")
def test_the_outbox_operation_reships(world):
    order = a_shipped_order(world, "#S206")
    run = store_actions(world.actions)[Operation.RESHIP_ORDER]
    result = run({"order_id": order.id, "note": "lost"}, "c:r:6")
    assert result.ok and world.replacements(order) == [result.external_id]
