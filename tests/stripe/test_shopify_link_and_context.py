"""With a real store adapter (ShopifyStore over FakeShopify): the order's payment
transaction names the Stripe charge, so the link is TRANSACTION; and a return case's
context gains Radar's risk, open warnings and disputes on that charge (the high payment
risk signal with its evidence)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.services.context import assemble, contribute
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for
from integrations.stripe.link import link_charge
from policy.assess import assess
from policy.models import EventKind, RiskLevel, SignalCode
from policy.payments import LinkMethod
from tests.fakes.shopify import FakeClock, FakeShopify
from tests.fakes.stripe import FakeStripe
from tests.policy.factories import policy


@pytest.fixture
def world():
    clock = FakeClock()
    shop = FakeShopify(monotonic=clock.monotonic, now=clock.now)
    client = ShopifyGraphQL(shop.graphql_url(), shop.access_token, http=shop.http_client(),
                            monotonic=clock.monotonic, sleep=clock.sleep)
    store = ShopifyStore(client, shop_domain=shop.shop_domain, now=clock.now, monotonic=clock.monotonic)
    stripe = FakeStripe(now=lambda: clock.now().timestamp())
    with stripe.serve():
        yield clock, shop, store, stripe


def _paid_with_stripe(shop, order_id, charge_id, intent="pi_fake_1"):
    [sale] = [t for t in shop._transactions_of(order_id) if t["kind"] == "SALE"]
    sale.update(gateway="stripe", paymentId=intent, receiptJson=json.dumps({"id": charge_id, "object": "charge",
                                                                            "amount": 14900}))


def test_the_shopify_orders_transaction_confirms_the_link(world):
    clock, shop, store, stripe = world
    order_id = shop.add_order(name="#1201", email="ada@example.com", created_at=clock.now() - timedelta(hours=2),
                              line_items=[{"title": "Boots", "price": "149.00"}])
    charge = stripe.add_charge(amount=14900, metadata={"order_name": "#1201"}, payment_intent="pi_fake_1")
    refs = store.payment_references(order_id)
    assert all(r.reference not in (charge["id"], "pi_fake_1") for r in refs)
    _paid_with_stripe(shop, order_id, charge["id"])
    assert {r.reference for r in store.payment_references(order_id)} >= {charge["id"], "pi_fake_1"}
    order, link = link_charge(charge, store)
    assert order.id == order_id and link.method is LinkMethod.TRANSACTION and charge["id"] in link.detail
    # Without the transaction naming it, the same charge links by metadata only.
    other = shop.add_order(name="#1202", line_items=[{"title": "Hat", "price": "20.00"}])
    c2 = stripe.add_charge(amount=2000, metadata={"order_name": "#1202"})
    assert link_charge(c2, store)[0].id == other and link_charge(c2, store)[1].method is LinkMethod.METADATA


def test_a_return_case_gains_radar_risk_and_the_payments_warnings_and_disputes(world):
    clock, shop, store, stripe = world
    now = clock.now()
    customer = shop.add_customer(display_name="Ada", email="ada@example.com", created_at=now - timedelta(days=90))
    order_id = shop.add_order(customer_id=customer, created_at=now - timedelta(days=10),
                              line_items=[{"title": "Boots", "sku": "B-1", "price": "149.00"}],
                              fulfillments=[{"display_status": "DELIVERED", "created_at": now - timedelta(days=9),
                                             "delivered_at": now - timedelta(days=7)}])
    ret = shop.add_return(order_id, line_items=[{"sku": "B-1", "quantity": 1, "reason": "OTHER"}],
                          requested_at=now - timedelta(hours=1))
    charge = stripe.add_charge(amount=14900, outcome={"type": "authorized", "risk_level": "highest",
                                                      "seller_message": "Highest risk."})
    stripe.add_warning(charge["id"], fraud_type="unauthorized_use_of_card")
    stripe.add_dispute(charge["id"], reason="fraudulent", network_reason_code="4837")
    _paid_with_stripe(shop, order_id, charge["id"], intent="pi_other")

    api = StripeAPI(stripe.api_key, base=stripe.base_url, max_network_retries=0)
    connector = connector_for(api, store=store, webhook_secret=None, clock=clock.now)
    from policy.models import DomainEvent

    event = DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ret, order_id=order_id)
    ctx = contribute(assemble(event, store, now=now, lookback_days=365), [connector])
    [risk] = [p for p in ctx.payments if p.source == "stripe"]
    assert risk.level is RiskLevel.HIGH and risk.score is None and risk.seller_message == "Highest risk."
    assert [w.fraud_type for w in ctx.fraud_warnings] == ["unauthorized_use_of_card"]
    assert [(d.source, d.network_reason_code) for d in ctx.open_disputes if d.source == "stripe"] == [
        ("stripe", "4837")]
    signals = {s.code: s for s in assess(ctx, policy()).signals}
    assert "stripe.level" in signals[SignalCode.HIGH_PAYMENT_RISK].evidence
    assert SignalCode.OPEN_DISPUTE in signals


def test_warnings_and_disputes_on_the_customers_other_orders_are_signals(world):
    clock, shop, store, stripe = world
    now = clock.now()
    customer = shop.add_customer(display_name="Ada", email="ada@example.com", created_at=now - timedelta(days=90))
    earlier = shop.add_order(customer_id=customer, email="ada@example.com", created_at=now - timedelta(days=30),
                             line_items=[{"title": "Hat", "price": "20.00"}])
    order_id = shop.add_order(customer_id=customer, email="ada@example.com", created_at=now - timedelta(days=10),
                              line_items=[{"title": "Boots", "sku": "B-1", "price": "149.00"}])
    ret = shop.add_return(order_id, line_items=[{"sku": "B-1", "quantity": 1, "reason": "OTHER"}],
                          requested_at=now - timedelta(hours=1))
    old_charge = stripe.add_charge(amount=2000)
    stripe.add_warning(old_charge["id"], fraud_type="made_with_lost_card")
    stripe.add_dispute(old_charge["id"], reason="fraudulent", network_reason_code="10.4")
    _paid_with_stripe(shop, earlier, old_charge["id"], intent="pi_old")
    _paid_with_stripe(shop, order_id, stripe.add_charge(amount=14900)["id"], intent="pi_new")

    api = StripeAPI(stripe.api_key, base=stripe.base_url, max_network_retries=0)
    connector = connector_for(api, store=store, webhook_secret=None, clock=clock.now)
    from policy.models import DomainEvent

    event = DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ret, order_id=order_id)
    ctx = contribute(assemble(event, store, now=now, lookback_days=365), [connector])
    assert [w.order_id for w in ctx.fraud_warnings] == [earlier]
    signals = {s.code: s for s in assess(ctx, policy()).signals}
    risk = signals[SignalCode.HIGH_PAYMENT_RISK]
    assert "on the customer's other orders (made with lost card)" in risk.explanation
    assert risk.evidence["fraud_warning_orders"] == earlier
    dispute = signals[SignalCode.OPEN_DISPUTE]
    assert "on the customer's other orders" in dispute.explanation
    assert dispute.evidence["network_reason_codes"] == "10.4"
