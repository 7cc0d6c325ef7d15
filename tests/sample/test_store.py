"""SampleStore: loading, lookups, history, polling, events and actions."""

from __future__ import annotations

import inspect
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from integrations.sample import SampleDataError, SampleStore, generate
from policy.models import (
    DeliveryStatus,
    EventKind,
    Money,
    ReturnStatus,
    RiskLevel,
)
from policy.ports import IntegrationError, NotFound, StoreActions, StoreSource
from tests.sample.helpers import NOW, ago, order_named


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def every_object(store: SampleStore) -> list[BaseModel]:
    s = store._state
    customers = [store.get_customer(c) for c in s.customers]
    return [*s.orders.values(), *customers, *s.returns.values(), *s.disputes.values(), *s.refunds.values()]


def walk_model(value: Any):
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from walk_model(getattr(value, name))
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from walk_model(v)
    else:
        yield value


# --- loading ------------------------------------------------------------------------------


def test_implements_the_ports_with_the_same_signatures():
    for port in (StoreSource, StoreActions):
        for name, member in vars(port).items():
            if name.startswith("_") or not callable(member):
                continue
            ours = inspect.signature(getattr(SampleStore, name))
            theirs = inspect.signature(member)
            assert list(ours.parameters) == list(theirs.parameters), name
            for p in theirs.parameters.values():
                assert ours.parameters[p.name].kind == p.kind, (name, p.name)
    assert SampleStore.name == "sample"


def test_loads_the_bundled_json_relative_to_now(store):
    s = store._state
    assert (len(s.customers), len(s.orders), len(s.returns), len(s.disputes)) == (20, 51, 26, 2)
    noah = order_named(store, "#1051")
    assert noah.created_at == NOW - timedelta(days=0.4)
    assert noah.total == usd("1337.00") and noah.fulfillment_status == "UNFULFILLED"
    # the same data loaded a year later has moved with it
    later = SampleStore.load(now=NOW + timedelta(days=365))
    assert order_named(later, "#1051").created_at == NOW + timedelta(days=365 - 0.4)


def test_every_object_validates_money_decimal_and_aware_utc_times(store):
    moneys = datetimes = 0
    for obj in every_object(store):
        for value in walk_model(obj):
            if isinstance(value, Money):
                moneys += 1
                assert isinstance(value.amount, Decimal) and value.currency == "USD"
                assert value.amount == value.quantized()
            elif isinstance(value, datetime):
                datetimes += 1
                assert value.utcoffset() == timedelta(0) and value.tzinfo is timezone.utc
        type(obj).model_validate(obj.model_dump())  # round-trips through validation
    assert moneys > 250 and datetimes > 200


def test_default_now_is_the_current_time():
    before = datetime.now(timezone.utc)
    store = SampleStore.load()
    assert before <= store.now <= datetime.now(timezone.utc)
    assert order_named(store, "#1051").created_at == store.now - timedelta(days=0.4)


def test_explicit_path_and_naive_now(tmp_path):
    path = tmp_path / "copy.json"
    path.write_text(generate.render(), encoding="utf-8")
    assert len(SampleStore.load(path, now=NOW).find_orders("maya.chen@example.com")) == 1
    with pytest.raises(ValueError, match="timezone-aware"):
        SampleStore.load(now=datetime(2025, 6, 1, 12))


def test_inconsistent_data_is_refused(tmp_path):
    data = generate.build()
    data["orders"][0]["total"] = "99.00"
    with pytest.raises(SampleDataError, match=r"#1001: total 99.00 but items \+ shipping come to 106.00"):
        SampleStore(data, now=NOW)
    data = generate.build()
    data["returns"][0]["line_items"][0]["line_item_id"] = data["orders"][0]["line_items"][0]["id"]
    with pytest.raises(SampleDataError, match="is not on its order"):
        SampleStore(data, now=NOW)
    data = generate.build()
    data["orders"][0]["line_items"][0]["unit_price"] = 98.0
    with pytest.raises(SampleDataError, match="decimal string"):
        SampleStore(data, now=NOW)


