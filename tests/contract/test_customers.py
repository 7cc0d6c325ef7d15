"""Customers contract: get_customer and get_customer_history over a look-back window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.models import ReturnStatus
from policy.ports import NotFound
from tests.contract.checks import at, is_money
from tests.contract.worlds import Item, Line

pytestmark = pytest.mark.capability("customers")


def test_a_customer(world):
    now = world.now
    ada = world.add_customer("Ada Lovelace", email="ada@example.com", tags=("VIP", "wholesale"),
                             created_at=now - timedelta(days=400))
    world.add_order(name="#1001", customer=ada, created_at=now - timedelta(days=30), lines=[Line("Sweater", "129.50")])
    world.add_order(name="#1002", customer=ada, created_at=now - timedelta(days=3), lines=[Line("Socks", "12.25", 2)])
    other = world.add_customer("Grace Hopper", email="grace@example.org", created_at=now - timedelta(days=9))
    world.add_order(name="#1003", customer=other, created_at=now - timedelta(days=1), lines=[Line("Shoes", "89.00")])

    customer = world.source.get_customer(ada)
    assert customer.id == ada
    assert customer.display_name == "Ada Lovelace"
    assert customer.email == "ada@example.com"
    assert set(customer.tags) == {"VIP", "wholesale"}
    assert customer.orders_count == 2
    assert is_money(customer.lifetime_spend, "154.00", world.currency)
    assert at(customer.created_at, now - timedelta(days=400))


def test_a_customer_with_no_orders(world):
    cid = world.add_customer("New Person", email="new@example.com", created_at=world.now - timedelta(days=1))
    customer = world.source.get_customer(cid)
    assert customer.orders_count == 0
    assert is_money(customer.lifetime_spend, "0", world.currency)


def test_history_counts_only_what_happened_in_the_window(world):
    now = world.now
    since = now - timedelta(days=180)
    ada = world.add_customer("Ada Lovelace", email="ada@example.com", created_at=now - timedelta(days=500))
    old = world.add_order(name="#1001", customer=ada, created_at=now - timedelta(days=400),
                          lines=[Line("Sweater", "129.50"), Line("Socks", "12.25", 2)])
    mid = world.add_order(name="#1002", customer=ada, created_at=now - timedelta(days=100), lines=[Line("Shoes", "89.00")])
    new = world.add_order(name="#1003", customer=ada, created_at=now - timedelta(days=10), lines=[Line("Beanie", "19.99")])
    world.add_return(old, status="CLOSED", requested_at=now - timedelta(days=390))  # outside the window
    # An old order, a return asked for inside the window: it counts (the request is what counts).
    late = world.add_return(old, status="DECLINED", requested_at=now - timedelta(days=60), items=[Item(index=1, quantity=1)])
    mid_ret = world.add_return(mid, status="CLOSED", requested_at=now - timedelta(days=90))
    new_ret = world.add_return(new, requested_at=now - timedelta(days=5))
    # Someone else's orders and returns in the window do not count.
    grace = world.add_customer("Grace Hopper", email="grace@example.org", created_at=now - timedelta(days=50))
    g_order = world.add_order(name="#1004", customer=grace, created_at=now - timedelta(days=20), lines=[Line("Scarf", "34.00")])
    world.add_return(g_order, requested_at=now - timedelta(days=4))

    history = world.source.get_customer_history(ada, since)

    assert at(history.since, since)
    assert history.orders_count == 2
    assert at(history.first_order_at, now - timedelta(days=400))
    by_id = {r.return_id: r for r in history.returns}
    assert set(by_id) == {late.id, mid_ret.id, new_ret.id}
    r = by_id[late.id]
    assert r.order_id == old.id and r.status is ReturnStatus.DECLINED
    assert is_money(r.amount, "12.25", world.currency)
    assert at(r.requested_at, now - timedelta(days=60))
    assert by_id[mid_ret.id].status is ReturnStatus.CLOSED and by_id[new_ret.id].status is ReturnStatus.REQUESTED
    assert is_money(by_id[new_ret.id].amount, "19.99", world.currency)


def test_history_of_a_window_with_nothing_in_it(world):
    now = world.now
    ada = world.add_customer("Ada Lovelace", email="ada@example.com", created_at=now - timedelta(days=500))
    old = world.add_order(name="#1001", customer=ada, created_at=now - timedelta(days=400), lines=[Line("Sweater", "129.50")])
    world.add_return(old, status="CLOSED", requested_at=now - timedelta(days=390))
    history = world.source.get_customer_history(ada, now - timedelta(days=30))
    assert history.orders_count == 0 and history.returns == ()
    assert at(history.first_order_at, now - timedelta(days=400))  # the first order ever, not in the window


@pytest.mark.parametrize("call", [
    lambda src, cid, now: src.get_customer(cid),
    lambda src, cid, now: src.get_customer_history(cid, now - timedelta(days=30)),
], ids=["get_customer", "get_customer_history"])
def test_unknown_customers_are_not_found(world, call):
    world.add_customer("Ada Lovelace", email="ada@example.com", created_at=world.now - timedelta(days=5))
    for cid in (world.unknown_id("customer"), "not-an-id"):
        with pytest.raises(NotFound):
            call(world.source, cid, world.now)
