"""Tags contract (issue 13): a moment's tags on the customer and on the order, added once.

- the tags land on the customer (or the order), read back through the source;
- check before act: a resource carrying every tag already (in any case) is a repeat and the
  store's mutation is not called again — the same job run twice, or a webhook replayed,
  calls it once;
- only the missing tags are sent; an unknown resource is NotFound, nothing tagged;
- an answer lost on the way back, then the retry: tagged once;
- the outbox operation (`store_actions`) carries the payload to the call.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.ports import NotFound, Operation, store_actions
from tests.contract.worlds import NOW, Line, Unsupported

pytestmark = [pytest.mark.capability("customers"), pytest.mark.operations("add_tags")]


def a_customer_with_an_order(world, *, tags=()):
    customer = world.add_customer("Grace Hopper", email="grace@example.com", tags=tags,
                                  created_at=NOW - timedelta(days=30))
    order = world.add_order(name="#T100", created_at=NOW - timedelta(hours=2), customer=customer,
                            lines=[Line("Expedition parka", "740.00")])
    return customer, order


def test_tags_land_on_the_customer_once(world):
    customer, _ = a_customer_with_an_order(world)
    first = world.actions.add_tags(customer, tags=("VIP", "big-first-order"), idempotency_key="c:t:1")
    assert first.ok
    assert {"VIP", "big-first-order"} <= set(world.source.get_customer(customer).tags)
    again = world.actions.add_tags(customer, tags=("VIP", "big-first-order"), idempotency_key="c:t:1")
    assert again.ok and "already" in again.summary
    assert world.effects()["tags"] == 1  # the second run checked first and sent nothing


def test_tags_land_on_the_order(world):
    _, order = a_customer_with_an_order(world)
    assert world.actions.add_tags(order.id, tags=("vip-order",), idempotency_key="c:t:2").ok
    assert "vip-order" in world.source.get_order(order.id).tags
    assert world.effects()["tags"] == 1


def test_tags_already_there_in_another_case_are_not_sent_again(world):
    customer, _ = a_customer_with_an_order(world, tags=("vip",))
    result = world.actions.add_tags(customer, tags=("VIP",), idempotency_key="c:t:3")
    assert result.ok and "already" in result.summary
    assert world.effects()["tags"] == 0
    tags = world.source.get_customer(customer).tags
    assert [t.casefold() for t in tags].count("vip") == 1


def test_only_the_missing_tags_are_added(world):
    customer, _ = a_customer_with_an_order(world, tags=("VIP",))
    result = world.actions.add_tags(customer, tags=("VIP", "concierge"), idempotency_key="c:t:4")
    assert "concierge" in result.summary and "VIP" not in result.summary
    tags = world.source.get_customer(customer).tags
    assert sorted(t.casefold() for t in tags) == ["concierge", "vip"]


def test_an_unknown_customer_is_not_found(world):
    a_customer_with_an_order(world)
    with pytest.raises(NotFound):
        world.actions.add_tags(world.unknown_id("customer"), tags=("VIP",), idempotency_key="c:t:5")
    assert world.effects()["tags"] == 0


def test_an_answer_lost_then_the_retry_tags_once(world):
    customer, _ = a_customer_with_an_order(world)
    try:
        world.lose_next_answer("add_tags")
    except Unsupported as why:
        pytest.skip(f"{world.name}: {why}")
    with pytest.raises(Exception):
        world.actions.add_tags(customer, tags=("VIP",), idempotency_key="c:t:6")
    assert world.actions.add_tags(customer, tags=("VIP",), idempotency_key="c:t:6").ok
    assert world.effects()["tags"] == 1
    assert "VIP" in world.source.get_customer(customer).tags


def test_the_outbox_operation_tags(world):
    customer, order = a_customer_with_an_order(world)
    run = store_actions(world.actions)[Operation.ADD_TAGS]
    assert run({"resource_id": customer, "tags": ["VIP"]}, "c:t:7").ok
    assert run({"resource_id": order.id, "tags": ["vip-order"]}, "c:t:7b").ok
    assert "VIP" in world.source.get_customer(customer).tags
    assert "vip-order" in world.source.get_order(order.id).tags