# --- lookups ------------------------------------------------------------------------------


def test_find_orders_by_number_hash_gid_email_and_name(store):
    omar = store.get_order("gid://shopify/Order/5001000036")
    assert omar.name == "#1036"
    assert store.find_orders("1036") == [omar]
    assert store.find_orders("#1036") == [omar]
    assert store.find_orders("  #1036 ") == [omar]
    assert store.find_orders("gid://shopify/Order/5001000036") == [omar]
    priya = [o.name for o in store.find_orders("Priya.Raman@example.com", limit=10)]
    assert priya == ["#1038", "#1030", "#1024", "#1009", "#1004"]  # newest first
    assert [o.name for o in store.find_orders("priya.raman@example.com", limit=2)] == ["#1038", "#1030"]
    tasha = store.find_orders("tasha")
    assert [o.name for o in tasha] == ["#1043", "#1032", "#1026", "#1021", "#1014"]  # 5 of her 6
    assert store.find_orders(tasha[0].customer_id, limit=10)[-1].name == "#1011"
    assert [o.name for o in store.find_orders("trailrunner77@example.net")] == ["#1013"]  # a guest


@pytest.mark.parametrize("query", ["9999", "#0", "nobody@example.com", "gid://shopify/Order/1", "zzz", "", "   "])
def test_find_orders_without_a_match_is_empty(store, query):
    assert store.find_orders(query) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_order("gid://shopify/Order/1"),
        lambda s: s.get_order("#1001"),
        lambda s: s.get_return("gid://shopify/Return/1"),
        lambda s: s.get_customer("gid://shopify/Customer/1"),
        lambda s: s.get_dispute("gid://shopify/ShopifyPaymentsDispute/1"),
        lambda s: s.get_refund("gid://shopify/Refund/1"),
        lambda s: s.get_order_returns("gid://shopify/Order/1"),
        lambda s: s.order_disputes("gid://shopify/Order/1"),
        lambda s: s.get_customer_history("gid://shopify/Customer/1", NOW),
        lambda s: s.store_credit_balance("gid://shopify/Customer/1"),
    ],
)
def test_unknown_ids_raise_not_found(store, call):
    with pytest.raises(NotFound):
        call(store)


def test_an_order_a_person_would_look_at(store):
    omar = order_named(store, "#1036")
    assert [(li.title, li.quantity, li.unit_price) for li in omar.line_items] == [
        ("Packable Rain Jacket", 1, usd("129.00")),
        ("Merino Hiking Socks (2-pack)", 1, usd("24.00")),
    ]
    assert (omar.total, omar.received, omar.refunded) == (usd("153.00"), usd("153.00"), usd("100.00"))
    assert omar.received - omar.refunded == usd("53.00")
    assert omar.financial_status == "PARTIALLY_REFUNDED"
    assert omar.refunds[0].note == "Goodwill: zipper pull broke in the first week; customer keeps the jacket"
    assert omar.delivered_at == ago(18.5)
    assert omar.risk is not None and omar.risk.level is RiskLevel.LOW

    hannah = order_named(store, "#1047")
    (shipment,) = hannah.shipments
    assert shipment.status is DeliveryStatus.IN_TRANSIT and shipment.delivered_at is None
    assert shipment.shipped_at == ago(2.8) and shipment.estimated_delivery_at == NOW + timedelta(days=1.5)
    assert shipment.tracking_number and shipment.tracking_url and shipment.tracking_number in shipment.tracking_url

    kevin = order_named(store, "#1040")
    assert kevin.risk.level is RiskLevel.HIGH
    assert kevin.risk.facts[0] == "Billing address does not match the shipping address"

    jamal = order_named(store, "#1031")
    assert "extended-returns" in jamal.line_items[0].product_tags
    softshell = order_named(store, "#1045").line_items[0]
    assert softshell.title == "Last-Season Softshell" and {"final-sale", "clearance"} <= set(softshell.product_tags)

    guest = order_named(store, "#1013")
    assert guest.customer_id is None and guest.email == "trailrunner77@example.net"


