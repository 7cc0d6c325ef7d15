"""ShopifyStore against FakeShopify: mapping, paging, polling, and retry-safe actions."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.models import DeliveryStatus, EventKind, Money, ReturnStatus, RiskLevel
from policy.ports import IntegrationError, NotFound, StoreActions, StoreSource

USD = "USD"


def usd(amount: str) -> Money:
    return Money.of(amount, USD)


@pytest.fixture
def seeded(fake, fake_clock):
    now = fake_clock.now()
    customer = fake.add_customer(display_name="Ada Lovelace", email="ada@example.com", tags=["VIP"], created_at=now - timedelta(days=900))
    old_order = fake.add_order(customer_id=customer, created_at=now - timedelta(days=400), line_items=[{"title": "Scarf", "price": "40.00"}])
    order = fake.add_order(
        customer_id=customer,
        created_at=now - timedelta(days=20),
        tags=["wholesale"],
        line_items=[
            {"title": "Boots", "sku": "BOOT-9", "price": "149.00", "product_tags": ["final-sale", "shoes"], "variant_title": "9 / Black"},
            {"title": "Socks", "sku": "SOCK-1", "price": "5.50", "quantity": 3},
        ],
        fulfillments=[
            {
                "display_status": "DELIVERED",
                "created_at": now - timedelta(days=19),
                "in_transit_at": now - timedelta(days=18),
                "delivered_at": now - timedelta(days=15),
                "company": "UPS",
                "number": "1Z999",
            }
        ],
        risk_level="MEDIUM",
        risk_facts=[("Billing address matches", "POSITIVE"), ("Card used on 3 accounts", "NEGATIVE")],
    )
    ret = fake.add_return(
        order,
        line_items=[{"sku": "BOOT-9", "quantity": 1, "reason": "SIZE_TOO_SMALL", "customer_note": "Too small <@channel>"}],
        requested_at=now - timedelta(hours=2),
    )
    return {"customer": customer, "old_order": old_order, "order": order, "return": ret, "now": now}


@pytest.mark.parametrize("port", [StoreSource, StoreActions])
def test_implements_the_ports(store, port):
    assert store.name == "shopify"
    methods = [n for n, v in vars(port).items() if callable(v) and not n.startswith("_")]
    assert methods
    for name in methods:
        wanted = inspect.signature(getattr(port, name))
        got = inspect.signature(getattr(type(store), name))
        for param in wanted.parameters.values():
            assert param.name in got.parameters, f"{name} lacks {param.name}"
            assert got.parameters[param.name].kind == param.kind, f"{name}.{param.name}"


def test_get_return_maps_lines_money_and_times(store, seeded):
    r = store.get_return(seeded["return"])
    assert r.id == seeded["return"]
    assert r.name == "#1002-R1"
    assert r.order_id == seeded["order"]
    assert r.status is ReturnStatus.REQUESTED
    assert r.requested_at == seeded["now"] - timedelta(hours=2)
    assert r.requested_at.tzinfo is timezone.utc
    (line,) = r.line_items
    assert line.title == "Boots" and line.sku == "BOOT-9" and line.quantity == 1
    assert line.unit_price == usd("149.00")
    assert isinstance(line.unit_price.amount, Decimal)
    assert line.reason == "SIZE_TOO_SMALL"
    assert line.reason_note is None  # "" in Shopify
    assert line.customer_note == "Too small <@channel>"  # raw: escaping is the renderer's job
    assert line.product_tags == ("final-sale", "shoes")
    assert line.line_item_id.startswith("gid://shopify/LineItem/")
    assert r.amount == usd("149.00")


def test_requested_at_is_the_returns_created_at(store, fake, seeded, fake_clock):
    # 2025-01 had no time on a return and guessed from the order's timeline; 2026-10 says.
    at = fake_clock.now() - timedelta(days=3, minutes=7)
    other = fake.add_return(seeded["order"], requested_at=at, line_items=[{"sku": "SOCK-1", "quantity": 2}])
    r = store.get_return(other)
    assert r.requested_at == at
    assert r.amount == usd("11.00")
    assert "events" not in " ".join(c.query for c in fake.calls)


def test_get_order_maps_totals_shipments_risk_and_refunds(store, fake, seeded):
    fake.add_refund(seeded["order"], amount="20.00", note="goodwill")
    o = store.get_order(seeded["order"])
    assert o.name == "#1002" and o.number == "1002"
    assert o.currency == USD
    assert o.total == usd("165.50")
    assert o.received == usd("165.50")
    assert o.refunded == usd("20.00")
    assert o.financial_status == "PARTIALLY_REFUNDED"
    assert o.fulfillment_status == "FULFILLED"
    assert o.customer_id == seeded["customer"]
    assert o.email == "ada@example.com"
    assert o.tags == ("wholesale",)
    assert [li.title for li in o.line_items] == ["Boots", "Socks"]
    assert o.line_items[1].quantity == 3 and o.line_items[1].unit_price == usd("5.50")
    assert o.line_items[0].variant_title == "9 / Black"
    (ship,) = o.shipments
    assert ship.status is DeliveryStatus.DELIVERED
    assert ship.carrier == "UPS" and ship.tracking_number == "1Z999"
    assert ship.delivered_at == seeded["now"] - timedelta(days=15)
    assert ship.shipped_at == seeded["now"] - timedelta(days=18)
    assert o.delivered_at == ship.delivered_at
    assert o.risk.level is RiskLevel.MEDIUM
    assert o.risk.facts == ("Card used on 3 accounts", "Billing address matches")  # negative first
    (refund,) = o.refunds
    assert refund.amount == usd("20.00") and refund.note == "goodwill" and refund.order_id == o.id
    assert o.created_at.tzinfo is timezone.utc
    assert o.cancelled_at is None


def test_get_order_pages_through_many_line_items(store, fake):
    order = fake.add_order(line_items=[{"title": f"Item {i}", "price": "1.00"} for i in range(130)])
    o = store.get_order(order)
    assert len(o.line_items) == 130
    assert [li.title for li in o.line_items[:2]] == ["Item 0", "Item 1"]
    assert o.line_items[-1].title == "Item 129"
    assert fake.operations().count("OrderLineItemsPage") == 2  # 20 with the order (2026: cheaper), + 100 + 10


def test_unfulfilled_and_in_transit_shipments(store, fake, fake_clock):
    eta = fake_clock.now() + timedelta(days=2)
    moving = fake.add_order(fulfillments=[{"display_status": "IN_TRANSIT", "estimated_delivery_at": eta}])
    (ship,) = store.get_order(moving).shipments
    assert ship.status is DeliveryStatus.IN_TRANSIT and ship.estimated_delivery_at == eta and ship.delivered_at is None
    waiting = store.get_order(fake.add_order(fulfillments=[], risk_level=None))
    assert waiting.shipments == () and waiting.fulfillment_status == "UNFULFILLED" and waiting.risk is None


def test_get_customer(store, seeded):
    c = store.get_customer(seeded["customer"])
    assert c.display_name == "Ada Lovelace"
    assert c.email == "ada@example.com"
    assert c.tags == ("VIP",)
    assert c.orders_count == 2
    assert c.lifetime_spend == usd("205.50")
    assert c.created_at == seeded["now"] - timedelta(days=900)


def test_customer_history_counts_orders_and_returns_since(store, fake, seeded, fake_clock):
    now = seeded["now"]
    # A return on the old order, requested long ago and recently.
    fake.add_return(seeded["old_order"], requested_at=now - timedelta(days=300))
    fake_clock.advance(10)
    history = store.get_customer_history(seeded["customer"], now - timedelta(days=90))
    assert history.since == now - timedelta(days=90)
    assert history.orders_count == 1
    assert [r.return_id for r in history.returns] == [seeded["return"]]
    (past,) = history.returns
    assert past.amount == usd("149.00")
    assert past.status is ReturnStatus.REQUESTED
    assert past.order_id == seeded["order"]
    assert past.requested_at == now - timedelta(hours=2)
    assert history.first_order_at == now - timedelta(days=400)

    everything = store.get_customer_history(seeded["customer"], now - timedelta(days=500))
    assert everything.orders_count == 2
    assert len(everything.returns) == 2


def test_customer_history_pages_through_orders(store, fake, fake_clock):
    customer = fake.add_customer(display_name="Busy Buyer")
    for i in range(55):
        order = fake.add_order(customer_id=customer, created_at=fake_clock.now() - timedelta(days=5, minutes=i))
        if i % 10 == 0:
            fake.add_return(order)
    history = store.get_customer_history(customer, fake_clock.now() - timedelta(days=30))
    assert history.orders_count == 55
    assert len(history.returns) == 6
    assert fake.operations().count("CustomerHistory") == 2


def test_order_returns(store, fake, seeded, fake_clock):
    fake_clock.advance(30)
    second = fake.add_return(seeded["order"], line_items=[{"sku": "SOCK-1", "quantity": 1, "reason": "DEFECTIVE"}])
    returns = store.get_order_returns(seeded["order"])
    assert [r.id for r in returns] == [seeded["return"], second]
    assert returns[1].line_items[0].reason == "DEFECTIVE"
    assert returns[0].requested_at < returns[1].requested_at
    assert store.get_order_returns(seeded["old_order"]) == []


def test_disputes(store, fake, seeded):
    d1 = fake.add_dispute(seeded["order"], amount="149.00", reason="PRODUCT_NOT_RECEIVED", evidence_due_by="2025-03-15")
    fake.add_dispute(seeded["old_order"])
    disputes = store.order_disputes(seeded["order"])
    assert [d.id for d in disputes] == [d1]
    d = store.get_dispute(d1)
    assert d == disputes[0]
    assert d.order_id == seeded["order"]
    assert d.amount == usd("149.00")
    assert d.reason == "PRODUCT_NOT_RECEIVED"
    assert d.status == "NEEDS_RESPONSE" and d.is_open
    assert d.evidence_due_by == datetime(2025, 3, 15, tzinfo=timezone.utc)
    assert d.initiated_at.tzinfo is timezone.utc
    assert store.order_disputes(fake.add_order()) == []


def test_get_refund(store, fake, seeded):
    refund = fake.add_refund(seeded["order"], amount="12.34", note="damaged box")
    r = store.get_refund(refund)
    assert r.id == refund and r.order_id == seeded["order"]
    assert r.amount == usd("12.34") and r.note == "damaged box"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_return("gid://shopify/Return/1"),
        lambda s: s.get_order("gid://shopify/Order/1"),
        lambda s: s.get_customer("gid://shopify/Customer/1"),
        lambda s: s.get_customer_history("gid://shopify/Customer/1", datetime(2025, 1, 1, tzinfo=timezone.utc)),
        lambda s: s.get_order_returns("gid://shopify/Order/1"),
        lambda s: s.get_dispute("gid://shopify/ShopifyPaymentsDispute/1"),
        lambda s: s.get_refund("gid://shopify/Refund/1"),
        lambda s: s.order_disputes("gid://shopify/Order/1"),
        lambda s: s.get_order("gid://shopify/Customer/7770001"),  # wrong kind
        lambda s: s.get_order("not-an-id"),
    ],
)
def test_unknown_ids_are_not_found(store, seeded, call):
    with pytest.raises(NotFound):
        call(store)


def test_numeric_ids_are_accepted(store, seeded):
    assert store.get_order(seeded["order"].rsplit("/", 1)[1]).id == seeded["order"]


def test_find_orders(store, fake, seeded):
    assert [o.id for o in store.find_orders("1002")] == [seeded["order"]]
    assert [o.id for o in store.find_orders("#1002")] == [seeded["order"]]
    assert [o.id for o in store.find_orders(seeded["order"])] == [seeded["order"]]
    by_email = store.find_orders("ada@example.com")
    assert [o.id for o in by_email] == [seeded["order"], seeded["old_order"]]  # newest first
    assert len(store.find_orders("ada@example.com", limit=1)) == 1
    assert store.find_orders("Ada Lovelace")[0].customer_id == seeded["customer"]
    assert store.find_orders("9999") == []
    assert store.find_orders("gid://shopify/Order/1") == []
    assert store.find_orders("   ") == []
    searches = [c.variables["query"] for c in fake.calls_to("OrderSearch")]
    assert searches[:3] == ["name:1002", "name:1002", "email:ada@example.com"]


def test_poll_new_orders_moves_the_cursor_forward(store, fake, fake_clock):
    first = fake.add_order(created_at=fake_clock.now() - timedelta(hours=3))
    fake.add_order(created_at=fake_clock.now() - timedelta(days=3))  # before the initial look-back
    page = store.poll_new_orders(None)
    assert [(e.kind, e.resource_id) for e in page.events] == [(EventKind.ORDER_CREATED, first)]
    assert page.events[0].order_id == first
    assert page.events[0].occurred_at == fake_clock.now() - timedelta(hours=3)
    cursor1 = page.cursor
    assert cursor1 == (fake_clock.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

    fake_clock.advance(600)
    second = fake.add_order(created_at=fake_clock.now())
    page2 = store.poll_new_orders(cursor1)
    # The overlap repeats the newest order already seen (the caller dedupes); older ones are not re-read.
    assert [e.resource_id for e in page2.events] == [first, second]
    assert page2.cursor > cursor1

    page3 = store.poll_new_orders(page2.cursor)
    assert [e.resource_id for e in page3.events] == [second]
    assert page3.cursor == page2.cursor


def test_poll_with_nothing_new_keeps_a_cursor(store, fake_clock):
    page = store.poll_new_orders(None)
    assert page.events == []
    assert page.cursor == (fake_clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert store.poll_new_orders(page.cursor).cursor == page.cursor


def test_poll_new_orders_pages(store, fake, fake_clock):
    ids = [fake.add_order(created_at=fake_clock.now() - timedelta(minutes=100 - i)) for i in range(60)]
    page = store.poll_new_orders(None)
    assert [e.resource_id for e in page.events] == ids
    assert fake.operations().count("OrdersCreatedSince") == 2


def test_poll_requested_returns(store, fake, seeded, fake_clock):
    page = store.poll_requested_returns(None)
    assert [(e.kind, e.resource_id, e.order_id) for e in page.events] == [
        (EventKind.RETURN_REQUESTED, seeded["return"], seeded["order"])
    ]
    assert page.events[0].detail["name"] == "#1002-R1"
    cursor = page.cursor

    fake_clock.advance(3600)
    other = fake.add_order(customer_id=seeded["customer"])
    newer = fake.add_return(other)
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="k")
    page2 = store.poll_requested_returns(cursor)
    assert [e.resource_id for e in page2.events] == [newer]  # approved ones are not requests any more
    assert page2.cursor > cursor


# --- actions ---------------------------------------------------------------------------------------


def test_approve_changes_state_once(store, fake, seeded):
    first = store.approve_return(seeded["return"], notify_customer=True, idempotency_key="case-1:approve")
    again = store.approve_return(seeded["return"], notify_customer=True, idempotency_key="case-1:approve")
    assert first.ok and again.ok
    assert first.external_id == again.external_id == seeded["return"]
    assert "already" in again.summary
    assert fake.return_status(seeded["return"]) == "OPEN"
    assert [m for m, _ in fake.mutations] == ["returnApproveRequest"]
    # 2026-10's input also has the deprecated `unprocessed` (default false), filled in by the schema
    assert fake.mutations[0][1] == {"id": seeded["return"], "notifyCustomer": True, "unprocessed": False}


def test_approve_after_a_lost_response_is_done_once(store, fake, seeded):
    fake.fail_next(1, status=502, after_execute=True, operation="ReturnApproveRequest")
    with pytest.raises(IntegrationError) as info:
        store.approve_return(seeded["return"], notify_customer=False, idempotency_key="k")
    assert info.value.retryable
    result = store.approve_return(seeded["return"], notify_customer=False, idempotency_key="k")
    assert result.ok and "already" in result.summary
    assert [m for m, _ in fake.mutations] == ["returnApproveRequest"]


def test_approve_a_declined_return_is_refused(store, fake, seeded):
    store.decline_return(seeded["return"], reason="FINAL_SALE", note=None, notify_customer=False, idempotency_key="d")
    with pytest.raises(IntegrationError, match="DECLINED") as info:
        store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    assert info.value.retryable is False


def test_decline_changes_state_once(store, fake, seeded):
    args = dict(reason="FINAL_SALE", note="Final-sale items can't be returned.", notify_customer=True, idempotency_key="d")
    first = store.decline_return(seeded["return"], **args)
    again = store.decline_return(seeded["return"], **args)
    assert first.ok and again.ok and "already" in again.summary
    assert fake.return_status(seeded["return"]) == "DECLINED"
    assert fake.mutations == [
        (
            "returnDeclineRequest",
            {
                "id": seeded["return"],
                "declineReason": "FINAL_SALE",
                "notifyCustomer": True,
                "declineNote": "Final-sale items can't be returned.",
            },
        )
    ]


@pytest.mark.parametrize(
    "reason,note,expected_reason,expected_note",
    [
        ("OTHER", None, "OTHER", None),
        ("outside_window", None, "RETURN_PERIOD_ENDED", None),
        ("Item was worn", None, "OTHER", "Item was worn"),
        ("OTHER", "x" * 600, "OTHER", "x" * 499 + "…"),
    ],
)
def test_decline_reasons_and_notes(store, fake, seeded, reason, note, expected_reason, expected_note):
    store.decline_return(seeded["return"], reason=reason, note=note, notify_customer=False, idempotency_key="d")
    sent = fake.mutations[0][1]
    assert sent["declineReason"] == expected_reason
    assert sent.get("declineNote") == expected_note


def test_decline_an_approved_return_is_refused(store, seeded):
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    with pytest.raises(IntegrationError, match="APPROVED"):
        store.decline_return(seeded["return"], reason="OTHER", note=None, notify_customer=False, idempotency_key="d")


def test_refund_happens_once_for_the_same_key(store, fake, seeded):
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    first = store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=True, idempotency_key="r")
    again = store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=True, idempotency_key="r")
    assert first.ok and again.ok
    assert first.external_id == again.external_id
    assert "already" in again.summary
    (refund,) = fake.refunds_of_return(seeded["return"])
    assert refund["totalRefundedSet"]["shopMoney"] == {"amount": "149.00", "currencyCode": USD}
    # 2026: processed and refunded with returnProcess (returnRefund is deprecated)
    sent = [i for m, i in fake.mutations if m == "returnProcess"]
    assert len(sent) == 1
    sale = next(t for t in fake.transactions.values() if t["kind"] == "SALE" and t["_order"] == seeded["order"])
    assert sent[0]["financialTransfer"]["issueRefund"]["orderTransactions"] == [
        {"parentId": sale["id"], "transactionAmount": {"amount": "149.00", "currencyCode": USD}}
    ]
    assert sent[0]["returnLineItems"][0]["quantity"] == 1
    assert sent[0]["notifyCustomer"] is True
    assert store.get_order(seeded["order"]).refunded == usd("149.00")
    assert fake.return_status(seeded["return"]) == "CLOSED"  # nothing left to process


def test_refund_after_a_timeout_that_went_through_is_not_repeated(store, fake, seeded):
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    fake.timeout_next(1, after_execute=True, operation="ReturnProcess")
    with pytest.raises(IntegrationError) as info:
        store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert info.value.retryable  # the outbox retries the action …
    result = store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert result.ok and "already" in result.summary  # … which finds the refund
    assert len(fake.refunds_of_return(seeded["return"])) == 1
    assert len(fake.calls_to("ReturnProcess")) == 1


def test_refund_before_approval_is_retryable(store, fake, seeded):
    with pytest.raises(IntegrationError, match="approved") as info:
        store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert info.value.retryable
    assert fake.refunds_of_return(seeded["return"]) == []


def test_refund_refuses_a_second_different_refund(store, fake, seeded):
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    fake.add_refund(seeded["order"], amount="50.00", return_id=seeded["return"])
    with pytest.raises(IntegrationError, match="already has refund") as info:
        store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert info.value.retryable is False
    assert len(fake.refunds_of_return(seeded["return"])) == 1


def test_refund_more_than_was_paid_is_refused(store, fake, seeded):
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    fake.add_refund(seeded["order"], amount="100.00")  # not for this return
    with pytest.raises(IntegrationError, match="original payment"):
        store.refund_return(seeded["return"], amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert fake.refunds_of_return(seeded["return"]) == []


def test_refund_in_the_wrong_currency_is_refused(store, seeded):
    store.approve_return(seeded["return"], notify_customer=False, idempotency_key="a")
    with pytest.raises(IntegrationError, match="EUR"):
        store.refund_return(seeded["return"], amount=Money.of("149.00", "EUR"), notify_customer=False, idempotency_key="r")


def test_store_credit_is_issued_once(store, fake, seeded):
    first = store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="case-7:credit")
    again = store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="case-7:credit")
    assert first.ok and again.ok and "already" in again.summary
    assert first.external_id == again.external_id
    assert fake.store_credit_balance(seeded["customer"]) == Decimal("25.00")
    other = store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="case-8:credit")
    assert other.external_id != first.external_id
    assert fake.store_credit_balance(seeded["customer"]) == Decimal("50.00")
    assert [m for m, _ in fake.mutations].count("storeCreditAccountCredit") == 2


def test_store_credit_after_a_lost_response_is_not_repeated(store, fake, seeded):
    fake.fail_next(1, status=500, after_execute=True, operation="StoreCreditAccountCredit")
    with pytest.raises(IntegrationError) as info:
        store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="k")
    assert info.value.retryable
    result = store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="k")
    assert result.ok and "already" in result.summary
    assert result.external_id and "StoreCreditAccountCreditTransaction" in result.external_id
    assert fake.store_credit_balance(seeded["customer"]) == Decimal("25.00")


def test_store_credit_pending_without_a_credit_credits(store, fake, seeded):
    # The reservation landed but the process died before the credit call.
    fake.fail_next(1, status=500, operation="StoreCreditAccountCredit")
    with pytest.raises(IntegrationError):
        store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="k")
    assert fake.store_credit_balance(seeded["customer"]) == Decimal("0")
    assert store.issue_store_credit(seeded["customer"], amount=usd("25.00"), idempotency_key="k").ok
    assert fake.store_credit_balance(seeded["customer"]) == Decimal("25.00")


def test_store_credit_ledger_is_compare_and_set(store, fake, seeded):
    store.issue_store_credit(seeded["customer"], amount=usd("5.00"), idempotency_key="k1")
    digests = [i.get("compareDigest", "absent") for m, i in fake.mutations if m == "metafieldsSet"]
    assert digests[0] is None  # created with "must not exist yet"
    assert all(isinstance(d, str) for d in digests[1:])


def test_unknown_customer_for_store_credit(store):
    with pytest.raises(NotFound):
        store.issue_store_credit("gid://shopify/Customer/1", amount=usd("5.00"), idempotency_key="k")


def test_admin_urls(store, seeded):
    assert store.admin_url(seeded["order"]) == f"https://admin.shopify.com/store/acme-test/orders/{seeded['order'].rsplit('/', 1)[1]}"
    assert store.admin_url(seeded["customer"]).endswith(f"/customers/{seeded['customer'].rsplit('/', 1)[1]}")
    assert store.admin_url(seeded["return"], order_id=seeded["order"]) == store.admin_url(seeded["order"])
    assert store.admin_url("gid://shopify/ShopifyPaymentsDispute/1") == "https://admin.shopify.com/store/acme-test"


def test_ping(store):
    assert store.ping() == "Acme Test Store (acme-test.myshopify.com, USD), Admin API 2026-10"
    assert store.api_version_note is None


def test_no_document_was_rejected(store, fake, seeded):
    store.get_return(seeded["return"])
    store.get_order(seeded["order"])
    store.get_customer_history(seeded["customer"], seeded["now"] - timedelta(days=30))
    assert fake.invalid_documents == []


# --- over real HTTP --------------------------------------------------------------------------------


def test_over_http_with_the_fake_server(fake, seeded):
    with fake.serve() as base_url:
        with ShopifyGraphQL(fake.graphql_url(base_url), fake.access_token, timeout=5) as client:
            store = ShopifyStore(client, shop_domain=fake.shop_domain)
            r = store.get_return(seeded["return"])
            assert r.amount == usd("149.00")
            assert store.get_order(r.order_id).customer_id == seeded["customer"]
        with ShopifyGraphQL(fake.graphql_url(base_url), "shpat_wrong", timeout=5) as bad:
            with pytest.raises(IntegrationError, match="rejected the access token") as info:
                ShopifyStore(bad, shop_domain=fake.shop_domain).get_order(seeded["order"])
            assert info.value.retryable is False
            assert "shpat_wrong" not in str(info.value)
        wrong_path = httpx.post(f"{base_url}/admin/api/2026-10/other.json", json={})
        assert wrong_path.status_code == 404


# --- first poll, and items a poll cannot map ----------------------------------------------------


def test_the_first_poll_catches_every_open_return_request_whatever_its_age(store, fake, fake_clock):
    now = fake_clock.now()
    old_order = fake.add_order(created_at=now - timedelta(days=40))
    old = fake.add_return(old_order, requested_at=now - timedelta(days=12))  # before returnsbot was installed
    recent_order = fake.add_order(created_at=now - timedelta(days=3))
    recent = fake.add_return(recent_order, requested_at=now - timedelta(hours=5))
    decided_order = fake.add_order(created_at=now - timedelta(days=30))
    fake.add_return(decided_order, requested_at=now - timedelta(days=20), status="OPEN")  # approved already
    page = store.poll_requested_returns(None)
    assert [e.resource_id for e in page.events] == [old, recent]
    assert page.cursor == max(fake.orders[o]["updatedAt"] for o in (old_order, recent_order))

    # Later polls keep using the cursor: the old request is not read again.
    fake_clock.advance(600)
    newer = fake.add_return(fake.add_order(created_at=fake_clock.now()))
    page2 = store.poll_requested_returns(page.cursor)
    assert old not in [e.resource_id for e in page2.events]
    assert newer in [e.resource_id for e in page2.events]
    [first, second] = fake.calls_to("OrdersWithRequestedReturns")
    assert "updated_at" not in first.variables["query"]
    assert "updated_at:>=" in second.variables["query"]


def test_a_return_that_cannot_be_mapped_is_set_aside_and_the_poll_goes_on(store, fake, fake_clock):
    now = fake_clock.now()
    orders = [fake.add_order(created_at=now - timedelta(days=5)) for _ in range(3)]
    good1 = fake.add_return(orders[0], requested_at=now - timedelta(hours=3))
    poison = fake.add_return(orders[1], requested_at=now - timedelta(hours=2))
    good2 = fake.add_return(orders[2], requested_at=now - timedelta(hours=1))
    fake.returns[poison]["id"] = "gid://shopify/Order/404"  # not a return id: nothing could fetch it
    page = store.poll_requested_returns(None)
    assert [e.resource_id for e in page.events] == [good1, good2]
    [parked] = page.unmapped
    assert parked.ref == "gid://shopify/Order/404" and "Return" in parked.error
    # The cursor moves past the poison item (its order's time still counts), not stuck before it.
    assert page.cursor == (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_order_whose_time_cannot_be_read_is_set_aside_with_its_returns(store, fake, fake_clock):
    now = fake_clock.now()
    first = fake.add_order(created_at=now - timedelta(days=5))
    bad = fake.add_order(created_at=now - timedelta(days=5))
    good = fake.add_return(first, requested_at=now - timedelta(hours=3))
    poison = fake.add_return(bad, requested_at=now - timedelta(hours=2))
    fake.orders[bad]["updatedAt"] = "yesterday-ish"
    page = store.poll_requested_returns(None)
    assert [e.resource_id for e in page.events] == [good]
    assert [u.ref for u in page.unmapped] == [poison]
    assert "yesterday-ish" in page.unmapped[0].error
    assert page.cursor == (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_new_order_that_cannot_be_mapped_is_set_aside(store, fake, fake_clock):
    now = fake_clock.now()
    ids = [fake.add_order(created_at=now - timedelta(hours=3 - i)) for i in range(3)]
    fake.orders[ids[1]]["id"] = "not-a-gid"
    page = store.poll_new_orders(None)
    assert [e.resource_id for e in page.events] == [ids[0], ids[2]]
    assert [u.ref for u in page.unmapped] == ["not-a-gid"]
    assert page.cursor == (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
