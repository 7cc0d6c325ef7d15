"""Orders contract: get_order, get_refund and find_orders, for every adapter with orders."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.models import DeliveryStatus
from policy.ports import NotFound
from tests.contract.checks import at, is_money, is_utc
from tests.contract.worlds import Line

pytestmark = pytest.mark.capability("orders")


def shop(world):
    """Two customers; Ada has three orders (one refunded in part), Grace one."""
    now = world.now
    ada = world.add_customer("Ada Lovelace", email="ada@example.com", created_at=now - timedelta(days=400))
    grace = world.add_customer("Grace Hopper", email="grace@example.org", created_at=now - timedelta(days=200))
    first = world.add_order(name="#1001", customer=ada, created_at=now - timedelta(days=30),
                            delivered_at=now - timedelta(days=27),
                            lines=[Line("Merino Sweater", "129.50", 1, "SW-M-01"), Line("Wool Socks", "12.25", 2, "SO-02")])
    refund = world.add_refund(first, amount="24.50", created_at=now - timedelta(days=20), note="two socks")
    second = world.add_order(name="#1002", customer=grace, created_at=now - timedelta(days=20),
                             lines=[Line("Trail Shoes", "89.00")])
    third = world.add_order(name="#1003", customer=ada, created_at=now - timedelta(days=10), lines=[Line("Beanie", "19.99")])
    fourth = world.add_order(name="#1004", customer=ada, created_at=now - timedelta(days=2), lines=[Line("Scarf", "34.00")])
    return {"ada": ada, "grace": grace, "orders": [first, second, third, fourth], "refund": refund}


def test_an_order_carries_its_lines_money_and_refunds(world):
    s = shop(world)
    ref = s["orders"][0]
    order = world.source.get_order(ref.id)

    assert order.id == ref.id and order.name == "#1001" and order.number == "1001"
    assert at(order.created_at, ref.created_at)
    assert order.customer_id == s["ada"] and order.email == "ada@example.com"
    assert order.currency == world.currency
    assert is_money(order.total, "154.00", world.currency)  # 129.50 + 2 × 12.25
    assert is_money(order.received, "154.00", world.currency)
    assert is_money(order.refunded, "24.50", world.currency)

    assert [li.id for li in order.line_items] == list(ref.line_ids)
    sweater, socks = order.line_items
    assert (sweater.title, sweater.sku, sweater.quantity) == ("Merino Sweater", "SW-M-01", 1)
    assert is_money(sweater.unit_price, "129.50", world.currency)
    assert (socks.title, socks.sku, socks.quantity) == ("Wool Socks", "SO-02", 2)
    assert is_money(socks.unit_price, "12.25", world.currency)

    [refund] = order.refunds
    assert refund.id == s["refund"] and refund.order_id == ref.id
    assert is_money(refund.amount, "24.50", world.currency)
    assert at(refund.created_at, world.now - timedelta(days=20))

    [shipment] = order.shipments
    assert shipment.status is DeliveryStatus.DELIVERED
    assert at(shipment.delivered_at, world.now - timedelta(days=27))


def test_an_order_with_nothing_refunded_or_shipped(world):
    s = shop(world)
    order = world.source.get_order(s["orders"][1].id)
    assert is_money(order.total, "89.00", world.currency)
    assert is_money(order.refunded, "0", world.currency)
    assert order.refunds == ()
    assert order.delivered_at is None


def test_a_refund_by_id(world):
    s = shop(world)
    refund = world.source.get_refund(s["refund"])
    assert refund.id == s["refund"] and refund.order_id == s["orders"][0].id
    assert is_money(refund.amount, "24.50", world.currency)
    assert is_utc(refund.created_at)


@pytest.mark.parametrize("kind, call", [
    ("order", lambda src, i: src.get_order(i)),
    ("refund", lambda src, i: src.get_refund(i)),
], ids=["get_order", "get_refund"])
def test_unknown_or_malformed_ids_are_not_found(world, kind, call):
    shop(world)
    with pytest.raises(NotFound):
        call(world.source, world.unknown_id(kind))
    with pytest.raises(NotFound):
        call(world.source, "not-an-id")


@pytest.mark.parametrize("query", ["1003", "#1003", " #1003 "])
def test_find_an_order_by_its_number(world, query):
    s = shop(world)
    assert [o.id for o in world.source.find_orders(query)] == [s["orders"][2].id]


@pytest.mark.parametrize("query", ["ada@example.com", "ADA@Example.COM"])
def test_find_a_customers_orders_by_email_newest_first(world, query):
    s = shop(world)
    first, _, third, fourth = s["orders"]
    found = world.source.find_orders(query)
    assert [o.id for o in found] == [fourth.id, third.id, first.id]
    assert all(o.currency == world.currency for o in found)


@pytest.mark.parametrize("query", ["#9999", "nobody@example.com", ""])
def test_no_match_is_an_empty_list(world, query):
    shop(world)
    assert world.source.find_orders(query) == []


def test_find_orders_respects_the_limit(world):
    s = shop(world)
    found = world.source.find_orders("ada@example.com", limit=2)
    assert [o.id for o in found] == [s["orders"][3].id, s["orders"][2].id]
    assert [o.id for o in world.source.find_orders("ada@example.com", limit=1)] == [s["orders"][3].id]