def test_returns_of_an_order_and_what_they_carry(store):
    grace = order_named(store, "#1033")
    returns = store.get_order_returns(grace.id)
    assert [(r.name, r.status, r.amount) for r in returns] == [
        ("#1033-R1", ReturnStatus.CLOSED, usd("139.00")),
        ("#1033-R2", ReturnStatus.REQUESTED, usd("49.00")),
    ]
    assert returns[1].line_items[0].reason == "DEFECTIVE"
    assert store.get_order_returns(order_named(store, "#1051").id) == []

    (omar,) = store.get_order_returns(order_named(store, "#1036").id)
    note = omar.line_items[0].customer_note
    assert note == "@here I was promised the rest of my money & nobody answers. Photos: <https://evil.example|click>"
    (maya,) = store.get_order_returns(order_named(store, "#1044").id)
    assert [(li.title, li.quantity, li.reason) for li in maya.line_items] == [
        ("Trucker Cap", 1, "COLOR"),
        ("Merino Hiking Socks (2-pack)", 1, "UNWANTED"),  # one of the two packs
    ]
    assert maya.amount == usd("52.00") and maya.requested_at == ago(0.9)


def test_disputes_and_refunds(store):
    (dispute,) = store.order_disputes(order_named(store, "#1037").id)
    assert (dispute.status, dispute.reason, dispute.amount, dispute.is_open) == (
        "NEEDS_RESPONSE", "PRODUCT_UNACCEPTABLE", usd("313.00"), True
    )
    assert dispute.evidence_due_by == NOW + timedelta(days=5.6)
    assert store.get_dispute(dispute.id) == dispute
    (won,) = store.order_disputes(order_named(store, "#1007").id)
    assert won.status == "WON" and not won.is_open
    assert store.order_disputes(order_named(store, "#1036").id) == []

    isabel = order_named(store, "#1035")
    (refund,) = isabel.refunds
    assert store.get_refund(refund.id) == refund
    assert (refund.amount, refund.created_at) == (usd("649.00"), ago(1.5))
    assert isabel.financial_status == "REFUNDED"


def test_customers(store):
    def customer(email: str):
        return store.get_customer(store.find_orders(email)[0].customer_id)

    marcus = customer("marcus.webb@example.org")
    assert (marcus.display_name, marcus.tags, marcus.orders_count, marcus.lifetime_spend) == (
        "Marcus Webb", (), 4, usd("2145.00")
    )
    priya = customer("priya.raman@example.com")
    assert priya.tags == ("VIP",) and priya.lifetime_spend == usd("1068.00")  # net of her $79 refund
    isabel = customer("isabel.moreno@example.com")
    assert isabel.lifetime_spend == usd("109.65")  # the $649 parka was refunded
    assert customer("sofia.alvarez@example.com").display_name == "Sofía Álvarez"
    maya = customer("maya.chen@example.com")
    assert maya.created_at == ago(14) and maya.orders_count == 1


# --- history ------------------------------------------------------------------------------


def test_history_counts_orders_and_returns_since(store):
    tasha = order_named(store, "#1043").customer_id
    year = store.get_customer_history(tasha, ago(365))
    assert year.since == ago(365) and year.orders_count == 6
    assert [r.status for r in year.returns] == [
        ReturnStatus.CLOSED, ReturnStatus.CLOSED, ReturnStatus.DECLINED, ReturnStatus.CLOSED,
        ReturnStatus.APPROVED, ReturnStatus.REQUESTED,  # the last is the request under review
    ]
    assert year.returns[0].amount == usd("289.00") and year.returns[0].requested_at == ago(288)
    assert year.first_order_at == ago(300)
    recent = store.get_customer_history(tasha, ago(100))
    assert recent.orders_count == 3 and len(recent.returns) == 3
    assert recent.first_order_at == ago(300)  # the first order ever, not in the period

    daniel = order_named(store, "#1042").customer_id
    d = store.get_customer_history(daniel, ago(365))
    assert d.orders_count == 3 and [r.status for r in d.returns] == [ReturnStatus.CLOSED, ReturnStatus.REQUESTED]

    noah = order_named(store, "#1051").customer_id
    n = store.get_customer_history(noah, ago(365))
    assert (n.orders_count, n.returns, n.first_order_at) == (1, (), ago(0.4))

    with pytest.raises(ValueError, match="timezone-aware"):
        store.get_customer_history(tasha, datetime(2025, 1, 1))


