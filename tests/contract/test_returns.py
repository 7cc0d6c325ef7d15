"""Returns contract: get_return, get_order_returns and poll_requested_returns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.models import EventKind, ReturnStatus
from policy.ports import NotFound
from tests.contract.checks import at, is_money
from tests.contract.worlds import Item, Line, Unsupported, require

pytestmark = pytest.mark.capability("returns")


def an_order(world, name="#1001", days=20):
    customer = world.add_customer(f"Customer {name}", email=f"c{name.lstrip('#')}@example.com",
                                  created_at=world.now - timedelta(days=400))
    return world.add_order(name=name, customer=customer, created_at=world.now - timedelta(days=days),
                           delivered_at=world.now - timedelta(days=days - 3),
                           lines=[Line("Merino Sweater", "129.50", 1, "SW-M-01"), Line("Wool Socks", "12.25", 3, "SO-02")])


def test_a_return_request_with_its_lines_reasons_and_time(world):
    order = an_order(world)
    requested = world.now - timedelta(days=2, hours=5)
    ref = world.add_return(order, requested_at=requested, items=[
        Item(index=0, reason="SIZE_TOO_SMALL", reason_note="runs small", customer_note="Could I get an M?"),
        Item(index=1, quantity=2, reason="DEFECTIVE"),
    ])

    ret = world.source.get_return(ref.id)

    assert ret.id == ref.id and ret.name == "#1001-R1" and ret.order_id == order.id
    assert ret.status is ReturnStatus.REQUESTED
    assert at(ret.requested_at, requested)
    sweater, socks = ret.line_items
    assert sweater.line_item_id == order.line_ids[0] and socks.line_item_id == order.line_ids[1]
    assert (sweater.title, sweater.sku, sweater.quantity) == ("Merino Sweater", "SW-M-01", 1)
    assert (sweater.reason, sweater.reason_note, sweater.customer_note) == ("SIZE_TOO_SMALL", "runs small", "Could I get an M?")
    assert (socks.title, socks.quantity, socks.reason, socks.reason_note) == ("Wool Socks", 2, "DEFECTIVE", None)
    assert is_money(sweater.unit_price, "129.50", world.currency)
    assert is_money(socks.unit_price, "12.25", world.currency)
    assert is_money(ret.amount, "154.00", world.currency)  # 129.50 + 2 × 12.25


@pytest.mark.parametrize("status", ["OPEN", "DECLINED", "CLOSED", "CANCELED"])
def test_a_return_in_each_status(world, status):
    ret = world.add_return(an_order(world), status=status, requested_at=world.now - timedelta(days=9))
    got = world.source.get_return(ret.id)
    assert got.status is ReturnStatus(status)
    assert at(got.requested_at, world.now - timedelta(days=9))


def test_the_returns_of_an_order(world):
    order = an_order(world, days=60)
    first = world.add_return(order, status="CLOSED", requested_at=world.now - timedelta(days=50), items=[Item(index=1, quantity=1)])
    second = world.add_return(order, requested_at=world.now - timedelta(days=1), items=[Item(index=0)])
    elsewhere = world.add_return(an_order(world, "#1002"), requested_at=world.now - timedelta(days=1))

    returns = {r.id: r for r in world.source.get_order_returns(order.id)}

    assert set(returns) == {first.id, second.id}
    assert elsewhere.id not in returns
    assert returns[first.id].status is ReturnStatus.CLOSED and returns[second.id].status is ReturnStatus.REQUESTED
    assert at(returns[first.id].requested_at, world.now - timedelta(days=50))
    assert is_money(returns[first.id].amount, "12.25", world.currency)
    assert is_money(returns[second.id].amount, "129.50", world.currency)
    assert all(r.order_id == order.id for r in returns.values())


def test_an_order_without_returns_has_none(world):
    assert world.source.get_order_returns(an_order(world).id) == []


@pytest.mark.parametrize("call, kind", [
    (lambda src, i: src.get_return(i), "return"),
    (lambda src, i: src.get_order_returns(i), "order"),
], ids=["get_return", "get_order_returns"])
def test_unknown_ids_are_not_found(world, call, kind):
    an_order(world)
    for bad in (world.unknown_id(kind), "not-an-id"):
        with pytest.raises(NotFound):
            call(world.source, bad)


# --- polling -----------------------------------------------------------------------------------------


def requested_ids(page) -> list[str]:
    assert all(e.kind is EventKind.RETURN_REQUESTED for e in page.events)
    return [e.resource_id for e in page.events]


def test_the_first_poll_finds_every_open_request_whatever_its_age(world):
    now = world.now
    ancient = world.add_return(an_order(world, "#1001", days=200), requested_at=now - timedelta(days=150))
    old = world.add_return(an_order(world, "#1002", days=40), requested_at=now - timedelta(days=30))
    recent = world.add_return(an_order(world, "#1003", days=5), requested_at=now - timedelta(hours=3))
    for i, status in enumerate(("OPEN", "DECLINED", "CLOSED", "CANCELED")):  # decided: not waiting
        world.add_return(an_order(world, f"#20{i}", days=30), status=status, requested_at=now - timedelta(days=20))

    page = world.source.poll_requested_returns(None)

    ids = requested_ids(page)
    assert sorted(ids) == sorted([ancient.id, old.id, recent.id])
    assert len(ids) == len(set(ids))
    by_id = {e.resource_id: e for e in page.events}
    for ref in (ancient, old, recent):
        event = by_id[ref.id]
        assert event.order_id == ref.order.id
        if event.occurred_at is not None:  # optional, but when given it is the request time
            assert at(event.occurred_at, ref.requested_at)
    assert page.cursor is not None
    assert page.unmapped == []


def two_polls(world):
    """A backlog, a first poll, a newer request, a poll from the first poll's cursor."""
    now = world.now
    oldest = world.add_return(an_order(world, "#1001", days=60), requested_at=now - timedelta(days=30))
    newest_seen = world.add_return(an_order(world, "#1002", days=10), requested_at=now - timedelta(days=2))
    first = world.source.poll_requested_returns(None)
    assert sorted(requested_ids(first)) == sorted([oldest.id, newest_seen.id])
    world.advance(hours=1)
    newer = world.add_return(an_order(world, "#1003", days=3), requested_at=now + timedelta(minutes=30))
    second = world.source.poll_requested_returns(first.cursor)
    assert second.cursor is not None
    return oldest, newest_seen, newer, second


