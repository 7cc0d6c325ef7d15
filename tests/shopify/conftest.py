"""Fixtures for the Shopify integration: a FakeShopify on a fake clock, a client over its
httpx transport, and the store built on that client."""

from __future__ import annotations

import pytest

from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from tests.fakes.shopify import FakeClock, FakeShopify


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(fake_clock: FakeClock) -> FakeShopify:
    return FakeShopify(monotonic=fake_clock.monotonic, now=fake_clock.now)


@pytest.fixture
def client(fake: FakeShopify, fake_clock: FakeClock) -> ShopifyGraphQL:
    c = ShopifyGraphQL(
        fake.graphql_url(),
        fake.access_token,
        http=fake.http_client(),
        sleep=fake_clock.sleep,
        monotonic=fake_clock.monotonic,
    )
    yield c
    c.close()


@pytest.fixture
def store(client: ShopifyGraphQL, fake: FakeShopify, fake_clock: FakeClock) -> ShopifyStore:
    return ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now, monotonic=fake_clock.monotonic)