# --- polling and events -------------------------------------------------------------------


def test_poll_requested_returns_once_each(store):
    page = store.poll_requested_returns(None)
    assert len(page.events) == 16
    assert {e.kind for e in page.events} == {EventKind.RETURN_REQUESTED}
    assert {e.source for e in page.events} == {"shopify"}
    times = [e.occurred_at for e in page.events]
    assert times == sorted(times)
    assert page.cursor == times[-1].isoformat() == ago(0.3).isoformat()
    first = page.events[0]
    assert (first.detail["name"], first.order_id) == ("#1034-R1", order_named(store, "#1034").id)
    assert store.get_return(first.resource_id).status is ReturnStatus.REQUESTED

    again = store.poll_requested_returns(page.cursor)
    assert again.events == [] and again.cursor == page.cursor

    # catching up from a cursor in the middle sees the rest, each once
    middle = page.events[6].occurred_at.isoformat()
    rest = store.poll_requested_returns(middle)
    assert rest.events == page.events[7:]
    assert rest.cursor == page.cursor


def test_poll_sees_only_returns_still_waiting(store):
    page = store.poll_requested_returns(None)
    store.approve_return(page.events[0].resource_id, notify_customer=False, idempotency_key="k1")
    assert len(store.poll_requested_returns(None).events) == 15


def test_poll_new_orders(store):
    page = store.poll_new_orders(None)
    assert [e.detail["name"] for e in page.events] == ["#1047", "#1048", "#1049", "#1050", "#1051"]
    assert {e.kind for e in page.events} == {EventKind.ORDER_CREATED}
    assert all(e.resource_id == e.order_id for e in page.events)
    assert page.cursor == ago(0.4).isoformat()
    newer = store.poll_new_orders(ago(1).isoformat().replace("+00:00", "Z"))  # "Z" is fine too
    assert [e.detail["name"] for e in newer.events] == ["#1050", "#1051"]
    assert store.poll_new_orders(page.cursor).events == []


@pytest.mark.parametrize("cursor", ["yesterday", "2025-06-01T10:00:00"])
def test_bad_cursors_are_refused(store, cursor):
    with pytest.raises(ValueError):
        store.poll_new_orders(cursor)


def test_events_are_the_feed_in_order(store):
    events = store.events()
    kinds = [e.kind for e in events]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        EventKind.RETURN_REQUESTED: 16, EventKind.ORDER_CREATED: 5,
        EventKind.DISPUTE_CREATED: 1, EventKind.REFUND_CREATED: 1,
    }
    times = [e.occurred_at for e in events]
    assert times == sorted(times) and ago(7) <= times[0] and times[-1] <= NOW
    (refund,) = [e for e in events if e.kind is EventKind.REFUND_CREATED]
    assert refund.detail == {"amount": "649.00", "currency": "USD"}
    assert store.get_refund(refund.resource_id).order_id == refund.order_id == order_named(store, "#1035").id
    (dispute,) = [e for e in events if e.kind is EventKind.DISPUTE_CREATED]
    assert dispute.detail["status"] == "NEEDS_RESPONSE" and dispute.order_id == order_named(store, "#1037").id
    # the polls are slices of the same feed
    polled = store.poll_requested_returns(None).events + store.poll_new_orders(None).events
    assert sorted(polled, key=events.index) == [e for e in events if e.kind in (EventKind.RETURN_REQUESTED, EventKind.ORDER_CREATED)]


