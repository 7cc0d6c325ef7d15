"""Shopify 2026-10's return surface through ShopifyStore and FakeShopify: request times and
reasons, returnProcess (dispositions, exchanges, multi-currency, shipping), refundCreate
with @idempotent, and what a new case costs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from bench.shopify_cost import LOOKBACK_DAYS, measure
from bot.services.context import assemble
from integrations.shopify import documents as doc
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore, shopify_idempotency_key
from policy.models import DomainEvent, EventKind, Money
from policy.ports import IntegrationError
from tests.fakes.shopify import MAX_QUERY_COST

USD = "USD"


def usd(amount: str) -> Money:
    return Money.of(amount, USD)


def post(fake, query: str, variables: dict) -> dict:
    with fake.http_client() as http:
        return http.post(fake.graphql_url(), json={"query": query, "variables": variables},
                         headers={"X-Shopify-Access-Token": fake.access_token}).json()


def approved(fake, store, **order_kw):
    order = fake.add_order(**order_kw)
    ret = fake.add_return(order)
    store.approve_return(ret, notify_customer=False, idempotency_key="approve")
    return order, ret


def sale_of(fake, order: str) -> dict:
    return next(t for t in fake.transactions.values() if t["kind"] == "SALE" and t["_order"] == order)


def sent(fake, mutation: str) -> list[dict]:
    return [i for m, i in fake.mutations if m == mutation]


# --- request time and reasons --------------------------------------------------------------------


@pytest.mark.parametrize(
    "handle,legacy,expected",
    [
        ("size-too-small", "SIZE_TOO_SMALL", "SIZE_TOO_SMALL"),  # a legacy value spelled as a handle
        ("too-tight", "OTHER", "SIZE_TOO_SMALL"),  # the definition wins over the deprecated field
        ("changed-my-mind", "UNKNOWN", "UNWANTED"),
        ("damaged", "OTHER", "DEFECTIVE"),
        ("arrived-late", "OTHER", "arrived-late"),  # no legacy equivalent: passes through
        ("Color-Too-Bright", "COLOR", "color-too-bright"),
        (None, "DEFECTIVE", "DEFECTIVE"),  # no definition (an older return): the deprecated field
    ],
)
def test_reason_from_the_definition_falling_back_to_the_deprecated_field(store, fake, handle, legacy, expected):
    ret = fake.add_return(fake.add_order(), reason=legacy, reason_handle=handle)
    (line,) = store.get_return(ret).line_items
    assert line.reason == expected


def test_requested_at_for_polled_returns_is_created_at(store, fake, fake_clock):
    at = fake_clock.now() - timedelta(hours=5)
    ret = fake.add_return(fake.add_order(), requested_at=at)
    (event,) = store.poll_requested_returns(None).events
    assert event.resource_id == ret and event.occurred_at == at


# --- what a new case costs --------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [{}, {"dispute": True}, {"kind": "order"}])
def test_a_new_case_costs_at_most_three_documents_under_1000_points(scenario):
    # Before 2026-10: 7-8 documents and about 2,100 points for the same case (bench/README.md).
    r = measure(**scenario)
    assert r["invalid"] == 0
    assert r["documents"] <= 3, r["operations"]
    assert r["requested"] < 1000, r["operations"]


def test_a_busy_customer_costs_more_but_far_less_than_before():
    # 50 orders and 18 returns in the look-back year: the recent ten orders do not reach
    # back, so the history is paged, and every return in it is read (9 documents, 3,415
    # points before). A regression guard, not the target.
    r = measure(busy=True)
    assert r["invalid"] == 0
    assert r["documents"] <= 4 and r["requested"] < 1500, r["operations"]


def test_ingesting_one_new_return_is_one_document_and_few_points(fake, store, fake_clock):
    # A first-time customer: everything comes with the return.
    order = fake.add_order(customer_id=fake.add_customer())
    ret = fake.add_return(order)
    event = DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ret, order_id=order)
    ctx = assemble(event, store, now=fake_clock.now(), lookback_days=LOOKBACK_DAYS)
    assert ctx.return_request.id == ret and ctx.customer is not None
    assert [c.operation for c in fake.calls] == ["ReturnCase"]
    assert sum(c.cost for c in fake.calls) < 1000


def test_the_read_ahead_context_is_the_one_fresh_reads_give(fake, fake_clock):
    """Read-ahead changes what is sent, never what the case sees: the same context with it
    off (every part read on its own)."""
    from bench.shopify_cost import seed

    ids = seed(fake, fake_clock.now(), busy=True, dispute=True)
    event = DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ids["return"], order_id=ids["order"])

    def context(ttl: float):
        client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client())
        store = ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now, read_ahead_ttl=ttl,
                             monotonic=fake_clock.monotonic)
        return assemble(event, store, now=fake_clock.now(), lookback_days=LOOKBACK_DAYS)

    fake.calls.clear()
    ahead = context(30)
    cheap = len(fake.calls)
    fake.calls.clear()
    fresh = context(0)
    assert ahead == fresh
    assert ahead.history.returns and ahead.prior_returns_on_order and ahead.open_disputes
    assert cheap < len(fake.calls)


def test_read_ahead_is_served_once_and_expires(store, fake, fake_clock):
    order = fake.add_order(customer_id=fake.add_customer())
    ret = fake.add_return(order)
    store.get_return(ret)
    store.get_order(order)
    assert fake.operations() == ["ReturnCase"]
    store.get_order(order)  # taken already: read again
    assert fake.operations() == ["ReturnCase", "OrderById"]
    store.get_return(ret)
    fake_clock.advance(31)  # past the read-ahead's life
    store.get_customer(fake.orders[order]["_customer"])
    assert fake.operations()[-1] == "CustomerById"


def test_history_falls_back_to_paging_when_the_recent_orders_do_not_reach_back(store, fake, fake_clock):
    customer = fake.add_customer()
    now = fake_clock.now()
    for i in range(14):  # more than the ten recent orders, all inside the period
        past = fake.add_order(customer_id=customer, created_at=now - timedelta(days=20 + i))
        if i == 13:
            fake.add_return(past, requested_at=now - timedelta(days=10))
    order = fake.add_order(customer_id=customer)
    ret = fake.add_return(order)
    store.get_return(ret)
    history = store.get_customer_history(customer, now - timedelta(days=90))
    assert history.orders_count == 15
    assert len(history.returns) == 2  # the old order's and this one
    assert "CustomerHistory" in fake.operations()


# --- returnProcess -------------------------------------------------------------------------------


def test_refund_processes_the_return_with_restock_at_the_shipping_location(store, fake):
    order, ret = approved(fake, store)
    result = store.refund_return(ret, amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert result.ok and result.external_id.startswith("gid://shopify/Refund/")
    (process,) = sent(fake, "returnProcess")
    (line,) = process["returnLineItems"]
    rfo_item = fake.returns[ret]["_rfos"][0]["_lines"][0]
    assert line["dispositions"] == [{"reverseFulfillmentOrderLineItemId": rfo_item["id"], "quantity": 1,
                                     "dispositionType": "RESTOCKED", "locationId": fake.location["id"]}]
    assert [d["type"] for d in rfo_item["dispositions"]] == ["RESTOCKED"]
    assert "refundShipping" not in process
    data = post(fake, "query Q($id: ID!) { return(id: $id) { status returnLineItems(first: 5) { nodes { "
                      "processedQuantity processableQuantity } } } }", {"id": ret})["data"]["return"]
    assert data == {"status": "CLOSED", "returnLineItems": {"nodes": [{"processedQuantity": 1, "processableQuantity": 0}]}}


def test_a_defective_item_is_not_restocked(store, fake):
    order = fake.add_order()
    ret = fake.add_return(order, reason="DEFECTIVE", reason_handle="damaged")
    store.approve_return(ret, notify_customer=False, idempotency_key="a")
    store.refund_return(ret, amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    (line,) = sent(fake, "returnProcess")[0]["returnLineItems"]
    assert [d["dispositionType"] for d in line["dispositions"]] == ["NOT_RESTOCKED"]


def test_no_disposition_where_the_location_is_unknown_or_restocking_is_off(fake, client, fake_clock):
    order = fake.add_order(fulfillments=[{"display_status": "DELIVERED", "delivered_at": fake_clock.now(), "location": None}])
    ret = fake.add_return(order)
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now)
    store.approve_return(ret, notify_customer=False, idempotency_key="a")
    store.refund_return(ret, amount=usd("149.00"), notify_customer=False, idempotency_key="r")
    assert "dispositions" not in sent(fake, "returnProcess")[0]["returnLineItems"][0]

    other = fake.add_return(fake.add_order())
    quiet = ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now, restock=False)
    quiet.approve_return(other, notify_customer=False, idempotency_key="a2")
    quiet.refund_return(other, amount=usd("149.00"), notify_customer=False, idempotency_key="r2")
    assert "dispositions" not in sent(fake, "returnProcess")[1]["returnLineItems"][0]


def test_exchange_items_are_processed_with_the_return(store, fake):
    order = fake.add_order()
    ret = fake.add_return(order, exchange_items=[{"title": "Trail Runner, size 10", "quantity": 1}])
    store.approve_return(ret, notify_customer=False, idempotency_key="a")
    result = store.refund_return(ret, amount=usd("20.00"), notify_customer=False, idempotency_key="r")
    assert "exchange" in result.summary
    exchange = fake.returns[ret]["_exchanges"][0]
    assert sent(fake, "returnProcess")[0]["exchangeLineItems"] == [{"id": exchange["id"], "quantity": 1}]
    assert exchange["_processed"] == 1 and fake.return_status(ret) == "CLOSED"


def test_only_what_is_still_processable_is_processed(store, fake):
    order = fake.add_order(line_items=[{"title": "Socks", "price": "10.00", "quantity": 3}])
    ret = fake.add_return(order)
    store.approve_return(ret, notify_customer=False, idempotency_key="a")
    fake.returns[ret]["_lines"][0]["_processed"] = 2  # staff processed two in the admin
    store.refund_return(ret, amount=usd("10.00"), notify_customer=False, idempotency_key="r")
    assert sent(fake, "returnProcess")[0]["returnLineItems"][0]["quantity"] == 1


def test_shipping_is_refunded_with_what_the_amount_holds_beyond_the_items(store, fake):
    order, ret = approved(fake, store, shipping="10.00")
    store.refund_return(ret, amount=usd("159.00"), notify_customer=False, idempotency_key="r")
    (process,) = sent(fake, "returnProcess")
    assert process["refundShipping"]["shippingRefundAmount"] == {"amount": "10.00", "currencyCode": USD}
    assert process["financialTransfer"]["issueRefund"]["orderTransactions"][0]["transactionAmount"]["amount"] == "159.00"
    assert fake.orders[order]["_shipping_refunded"] == Decimal("10.00")


def test_a_refund_larger_than_what_was_paid_is_refused(store, fake):
    order, ret = approved(fake, store, shipping="10.00")
    with pytest.raises(IntegrationError, match="only \\$159.00 can go back") as info:
        store.refund_return(ret, amount=usd("200.00"), notify_customer=False, idempotency_key="r")
    assert info.value.retryable is False
    assert sent(fake, "returnProcess") == []


# --- multi-currency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount,sent_amount",
    [
        (usd("149.00"), "119.20"),  # shop money: the whole payment, exactly what is left of it
        (usd("100.00"), "80.00"),  # part of it, at the rate the payment was charged
        (Money.of("50.00", "GBP"), "50.00"),  # already in the presentment currency
    ],
)
def test_a_multi_currency_order_is_refunded_in_its_presentment_currency(store, fake, amount, sent_amount):
    order, ret = approved(fake, store, presentment_currency="GBP", exchange_rate="0.8")
    first = store.refund_return(ret, amount=amount, notify_customer=False, idempotency_key="r")
    (tx,) = sent(fake, "returnProcess")[0]["financialTransfer"]["issueRefund"]["orderTransactions"]
    assert tx == {"parentId": sale_of(fake, order)["id"], "transactionAmount": {"amount": sent_amount, "currencyCode": "GBP"}}
    (refund,) = fake.refunds_of_return(ret)
    assert refund["totalRefundedSet"]["presentmentMoney"] == {"amount": sent_amount, "currencyCode": "GBP"}
    again = store.refund_return(ret, amount=amount, notify_customer=False, idempotency_key="r")
    assert "already" in again.summary and again.external_id == first.external_id
    assert len(sent(fake, "returnProcess")) == 1


def test_a_refund_in_a_third_currency_is_refused(store, fake):
    order, ret = approved(fake, store, presentment_currency="GBP", exchange_rate="0.8")
    with pytest.raises(IntegrationError, match="EUR but the order is in USD \\(charged in GBP\\)") as info:
        store.refund_return(ret, amount=Money.of("10.00", "EUR"), notify_customer=False, idempotency_key="r")
    assert info.value.retryable is False and fake.mutations[-1][0] == "returnApproveRequest"


def test_a_zero_decimal_presentment_currency_is_rounded_to_whole_units(store, fake):
    order, ret = approved(fake, store, presentment_currency="JPY", exchange_rate="151.337")
    store.refund_return(ret, amount=usd("100.00"), notify_customer=False, idempotency_key="r")
    (tx,) = sent(fake, "returnProcess")[0]["financialTransfer"]["issueRefund"]["orderTransactions"]
    assert tx["transactionAmount"] == {"amount": "15134", "currencyCode": "JPY"}


# --- a return processed without a refund: refundCreate with @idempotent -----------------------------------


def test_a_return_processed_in_shopify_is_refunded_with_refund_create_once(store, fake):
    order = fake.add_order()
    ret = fake.add_return(order, status="CLOSED", processed=True)
    first = store.refund_return(ret, amount=usd("149.00"), notify_customer=True, idempotency_key="case-9:refund")
    assert first.ok and "already processed" in first.summary
    (call,) = fake.calls_to("RefundCreate")
    assert call.variables["key"] == shopify_idempotency_key("case-9:refund")
    (refund_input,) = sent(fake, "refundCreate")
    assert refund_input["transactions"] == [{"orderId": order, "parentId": sale_of(fake, order)["id"], "kind": "REFUND",
                                             "gateway": "shopify_payments", "amount": "149.00"}]
    assert "returnsbot:case-9:refund" in refund_input["note"]
    again = store.refund_return(ret, amount=usd("149.00"), notify_customer=True, idempotency_key="case-9:refund")
    assert "already" in again.summary and again.external_id == first.external_id
    assert len(fake.calls_to("RefundCreate")) == 1  # the note on the order's refund said so
    assert store.get_order(order).refunded == usd("149.00")


def test_refund_create_after_a_lost_response_is_not_repeated(store, fake):
    ret = fake.add_return(fake.add_order(), status="CLOSED", processed=True)
    fake.timeout_next(1, after_execute=True, operation="RefundCreate")
    with pytest.raises(IntegrationError) as info:
        store.refund_return(ret, amount=usd("149.00"), notify_customer=False, idempotency_key="k")
    assert info.value.retryable
    assert "already" in store.refund_return(ret, amount=usd("149.00"), notify_customer=False, idempotency_key="k").summary
    assert len(sent(fake, "refundCreate")) == 1


def test_the_idempotency_key_is_a_stable_uuid_per_action():
    key = shopify_idempotency_key("case-1:refund_return")
    assert key == shopify_idempotency_key("case-1:refund_return") != shopify_idempotency_key("case-2:refund_return")
    assert len(key) == 36 and key.count("-") == 4


# --- FakeShopify enforces what Shopify does ----------------------------------------------------------------


def _refund_input(fake, order: str, amount: str) -> dict:
    return {"orderId": order, "transactions": [{"orderId": order, "parentId": sale_of(fake, order)["id"], "kind": "REFUND",
                                                "gateway": "shopify_payments", "amount": amount}]}


def test_fake_refund_create_needs_the_idempotent_directive(fake):
    order = fake.add_order()
    bare = doc.REFUND_CREATE.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    body = post(fake, bare, {"input": _refund_input(fake, order, "10.00")})
    assert body["data"]["refundCreate"] is None
    assert "@idempotent" in body["errors"][0]["message"]
    assert fake.refunds == {}


def test_fake_refund_create_replays_a_repeated_key_and_refuses_other_input(fake):
    order = fake.add_order()
    variables = {"input": _refund_input(fake, order, "10.00"), "key": "5d0b4a3e-0000-4000-8000-000000000001"}
    first = post(fake, doc.REFUND_CREATE, variables)["data"]["refundCreate"]["refund"]
    replay = post(fake, doc.REFUND_CREATE, variables)["data"]["refundCreate"]["refund"]
    assert replay == first and len(fake.refunds) == 1
    assert [c.replayed for c in fake.calls_to("RefundCreate")] == [False, True]  # both counted as calls
    other = post(fake, doc.REFUND_CREATE, {**variables, "input": _refund_input(fake, order, "11.00")})
    assert other["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert len(fake.refunds) == 1


def test_fake_return_process_refuses_more_than_is_processable(fake, store):
    order, ret = approved(fake, store)
    line = fake.returns[ret]["_lines"][0]
    body = post(fake, doc.RETURN_PROCESS, {"input": {"returnId": ret, "returnLineItems": [{"id": line["id"], "quantity": 2}]}})
    (error,) = body["data"]["returnProcess"]["userErrors"]
    assert "processable" in error["message"]
    assert line["_processed"] == 0 and fake.return_status(ret) == "OPEN"
    # A requested (not approved) return cannot be processed at all.
    other = fake.add_return(fake.add_order())
    body = post(fake, doc.RETURN_PROCESS, {"input": {"returnId": other, "returnLineItems": [
        {"id": fake.returns[other]["_lines"][0]["id"], "quantity": 1}]}})
    assert body["data"]["returnProcess"]["userErrors"][0]["code"] == "INVALID_STATE"


def test_fake_return_process_refunds_only_in_the_presentment_currency(fake, store):
    order, ret = approved(fake, store, presentment_currency="GBP", exchange_rate="0.8")
    line = fake.returns[ret]["_lines"][0]
    body = post(fake, doc.RETURN_PROCESS, {"input": {
        "returnId": ret, "returnLineItems": [{"id": line["id"], "quantity": 1}],
        "financialTransfer": {"issueRefund": {"orderTransactions": [
            {"parentId": sale_of(fake, order)["id"], "transactionAmount": {"amount": "149.00", "currencyCode": "USD"}}]}},
    }})
    assert "presentment currency" in body["data"]["returnProcess"]["userErrors"][0]["message"]
    assert fake.refunds == {} and line["_processed"] == 0


def test_fake_answers_unimplemented_mutations_with_an_error(fake):
    body = post(fake, "mutation C($id: ID!) { returnCancel(id: $id) { userErrors { message } } }", {"id": "gid://shopify/Return/1"})
    assert "does not implement returnCancel" in body["errors"][0]["message"]


def test_every_document_stays_under_the_single_query_limit_with_its_real_variables():
    # The cost-per-case budget counts requested cost; the single-query cap is Shopify's hard limit.
    r = measure(busy=True, dispute=True)
    assert all(int(op.rsplit("(", 1)[1].rstrip(")")) <= MAX_QUERY_COST * 0.75 for op in r["operations"])


def test_the_fake_serves_the_version_header(fake):
    with fake.http_client() as http:
        response = http.post(fake.graphql_url(version="2024-10"), json={"query": doc.SHOP_PING},
                             headers={"X-Shopify-Access-Token": fake.access_token})
    assert response.headers["X-Shopify-Api-Version"] == "2026-01"
    assert isinstance(response, httpx.Response)

