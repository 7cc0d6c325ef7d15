"""Open-return contract (issue 12, a return asked for in a ticket): the store opens an
approved return for the asked order lines, once.

- the return is on the order, approved, with the lines and quantities asked; its id is the
  result's external_id, and the order's returns list it;
- the same key again is the same return (no second one), also after an answer lost on the
  way back (Shopify's returnCreate takes no idempotency key: the marker in the lines' notes
  is what finds it);
- a second key is a second return, for what is left to return; more than is left, or a line
  not on the order, is refused, non-retryable, nothing opened;
- the payload the outbox carries opens it the same way.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.models import ReturnStatus
from policy.ports import IntegrationError, Operation, store_actions
from tests.contract.worlds import NOW, Line, Unsupported

pytestmark = [pytest.mark.capability("returns"), pytest.mark.operations("open_return")]

PLACED = NOW - timedelta(days=6)
APPROVED = (ReturnStatus.APPROVED,)  # Shopify's OPEN


def an_order(world, name: str):
    return world.add_order(name=name, created_at=PLACED, email="buyer@example.com", delivered_at=PLACED + timedelta(days=2),
                           lines=[Line("Merino sweater", "89.00"), Line("Wool socks", "9.00", quantity=2)])


def open_it(world, order, key: str, lines=None):
    lines = lines if lines is not None else [(order.line_ids[0], 1)]
    return world.actions.open_return(order.id, lines=lines, reason_note="asked in ticket 77: too small",
                                     requested_at=PLACED + timedelta(days=4), idempotency_key=key)


def returns_of(world, order):
    return world.source.get_order_returns(order.id)


def test_the_return_is_opened_approved_for_the_asked_lines(world):
    order = an_order(world, "#T201")
    result = open_it(world, order, "c:r:1", lines=[(order.line_ids[0], 1), (order.line_ids[1], 2)])
    assert result.ok and result.external_id
    assert world.effects()["return_opened"] == 1
    ret = world.source.get_return(result.external_id)
    assert ret.order_id == order.id and ret.status in APPROVED
    assert sorted((li.line_item_id, li.quantity) for li in ret.line_items) == sorted(
        [(order.line_ids[0], 1), (order.line_ids[1], 2)])
    assert [r.id for r in returns_of(world, order)] == [result.external_id]


def test_the_same_key_again_is_the_same_return(world):
    order = an_order(world, "#T202")
    first = open_it(world, order, "c:r:2")
    again = open_it(world, order, "c:r:2")
    assert again.ok and again.external_id == first.external_id
    assert world.effects()["return_opened"] == 1
    assert len(returns_of(world, order)) == 1


def test_a_return_whose_answer_was_lost_is_not_opened_twice(world):
    order = an_order(world, "#T203")
    try:
        world.lose_next_answer("open_return")
    except Unsupported as why:
        pytest.skip(f"{world.name}: {why}")
    with pytest.raises(IntegrationError) as lost:
        open_it(world, order, "c:r:3")
    assert lost.value.retryable is True
    again = open_it(world, order, "c:r:3")
    assert again.ok
    assert world.effects()["return_opened"] == 1
    assert [r.id for r in returns_of(world, order)] == [again.external_id]


def test_another_key_opens_another_return_for_what_is_left(world):
    order = an_order(world, "#T204")
    open_it(world, order, "c:r:4", lines=[(order.line_ids[1], 1)])
    assert open_it(world, order, "c:r:4b", lines=[(order.line_ids[1], 1)]).ok  # the second sock
    with pytest.raises(IntegrationError) as refused:
        open_it(world, order, "c:r:4c", lines=[(order.line_ids[1], 1)])  # none left
    assert refused.value.retryable is False
    assert world.effects()["return_opened"] == 2
    assert len(returns_of(world, order)) == 2


def test_a_line_not_on_the_order_is_refused_and_nothing_opened(world):
    order = an_order(world, "#T205")
    other = an_order(world, "#T206")
    with pytest.raises(IntegrationError) as refused:
        open_it(world, order, "c:r:5", lines=[(other.line_ids[0], 1)])
    assert refused.value.retryable is False
    assert world.effects()["return_opened"] == 0
    assert returns_of(world, order) == []


def test_the_outbox_operation_opens_the_return(world):
    order = an_order(world, "#T207")
    run = store_actions(world.actions)[Operation.OPEN_RETURN]
    result = run({"order_id": order.id, "lines": [{"line_item_id": order.line_ids[0], "quantity": 1}],
                  "reason_note": "asked in ticket 78", "requested_at": (PLACED + timedelta(days=4)).isoformat()},
                 "c:r:7")
    assert result.ok
    assert [r.id for r in returns_of(world, order)] == [result.external_id]