# --- actions ------------------------------------------------------------------------------


def requested(store: SampleStore, order_name: str):
    (ret,) = [r for r in store.get_order_returns(order_named(store, order_name).id) if r.status is ReturnStatus.REQUESTED]
    return ret


def test_approve_then_refund(store, store_clock):
    maya = requested(store, "#1044")
    result = store.approve_return(maya.id, notify_customer=True, idempotency_key="case-1:approve")
    assert (result.ok, result.summary, result.external_id) == (True, "return #1044-R1 approved; customer notified", maya.id)
    assert store.get_return(maya.id).status is ReturnStatus.APPROVED

    store_clock.advance(minutes=3)
    refund = store.refund_return(maya.id, amount=usd("52.00"), notify_customer=True, idempotency_key="case-1:refund")
    assert refund.summary == "refund $52.00 issued; customer notified"
    order = store.get_order(maya.order_id)
    assert order.refunded == usd("52.00") and order.financial_status == "PARTIALLY_REFUNDED"
    assert order.refunds[-1].id == refund.external_id
    made = store.get_refund(refund.external_id)
    assert (made.amount, made.created_at, made.note) == (usd("52.00"), NOW + timedelta(minutes=3), "Refund for return #1044-R1")
    customer = store.get_customer(order.customer_id)
    assert customer.lifetime_spend == usd("32.00")  # $84.00 paid, $52.00 back
    # the refund is in the feed, like a refunds/create webhook would be
    assert store.events()[-1].resource_id == refund.external_id


def test_same_key_twice_does_the_work_once(store):
    maya = requested(store, "#1044")
    first = store.approve_return(maya.id, notify_customer=False, idempotency_key="k-approve")
    assert store.approve_return(maya.id, notify_customer=False, idempotency_key="k-approve") == first
    r1 = store.refund_return(maya.id, amount=usd("20.00"), notify_customer=False, idempotency_key="k-refund")
    r2 = store.refund_return(maya.id, amount=usd("20.00"), notify_customer=False, idempotency_key="k-refund")
    assert r1 == r2
    assert store.get_order(maya.order_id).refunded == usd("20.00")
    assert [(c.method, c.replayed, c.error is None) for c in store.calls] == [
        ("approve_return", False, True), ("approve_return", True, True),
        ("refund_return", False, True), ("refund_return", True, True),
    ]
    assert store.calls[0].params == {"notify_customer": False} and store.calls[0].target_id == maya.id


def test_same_key_for_a_different_request_is_refused(store):
    maya = requested(store, "#1044")
    store.approve_return(maya.id, notify_customer=False, idempotency_key="k")
    with pytest.raises(IntegrationError, match="already used for a different request") as exc:
        store.decline_return(maya.id, reason="OTHER", note=None, notify_customer=False, idempotency_key="k")
    assert exc.value.retryable is False
    assert store.get_return(maya.id).status is ReturnStatus.APPROVED


def test_approving_what_is_not_requested_is_refused(store):
    maya = requested(store, "#1044")
    store.approve_return(maya.id, notify_customer=False, idempotency_key="a")
    with pytest.raises(IntegrationError, match="cannot approve return #1044-R1: it is APPROVED, not REQUESTED") as exc:
        store.approve_return(maya.id, notify_customer=False, idempotency_key="b")
    assert exc.value.retryable is False and exc.value.system == "sample"
    closed = store.get_order_returns(order_named(store, "#1033").id)[0]
    with pytest.raises(IntegrationError, match="it is CLOSED"):
        store.approve_return(closed.id, notify_customer=False, idempotency_key="c")
    assert [c.error is not None for c in store.calls] == [False, True, True]