def test_a_poll_from_the_returned_cursor_finds_newer_requests_not_the_backlog(world):
    oldest, _, newer, second = two_polls(world)
    ids = requested_ids(second)
    assert newer.id in ids
    assert oldest.id not in ids


def test_a_poll_from_the_returned_cursor_finds_only_newer_requests(world):
    require(world, "poll.only_newer")
    _, newest_seen, newer, second = two_polls(world)
    assert requested_ids(second) == [newer.id]
    assert world.source.poll_requested_returns(second.cursor).events == []


@pytest.mark.operations("approve_return")
def test_a_request_decided_since_the_last_poll_is_not_found_again(world):
    now = world.now
    ref = world.add_return(an_order(world), requested_at=now - timedelta(days=1))
    first = world.source.poll_requested_returns(None)
    assert requested_ids(first) == [ref.id]
    world.actions.approve_return(ref.id, notify_customer=False, idempotency_key="contract:poll:approve")
    assert ref.id not in requested_ids(world.source.poll_requested_returns(None))


def test_an_unmappable_request_does_not_stop_the_poll(world):
    require(world, "poll.unmappable")
    now = world.now
    before = world.add_return(an_order(world, "#1001"), requested_at=now - timedelta(hours=3))
    try:
        poison = world.add_unmappable_return(an_order(world, "#1002"), requested_at=now - timedelta(hours=2))
    except Unsupported as why:
        pytest.skip(f"{world.name} cannot hold an unmappable return: {why}")
    after = world.add_return(an_order(world, "#1003"), requested_at=now - timedelta(hours=1))

    page = world.source.poll_requested_returns(None)

    assert sorted(requested_ids(page)) == sorted([before.id, after.id])
    [parked] = page.unmapped
    assert parked.ref == poison and parked.error
    assert page.cursor is not None
    # The cursor moved past it: the next poll does not park it again.
    assert poison not in [u.ref for u in world.source.poll_requested_returns(page.cursor).unmapped]
