"""Who holds a return's money is known before its case opens: when Stripe does not answer
and the Shopify order's payment was only recorded there (a manual gateway), the return's
ingest job fails retryably and no case opens — a card would refund through Shopify, which
records a refund nobody paid. An order Shopify processed opens its case (Stripe named as
unavailable); once Stripe answers, the case opens knowing the money is in Stripe."""

from __future__ import annotations

import json

import pytest

from bot.container import Container
from bot.services.poll import ingest_job
from bot.store.jobs import JobStatus
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for
from policy.models import CaseKind, DomainEvent, EventKind
from tests.bot.app_harness import settings_for
from tests.fakes.shopify import FakeShopify
from tests.fakes.stripe import FakeStripe

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def world(database_url, clock):
    stripe, shop = FakeStripe(), FakeShopify(now=clock)
    client = ShopifyGraphQL(shop.graphql_url(), shop.access_token, http=shop.http_client())
    store = ShopifyStore(client, shop_domain=shop.shop_domain, now=clock)
    with stripe.serve():
        api = StripeAPI(stripe.api_key, base=stripe.base_url, max_network_retries=0)
        c = Container.build(settings_for(database_url), clock=clock, store=store,
                            connectors=(connector_for(api, store=store, webhook_secret=None, clock=clock),))
        yield c, shop, stripe
        c.engine.dispose()
    client.close()


def _return(shop: FakeShopify, *, outside: str | None = None, processed: str | None = None) -> DomainEvent:
    order = shop.add_order(line_items=[{"title": "Trail Runner", "price": "120.00"}])
    if outside is not None:
        shop.pay_outside(order, gateway="stripe", receipt={"id": outside, "object": "charge"})
    if processed is not None:  # Shopify Payments (on Stripe) names the charge; the money is Shopify's
        [sale] = [t for t in shop._transactions_of(order) if t["kind"] == "SALE"]
        sale.update(receiptJson=json.dumps({"id": processed, "object": "charge"}))
    ret = shop.add_return(order)
    return DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ret, order_id=order)


def test_stripe_silent_on_a_stripe_direct_order_opens_no_case_until_it_answers(world, clock):
    c, shop, stripe = world
    charge = stripe.add_charge(amount=12000)
    event = _return(shop, outside=charge["id"])
    stripe.fail_next(f"/v1/charges/{charge['id']}", 500)  # Stripe down for the first read
    c.jobs.enqueue(ingest_job(event), now=clock())
    c.drain("intake")
    assert c.cases.find("shopify", event.resource_id, CaseKind.RETURN_REQUEST) is None
    [job] = [j for j in c.jobs.list(limit=50) if j.kind == "ingest"]
    assert job.status == JobStatus.PENDING and job.attempts == 1 and "who holds the money" in (job.last_error or "")

    clock.advance(minutes=15)
    c.drain("intake")
    case = c.cases.find("shopify", event.resource_id, CaseKind.RETURN_REQUEST)
    assert case is not None and (case.money_system, case.money_payment_id) == ("stripe", charge["id"])


def test_stripe_silent_on_an_order_shopify_processed_still_opens_its_case(world, clock):
    c, shop, stripe = world
    event = _return(shop, processed="ch_shopify_payments_1")
    stripe.api_key = "sk_test_rotated_elsewhere"  # every Stripe call is refused now
    case = c.ingest.ingest(event).case
    assert case is not None and case.money_system is None
    ctx, _ = c.cases.snapshot(case)
    assert "Stripe" in ctx.unavailable