def test_decline(store):
    ben = requested(store, "#1045")
    result = store.decline_return(ben.id, reason="FINAL_SALE", note="Final-sale items can't be returned",
                                  notify_customer=False, idempotency_key="d1")
    assert result.summary == "return #1045-R1 declined (FINAL_SALE)"
    assert store.get_return(ben.id).status is ReturnStatus.DECLINED
    with pytest.raises(IntegrationError, match="it is DECLINED"):
        store.approve_return(ben.id, notify_customer=False, idempotency_key="d2")
    zoe = requested(store, "#1029")
    with pytest.raises(IntegrationError, match="decline reason must be one of FINAL_SALE, OTHER, OUTSIDE_WINDOW"):
        store.decline_return(zoe.id, reason="TOO_LATE", note=None, notify_customer=False, idempotency_key="d3")
    assert store.get_return(zoe.id).status is ReturnStatus.REQUESTED


def test_refund_rules(store):
    sofia = requested(store, "#1039")
    with pytest.raises(IntegrationError, match="it is REQUESTED, not OPEN; approve it first"):
        store.refund_return(sofia.id, amount=usd("649.00"), notify_customer=False, idempotency_key="r0")
    store.approve_return(sofia.id, notify_customer=False, idempotency_key="r1")
    with pytest.raises(IntegrationError, match=r"exceeds what is left on return #1039-R1 \(\$649.00 of \$649.00\)"):
        store.refund_return(sofia.id, amount=usd("650.00"), notify_customer=False, idempotency_key="r2")
    with pytest.raises(IntegrationError, match="does not match"):
        store.refund_return(sofia.id, amount=Money.of("10.00", "EUR"), notify_customer=False, idempotency_key="r3")
    with pytest.raises(IntegrationError, match="must be positive"):
        store.refund_return(sofia.id, amount=usd("0.00"), notify_customer=False, idempotency_key="r4")
    store.refund_return(sofia.id, amount=usd("600.00"), notify_customer=False, idempotency_key="r5")
    store.refund_return(sofia.id, amount=usd("49.00"), notify_customer=False, idempotency_key="r6")
    with pytest.raises(IntegrationError, match=r"\(\$0.00 of \$649.00\)"):
        store.refund_return(sofia.id, amount=usd("0.01"), notify_customer=False, idempotency_key="r7")
    assert store.get_order(sofia.order_id).financial_status == "REFUNDED"
    with pytest.raises(NotFound):
        store.refund_return("gid://shopify/Return/1", amount=usd("1.00"), notify_customer=False, idempotency_key="r8")


def test_refund_cannot_exceed_what_is_left_on_the_order(store):
    omar = requested(store, "#1036")
    store.approve_return(omar.id, notify_customer=False, idempotency_key="o1")
    with pytest.raises(IntegrationError, match=r"refund \$129.00 exceeds the \$53.00 left to refund on order #1036") as exc:
        store.refund_return(omar.id, amount=usd("129.00"), notify_customer=False, idempotency_key="o2")
    assert exc.value.retryable is False
    assert store.refund_return(omar.id, amount=usd("53.00"), notify_customer=False, idempotency_key="o3").ok
    assert store.get_order(omar.order_id).financial_status == "REFUNDED"


def test_store_credit(store):
    priya = order_named(store, "#1030").customer_id
    assert store.store_credit_balance(priya) == usd("0")
    result = store.issue_store_credit(priya, amount=usd("389.00"), idempotency_key="c1")
    assert result.summary == "store credit $389.00 issued to Priya Raman"
    assert result.external_id.startswith("gid://shopify/StoreCreditAccountCreditTransaction/")
    assert store.issue_store_credit(priya, amount=usd("389.00"), idempotency_key="c1") == result
    assert store.store_credit_balance(priya) == usd("389.00")
    store.issue_store_credit(priya, amount=usd("10.50"), idempotency_key="c2")
    assert store.store_credit_balance(priya) == usd("399.50")
    with pytest.raises(NotFound):
        store.issue_store_credit("gid://shopify/Customer/1", amount=usd("1.00"), idempotency_key="c3")
    with pytest.raises(IntegrationError, match="must be positive"):
        store.issue_store_credit(priya, amount=usd("-5.00"), idempotency_key="c4")
    assert store.calls[-2].error and store.calls[-1].error


