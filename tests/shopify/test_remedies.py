"""The delayed-shipment remedies in Shopify (integrations/shopify/remedies.py), against
FakeShopify: what is sent (refundCreate's shipping and transactions, the draft order), the
marker and ledger checks, and the crash windows of the reship. Every request counted."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from integrations.shopify import documents as doc
from integrations.shopify.remedies import REPLACEMENT_TAG
from integrations.shopify.source import shopify_idempotency_key
from policy.models import Money
from policy.ports import IntegrationError
from tests.fakes.shopify import FakeShopify, connection


def shipped_order(fake: FakeShopify, **kw) -> str:
    customer = fake.add_customer(display_name="Ada Lovelace")
    return fake.add_order(customer_id=customer, shipping=kw.pop("shipping", "12.50"),
                          fulfillments=kw.pop("fulfillments", [{"display_status": "IN_TRANSIT"}]),
                          line_items=[{"title": "Trail Runner", "price": "120.00"},
                                      {"title": "Wool Socks", "price": "9.50", "quantity": 2}], **kw)


def mutations(fake: FakeShopify) -> list[str | None]:
    return [c.operation for c in fake.calls if c.query.lstrip().startswith("mutation")]


# --- refund shipping -----------------------------------------------------------------------------


def test_all_the_shipping_is_one_refund_create_with_full_refund_and_the_money_back_to_the_sale(store, fake):
    order = shipped_order(fake)
    result = store.refund_shipping(order, amount=None, notify_customer=True, idempotency_key="case-1:refund_shipping")
    [call] = fake.calls_to("RefundShippingCreate")
    sent = call.variables["input"]
    assert sent["shipping"] == {"fullRefund": True}
    sale = next(t for t in fake.transactions.values() if t["kind"] == "SALE")
    assert sent["transactions"] == [{"orderId": order, "parentId": sale["id"], "kind": "REFUND",
                                     "gateway": "shopify_payments", "amount": "12.50"}]
    assert "returnsbot:case-1:refund_shipping" in sent["note"] and sent["notify"] is True
    assert call.variables["key"] == shopify_idempotency_key("case-1:refund_shipping")
    assert result.external_id in fake.refunds and fake.orders[order]["_shipping_refunded"] == Decimal("12.50")


def test_a_repeat_finds_the_marker_and_sends_no_mutation(store, fake):
    order = shipped_order(fake)
    store.refund_shipping(order, amount=Money.of("5.00", "USD"), notify_customer=False, idempotency_key="k")
    again = store.refund_shipping(order, amount=Money.of("5.00", "USD"), notify_customer=False, idempotency_key="k")
    assert "already" in again.summary
    assert mutations(fake) == ["RefundShippingCreate"]


def test_a_multi_currency_order_is_refunded_in_what_the_customer_paid(store, fake):
    order = shipped_order(fake, presentment_currency="EUR", exchange_rate="0.9", shipping="10.00")
    store.refund_shipping(order, amount=Money.of("4.00", "USD"), notify_customer=False, idempotency_key="k")
    sent = fake.calls_to("RefundShippingCreate")[0].variables["input"]
    assert sent["currency"] == "EUR"
    assert sent["shipping"] == {"amount": "3.60"} and sent["transactions"][0]["amount"] == "3.60"
    rest = store.refund_shipping(order, amount=None, notify_customer=False, idempotency_key="k2")
    assert rest.ok
    assert fake.calls_to("RefundShippingCreate")[1].variables["input"]["transactions"][0]["amount"] == "5.40"
    assert fake.orders[order]["_shipping_refunded"] == Decimal("10.00")


def test_another_currency_is_refused_before_anything_is_sent(store, fake):
    order = shipped_order(fake)
    with pytest.raises(IntegrationError) as refused:
        store.refund_shipping(order, amount=Money.of("5.00", "GBP"), notify_customer=False, idempotency_key="k")
    assert not refused.value.retryable
    assert mutations(fake) == []


def test_the_fake_refuses_more_shipping_than_is_left_as_shopify_does(store, fake, client):
    order = shipped_order(fake)
    sale = next(t for t in fake.transactions.values() if t["kind"] == "SALE")
    data = client.execute(doc.REFUND_SHIPPING_CREATE, {"key": "k-over", "input": {
        "orderId": order, "shipping": {"amount": "12.51"},
        "transactions": [{"orderId": order, "parentId": sale["id"], "kind": "REFUND", "gateway": "shopify_payments",
                          "amount": "12.51"}]}})
    errors = data["refundCreate"]["userErrors"]
    assert errors and errors[0]["field"] == ["input", "shipping", "amount"]
    assert fake.refunds == {}


# --- reship ------------------------------------------------------------------------------------------------


def test_the_replacement_is_a_draft_at_no_charge_completed_as_paid_and_recorded_on_the_order(store, fake):
    order = shipped_order(fake)
    result = store.reship_order(order, note="parcel lost", idempotency_key="case-2:reship_order")
    [create] = fake.calls_to("DraftOrderCreate")
    draft = create.variables["input"]
    assert [(li["title"], li["quantity"]) for li in draft["lineItems"]] == [("Trail Runner", 1), ("Wool Socks", 2)]
    assert all(li["appliedDiscount"] == {"valueType": "PERCENTAGE", "value": 100.0, "title": "Replacement"}
               for li in draft["lineItems"])
    assert draft["shippingLine"]["priceWithCurrency"] == {"amount": "0", "currencyCode": "USD"}
    assert draft["tags"] == [REPLACEMENT_TAG] and "parcel lost" in draft["note"]
    assert draft["purchasingEntity"]["customerId"] == fake.orders[order]["_customer"]
    assert draft["shippingAddress"]["countryCode"] == "US" and draft["shippingAddress"]["zip"] == "97201"
    [complete] = fake.calls_to("DraftOrderComplete")
    made = fake.orders[result.external_id]
    assert made["totalPriceSet"]["shopMoney"]["amount"] == "0.00" and made["displayFinancialStatus"] == "PAID"
    ledger = json.loads(fake.metafields[(order, doc.RESHIP_NAMESPACE, doc.RESHIP_KEY)]["value"])
    assert ledger["case-2:reship_order"]["order"] == result.external_id


def test_only_what_is_undelivered_is_reshipped(store, fake):
    order = shipped_order(fake)
    rec = fake.orders[order]
    # The socks went in a second parcel, which arrived; the boots are still on the way.
    socks = rec["_line_items"][1]["_fli"]
    rec["_fulfillments"][0]["_lines"] = [rec["_line_items"][0]["_fli"]]
    second = dict(rec["_fulfillments"][0], id="gid://shopify/Fulfillment/999", displayStatus="DELIVERED",
                  _lines=[socks])
    second["fulfillmentLineItems"] = lambda info, f=second, **kw: connection(f["_lines"], **kw)
    rec["_fulfillments"].append(second)
    store.reship_order(order, note=None, idempotency_key="k")
    lines = fake.calls_to("DraftOrderCreate")[0].variables["input"]["lineItems"]
    assert [(li["title"], li["quantity"]) for li in lines] == [("Trail Runner", 1)]


def test_a_draft_recorded_but_not_completed_is_completed_on_retry_not_made_again(store, fake):
    order = shipped_order(fake)
    fake.fail_next(1, status=503, operation="DraftOrderComplete")  # the worker dies before completing
    with pytest.raises(IntegrationError):
        store.reship_order(order, note=None, idempotency_key="k")
    assert len(fake.draft_orders) == 1 and not any(d["_order"] for d in fake.draft_orders.values())
    result = store.reship_order(order, note=None, idempotency_key="k")
    assert result.ok and "already" not in result.summary
    assert len(fake.calls_to("DraftOrderCreate")) == 1
    assert [c.outcome for c in fake.calls_to("DraftOrderComplete")] == ["failed", "ok"]


def test_a_completion_whose_answer_was_lost_is_a_repeat(store, fake):
    order = shipped_order(fake)
    fake.timeout_next(1, after_execute=True, operation="DraftOrderComplete")
    with pytest.raises(IntegrationError) as lost:
        store.reship_order(order, note=None, idempotency_key="k")
    assert lost.value.retryable
    again = store.reship_order(order, note=None, idempotency_key="k")
    assert "already" in again.summary and again.external_id == fake.draft_orders_of(order)[0]["_order"]
    assert len(fake.calls_to("DraftOrderCreate")) == 1 and len(fake.calls_to("DraftOrderComplete")) == 1


def test_a_lost_ledger_race_deletes_its_own_draft_and_the_winner_is_the_one_completed(store, fake):
    order = shipped_order(fake)
    key = (order, doc.RESHIP_NAMESPACE, doc.RESHIP_KEY)
    real = fake._m_draft_create

    def concurrent_worker_writes_first(info, input):  # another worker records its draft meanwhile
        out = real(info, input)
        winner = real(info, input)["draftOrder"]["id"]
        fake.metafields[key] = {"__typename": "Metafield", "id": "gid://shopify/Metafield/1", "namespace": key[1],
                                "key": key[2], "value": json.dumps({"k": {"draft": winner}}), "compareDigest": "theirs"}
        return out

    fake._m_draft_create = concurrent_worker_writes_first
    with pytest.raises(IntegrationError) as stale:
        store.reship_order(order, note=None, idempotency_key="k")
    assert stale.value.retryable and "changed" in str(stale.value)
    assert len(fake.draft_orders) == 1  # ours was deleted
    fake._m_draft_create = real
    result = store.reship_order(order, note=None, idempotency_key="k")
    [winner] = fake.draft_orders.values()
    assert result.external_id == winner["_order"] and len(fake.calls_to("DraftOrderComplete")) == 1


def test_the_fake_refuses_completing_a_draft_twice(client, fake):
    draft = client.execute(doc.DRAFT_ORDER_CREATE, {"input": {"lineItems": [
        {"title": "Boots", "quantity": 1, "originalUnitPriceWithCurrency": {"amount": "10.00", "currencyCode": "USD"}}]}})
    did = draft["draftOrderCreate"]["draftOrder"]["id"]
    assert client.execute(doc.DRAFT_ORDER_COMPLETE, {"id": did})["draftOrderComplete"]["userErrors"] == []
    assert client.execute(doc.DRAFT_ORDER_COMPLETE, {"id": did})["draftOrderComplete"]["userErrors"]
    assert client.execute(doc.DRAFT_ORDER_DELETE, {"input": {"id": did}})["draftOrderDelete"]["userErrors"]


def test_a_line_with_a_variant_is_reshipped_as_that_variant(store, fake):
    order = shipped_order(fake)
    variant = fake.add_variant("Trail Runner", variant_title="42")
    fake.orders[order]["_line_items"][0]["variant"] = fake.variants[variant]
    result = store.reship_order(order, note=None, idempotency_key="k")
    boots, socks = fake.calls_to("DraftOrderCreate")[0].variables["input"]["lineItems"]
    assert (boots["variantId"], boots["quantity"]) == (variant, 1) and "title" not in boots
    assert socks["title"] == "Wool Socks" and socks["originalUnitPriceWithCurrency"]["amount"] == "9.50"
    assert [li["title"] for li in fake.orders[result.external_id]["_line_items"]] == ["Trail Runner - 42", "Wool Socks"]
