"""Catch-up pollers against FakeShopify: find what webhooks missed, once, from a cursor."""

from __future__ import annotations

from datetime import timedelta

from bot.container import Container
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.models import CaseKind, CaseStatus
from tests.bot.app_harness import container_for
from tests.fakes.shopify import FakeShopify


def _container(database_url, clock, fake: FakeShopify) -> Container:
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client(), sleep=lambda s: None)
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=clock)
    return container_for(database_url, clock, store=store)


def test_poller_finds_missed_return_once_and_moves_its_cursor(database_url, clock):
    fake = FakeShopify(now=clock)
    c = _container(database_url, clock, fake)
    customer = fake.add_customer(display_name="Grace Hopper")
    order = fake.add_order(customer_id=customer, created_at=clock() - timedelta(days=12),
                           line_items=[{"title": "Rain Shell", "price": "189.00"}])
    clock.advance(minutes=5)
    return_id = fake.add_return(order, reason="DEFECTIVE")
    returns_poller = next(p for p in c.pollers if p.name == "shopify.returns")

    first = returns_poller.run_once()
    assert (first.seen, first.created, first.error) == (1, 1, None)
    case = c.cases.find("shopify", return_id, CaseKind.RETURN_REQUEST)
    assert case is not None and case.status is CaseStatus.OPEN
    cursor = c.ops.cursor("shopify.returns")
    assert cursor is not None

    clock.advance(minutes=10)
    again = returns_poller.run_once()
    assert again.created == 0  # overlap may re-see it; the natural key keeps it one case
    assert c.cases.count() == 1
    assert c.ops.cursor("shopify.returns") >= cursor
    assert [h.system for h in c.ops.health() if h.ok] == ["shopify.returns"]
    assert fake.invalid_documents == []


def test_poller_failure_keeps_the_cursor_and_marks_health(database_url, clock):
    fake = FakeShopify(now=clock)
    c = _container(database_url, clock, fake)
    poller = next(p for p in c.pollers if p.name == "shopify.orders")
    poller.run_once()
    cursor = c.ops.cursor("shopify.orders")
    fake.fail_next(10, status=500)
    report = poller.run_once()
    assert report.error is not None
    assert c.ops.cursor("shopify.orders") == cursor
    [health] = [h for h in c.ops.health() if h.system == "shopify.orders"]
    assert health.consecutive_failures == 1 and "500" in (health.last_error or "")


def test_new_high_value_order_opens_a_review_case(database_url, clock):
    fake = FakeShopify(now=clock)
    c = _container(database_url, clock, fake)
    customer = fake.add_customer(display_name="Noah Williams")
    big = fake.add_order(customer_id=customer, line_items=[{"title": "Expedition Tent", "price": "1337.00"}],
                         created_at=clock() - timedelta(minutes=30))
    fake.add_order(customer_id=customer, line_items=[{"title": "Socks", "price": "12.00"}],
                   created_at=clock() - timedelta(minutes=20))
    report = next(p for p in c.pollers if p.name == "shopify.orders").run_once()
    assert (report.seen, report.created) == (2, 1)  # the socks need nobody
    case = c.cases.find("shopify", big, CaseKind.ORDER_REVIEW)
    assert case is not None and "high_value" in case.signal_codes