def test_an_idempotency_key_is_required(store):
    with pytest.raises(ValueError):
        store.approve_return(requested(store, "#1044").id, notify_customer=False, idempotency_key="")


def test_a_fresh_load_forgets_every_action(store):
    maya = requested(store, "#1044")
    store.approve_return(maya.id, notify_customer=False, idempotency_key="x")
    assert SampleStore.load(now=NOW).get_return(maya.id).status is ReturnStatus.REQUESTED


# --- threads ------------------------------------------------------------------------------


def run_together(n: int, work) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    return results


def test_concurrent_retries_with_one_key_act_once(store):
    chloe = requested(store, "#1046")
    results = run_together(16, lambda i: store.approve_return(chloe.id, notify_customer=True, idempotency_key="same"))
    assert all(r == results[0] for r in results) and results[0].ok
    assert sum(not c.replayed for c in store.calls) == 1


def test_concurrent_decisions_with_different_keys_only_one_wins(store):
    chloe = requested(store, "#1046")
    results = run_together(16, lambda i: store.approve_return(chloe.id, notify_customer=True, idempotency_key=f"k{i}"))
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, IntegrationError) and not r.retryable for r in results if isinstance(r, Exception))


def test_concurrent_refunds_never_pay_more_than_the_return(store):
    daniel = requested(store, "#1042")
    store.approve_return(daniel.id, notify_customer=False, idempotency_key="a")
    results = run_together(
        12, lambda i: store.refund_return(daniel.id, amount=usd("40.00"), notify_customer=False, idempotency_key=f"r{i}")
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3  # 3 x $40 <= $149 < 4 x $40
    assert store.get_order(daniel.order_id).refunded == usd("120.00")
    assert len({r.external_id for r in results if not isinstance(r, Exception)}) == 3


def test_readers_and_writers_share_one_store(store):
    ids = [e.resource_id for e in store.poll_requested_returns(None).events]

    def work(i: int):
        if i % 2:
            return store.approve_return(ids[i // 2], notify_customer=False, idempotency_key=f"w{i}")
        return len(store.events()), store.find_orders("tasha"), store.poll_requested_returns(None)

    results = run_together(32, work)
    assert not [r for r in results if isinstance(r, Exception)]
    assert store.poll_requested_returns(None).events == []



# --- first poll, and items a poll cannot map --------------------------------------------------------


def test_the_first_poll_catches_every_open_return_request_whatever_its_age():
    data = generate.build()
    old = next(r for r in data["returns"] if r["name"] == "#1030-R1")
    old["requested_days_ago"] = 20.0  # before the event log starts: "before returnsbot was installed"
    store = SampleStore(data, now=NOW)
    assert old["id"] not in [e.resource_id for e in store.events()]  # not in the feed…
    page = store.poll_requested_returns(None)
    assert old["id"] in [e.resource_id for e in page.events]  # …but waiting, so the first poll has it
    assert len(page.events) == 16
    assert store.poll_requested_returns(page.cursor).events == []  # later polls use the cursor


def test_a_return_that_cannot_be_mapped_is_set_aside_and_the_poll_goes_on(store):
    from policy.models import ReturnRequest

    good = store.poll_requested_returns(None)
    poison_id = good.events[3].resource_id
    broken = store._state.returns[poison_id].model_copy()
    object.__setattr__(broken, "requested_at", "last tuesday")  # what no mapping can turn into a time
    store._state.returns[poison_id] = broken
    assert isinstance(broken, ReturnRequest)
    page = store.poll_requested_returns(None)
    assert [e.resource_id for e in page.events] == [e.resource_id for e in good.events if e.resource_id != poison_id]
    [parked] = page.unmapped
    assert parked.ref == poison_id and "last tuesday" in parked.error
    assert page.cursor == good.cursor  # moved past it, to the newest it could read
