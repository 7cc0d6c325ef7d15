"""When Shopify serves another Admin API version than the one we speak — to our queries or
in its webhook deliveries — integration health says so (and `check`'s ping line)."""

from __future__ import annotations

import httpx

from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from tests.bot.app_harness import WEBHOOK_SECRET, container_for, running
from tests.fakes.shopify import FakeShopify


def test_a_delivery_in_another_api_version_shows_in_health(database_url, clock):
    fake = FakeShopify(now=clock)
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client(), sleep=lambda s: None)
    c = container_for(database_url, clock, store=ShopifyStore(client, shop_domain=fake.shop_domain, now=clock))
    assert c.record_notes() == "0 note(s)"
    customer = fake.add_customer(display_name="Grace Hopper")
    order = fake.add_order(customer_id=customer, line_items=[{"title": "Rain Shell", "price": "189.00"}])
    rid = fake.add_return(order, reason="DEFECTIVE")
    body, headers = fake.signed_webhook("returns/request", rid, WEBHOOK_SECRET.encode(), api_version="2026-07")
    with running(c, start_workers=False) as server:
        assert httpx.post(f"{server.url}/webhooks/shopify", content=body, headers=headers).status_code == 200
    assert c.record_notes() == "1 note(s)"
    [health] = [h for h in c.ops.health() if h.system == "shopify.api"]
    assert not health.ok and "served 2026-07 instead of 2026-10" in health.last_error
