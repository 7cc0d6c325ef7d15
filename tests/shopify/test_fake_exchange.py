"""FakeShopify's exchanges behave like the Admin API where ShopifyStore depends on them:
variants with stock (by `nodes` and `productVariant`), exchange lines naming a variant,
returnProcess committing an exchange's stock, removeFromReturn; and ShopifyStore's stock
reading (untracked, oversell, a variant gone)."""

from __future__ import annotations

import httpx
import pytest

from integrations.shopify import documents as doc
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.ports import ExchangeOutOfStock
from tests.fakes.shopify import FakeShopify


def post(fake: FakeShopify, query: str, variables=None) -> dict:
    with fake.http_client() as http:
        return http.post(fake.graphql_url(), json={"query": query, "variables": variables or {}},
                         headers={"X-Shopify-Access-Token": fake.access_token}).json()


@pytest.fixture
def shop():
    fake = FakeShopify()
    customer = fake.add_customer(display_name="Ada Lovelace")
    order = fake.add_order(customer_id=customer, line_items=[{"title": "Boots", "price": "149.00"}])
    rid = fake.add_return(order, status="OPEN")
    return fake, rid


def store_of(fake: FakeShopify) -> ShopifyStore:
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=httpx.Client(transport=fake.transport()))
    return ShopifyStore(client, shop_domain=fake.shop_domain)


def test_variant_stock_reads_through_nodes_and_product_variant(shop):
    fake, _ = shop
    tracked = fake.add_variant("Boots", variant_title="43", inventory_quantity=2)
    untracked = fake.add_variant("Gift card", tracked=False)
    data = post(fake, doc.EXCHANGE_VARIANT_STOCK, {"ids": [tracked, untracked, "gid://shopify/ProductVariant/1"]})
    a, b, gone = data["data"]["nodes"]
    assert a == {"id": tracked, "displayName": "Boots - 43", "inventoryQuantity": 2, "inventoryPolicy": "DENY",
                 "inventoryItem": {"tracked": True}}
    assert b["inventoryQuantity"] is None and b["inventoryItem"] == {"tracked": False}
    assert gone is None
    one = post(fake, "query($id: ID!) { productVariant(id: $id) { id inventoryQuantity } }", {"id": tracked})
    assert one["data"]["productVariant"] == {"id": tracked, "inventoryQuantity": 2}


def test_processing_an_exchange_commits_its_stock(shop):
    fake, rid = shop
    variant = fake.add_variant("Boots", inventory_quantity=3)
    ex = fake.add_exchange_item(rid, variant_id=variant, quantity=2)
    body = post(fake, doc.RETURN_PROCESS_EXCHANGE,
                {"input": {"returnId": rid, "exchangeLineItems": [{"id": ex, "quantity": 2}]}})
    assert body["data"]["returnProcess"]["userErrors"] == []
    assert fake.variants[variant]["inventoryQuantity"] == 1
    assert fake.exchange_released(rid) == 2
    again = post(fake, doc.RETURN_PROCESS_EXCHANGE,
                 {"input": {"returnId": rid, "exchangeLineItems": [{"id": ex, "quantity": 1}]}})
    assert again["data"]["returnProcess"]["userErrors"][0]["code"] == "INVALID"  # nothing left to process


def test_remove_from_return_takes_the_unprocessed_exchange_lines_off(shop):
    fake, rid = shop
    ex = fake.add_exchange_item(rid, variant_id=fake.add_variant("Boots"), quantity=1)
    too_many = post(fake, doc.REMOVE_EXCHANGE_FROM_RETURN,
                    {"returnId": rid, "exchangeLineItems": [{"exchangeLineItemId": ex, "quantity": 2}]})
    assert too_many["data"]["removeFromReturn"]["userErrors"][0]["code"] == "INVALID"
    unknown = post(fake, doc.REMOVE_EXCHANGE_FROM_RETURN,
                   {"returnId": rid, "exchangeLineItems": [{"exchangeLineItemId": "gid://shopify/ExchangeLineItem/1",
                                                            "quantity": 1}]})
    assert unknown["data"]["removeFromReturn"]["userErrors"][0]["code"] == "NOT_FOUND"
    done = post(fake, doc.REMOVE_EXCHANGE_FROM_RETURN,
                {"returnId": rid, "exchangeLineItems": [{"exchangeLineItemId": ex, "quantity": 1}]})
    assert done["data"]["removeFromReturn"]["return"]["exchangeLineItems"]["nodes"] == []
    with_removed = post(fake, "query($id: ID!) { return(id: $id) { exchangeLineItems(first: 5, "
                              "includeRemovedItems: true) { nodes { id processableQuantity } } } }", {"id": rid})
    assert with_removed["data"]["return"]["exchangeLineItems"]["nodes"] == [{"id": ex, "processableQuantity": 0}]


@pytest.mark.parametrize("stock, policy, tracked, ships", [
    (0, "DENY", True, False),
    (1, "DENY", True, True),
    (0, "CONTINUE", True, True),  # may be oversold
    (None, "DENY", False, True),  # not tracked
])
def test_store_reads_stock_as_the_schema_says(shop, stock, policy, tracked, ships):
    fake, rid = shop
    fake.add_exchange_item(rid, variant_id=fake.add_variant("Boots", inventory_quantity=stock,
                                                            inventory_policy=policy, tracked=tracked))
    store = store_of(fake)
    if ships:
        assert store.release_exchange(rid, notify_customer=False, idempotency_key="k").ok
        assert fake.exchange_released(rid) == 1
    else:
        with pytest.raises(ExchangeOutOfStock):
            store.release_exchange(rid, notify_customer=False, idempotency_key="k")
        assert fake.exchange_released(rid) == 0


def test_a_variant_gone_since_the_return_was_made_is_out_of_stock(shop):
    fake, rid = shop
    variant = fake.add_variant("Boots", inventory_quantity=9)
    fake.add_exchange_item(rid, variant_id=variant)
    fake.delete_variant(variant)
    with pytest.raises(ExchangeOutOfStock) as err:
        store_of(fake).release_exchange(rid, notify_customer=False, idempotency_key="k")
    assert err.value.items[0].available == 0
    assert [m for m, _ in fake.mutations] == []
