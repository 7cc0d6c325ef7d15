"""The fake itself behaves like the Admin API where the project depends on it."""

from __future__ import annotations

import json

import httpx
import pytest

from integrations.shopify import documents as doc
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.ports import IntegrationError
from tests.fakes.shopify import FakeShopify, parse_search


def post(fake: FakeShopify, query: str, variables=None, token=None) -> httpx.Response:
    with fake.http_client() as http:
        return http.post(
            fake.graphql_url(),
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token or fake.access_token},
        )


def test_rejects_and_records_invalid_documents(fake):
    bad = 'query Bad { order(id: "gid://shopify/Order/1") { requestedAt } }'
    body = post(fake, bad).json()
    assert body["errors"] and "requestedAt" in body["errors"][0]["message"]
    assert "data" not in body
    assert fake.invalid_documents == [(bad, [body["errors"][0]["message"]])]
    assert fake.calls[-1].outcome == "invalid"
    post(fake, "query {")
    assert len(fake.invalid_documents) == 2


def test_requires_the_access_token(fake):
    response = post(fake, doc.SHOP_PING, token="shpat_wrong")
    assert response.status_code == 401
    assert fake.calls[-1].outcome == "unauthorized"


def test_reports_cost_and_depletes_the_bucket(fake_clock):
    fake = FakeShopify(monotonic=fake_clock.monotonic, now=fake_clock.now, bucket_size=1000, restore_rate=50)
    order = fake.add_order()
    body = post(fake, doc.ORDER_BY_ID, {"id": order}).json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] > 100
    assert cost["throttleStatus"] == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 1000.0 - cost["requestedQueryCost"],
        "restoreRate": 50.0,
    }
    assert fake.calls[-1].cost == cost["requestedQueryCost"]
    fits = int(1000 // cost["requestedQueryCost"])
    for _ in range(fits - 1):
        assert "data" in post(fake, doc.ORDER_BY_ID, {"id": order}).json()
    throttled = post(fake, doc.ORDER_BY_ID, {"id": order}).json()  # the bucket is spent: this one does not fit
    assert throttled["errors"][0]["message"] == "Throttled"
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert fake.calls[-1].outcome == "throttled"
    fake_clock.advance(10)  # 500 points restored
    assert "data" in post(fake, doc.ORDER_BY_ID, {"id": order}).json()


def test_refuses_documents_over_the_cost_limit(fake):
    query = 'query Big { orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }'
    body = post(fake, query).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_connections_need_first_or_last(fake):
    body = post(fake, "query NoFirst { orders { nodes { id } } }").json()
    assert "first or last" in body["errors"][0]["message"]


def test_records_operation_names_and_variables(fake):
    order = fake.add_order()
    post(fake, doc.ORDER_DISPUTES, {"id": order})
    assert fake.calls[-1].operation == "OrderDisputes"
    assert fake.calls[-1].variables == {"id": order}
    assert fake.operations() == ["OrderDisputes"]


def test_fail_next_and_throttle_next_through_the_client(fake, client, fake_clock):
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now)
    order = fake.add_order()
    fake.fail_next(2, status=503)
    fake.throttle_next(1, with_code=False)
    fake.throttle_next(1, status=429, retry_after=3)
    assert store.get_order(order).id == order
    assert [c.outcome for c in fake.calls] == ["failed", "failed", "throttled", "throttled", "ok"]
    assert 3.0 in fake_clock.sleeps


def test_pre_emptive_pacing_avoids_throttling(fake_clock):
    fake = FakeShopify(monotonic=fake_clock.monotonic, now=fake_clock.now, bucket_size=1000, restore_rate=50)
    order = fake.add_order()
    client = ShopifyGraphQL(
        fake.graphql_url(), fake.access_token, http=fake.http_client(), sleep=fake_clock.sleep, monotonic=fake_clock.monotonic
    )
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now)
    for _ in range(10):
        store.get_order(order)
    assert [c.outcome for c in fake.calls].count("throttled") == 0
    assert fake_clock.sleeps  # it slowed down instead
    cost = fake.calls[-1].cost
    assert sum(fake_clock.sleeps) == pytest.approx((10 * cost - 1000) / 50, rel=0.1)


def test_serves_over_real_http(fake):
    fake.add_order(name="#2001")
    with fake.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.post(
            f"{base_url}/admin/api/2026-10/graphql.json",
            json={"query": doc.ORDER_SEARCH, "variables": {"query": "name:2001", "first": 5}},
            headers={"X-Shopify-Access-Token": fake.access_token},
        )
        assert response.status_code == 200
        assert response.json()["data"]["orders"]["nodes"][0]["name"] == "#2001"
        assert httpx.get(f"{base_url}/admin/api/2026-10/graphql.json").status_code == 405


def test_timeout_over_real_http_drops_the_connection(fake):
    order = fake.add_order()
    fake.timeout_next(1)
    with fake.serve() as base_url:
        with ShopifyGraphQL(fake.graphql_url(base_url), fake.access_token, timeout=5, max_attempts=1) as client:
            with pytest.raises(IntegrationError) as info:
                ShopifyStore(client, shop_domain=fake.shop_domain).get_order(order)
            assert info.value.retryable


def test_search_syntax():
    assert parse_search("return_status:return_requested updated_at:>='2025-01-01T00:00:00Z' AND tag:vip bob") == [
        ("return_status", "=", "return_requested"),
        ("updated_at", ">=", "2025-01-01T00:00:00Z"),
        ("tag", "=", "vip"),
        (None, "=", "bob"),
    ]


def test_mutations_refuse_invalid_state(fake):
    ret = fake.add_return(fake.add_order(), status="DECLINED")
    body = post(fake, doc.RETURN_APPROVE, {"input": {"id": ret}}).json()
    errors = body["data"]["returnApproveRequest"]["userErrors"]
    assert errors[0]["code"] == "INVALID_STATE"
    assert fake.return_status(ret) == "DECLINED"


def test_seed_defaults_are_sensible(fake):
    customer = fake.add_customer()
    order = fake.add_order(customer_id=customer)
    ret = fake.add_return(order)
    data = post(fake, doc.RETURN_BY_ID, {"id": ret}).json()["data"]["return"]
    assert data["status"] == "REQUESTED"
    assert data["name"] == "#1001-R1"
    line = data["returnLineItems"]["nodes"][0]
    assert line["fulfillmentLineItem"]["lineItem"]["discountedUnitPriceAfterAllDiscountsSet"]["shopMoney"] == {
        "amount": "149.00",
        "currencyCode": "USD",
    }
    assert json.dumps(data)  # plain JSON all the way down


@pytest.mark.parametrize("topic", ["returns/request", "returns/approve", "returns/decline", "orders/create", "refunds/create", "disputes/create"])
def test_signed_webhooks_for_seeded_objects_decode(fake, topic):
    from integrations.shopify.webhooks import delivery_id, event_from_webhook, verify_hmac

    order = fake.add_order(customer_id=fake.add_customer())
    ret = fake.add_return(order)
    target = {
        "orders/create": order,
        "refunds/create": fake.add_refund(order, amount="10.00", return_id=ret),
        "disputes/create": fake.add_dispute(order),
    }.get(topic, ret)
    secret = b"shpss_test"
    body, headers = fake.signed_webhook(topic, target, secret)
    assert verify_hmac(secret, body, headers["X-Shopify-Hmac-Sha256"])
    assert delivery_id(headers) == headers["X-Shopify-Event-Id"]
    event = event_from_webhook(headers["X-Shopify-Topic"], json.loads(body))
    assert event.resource_id == target
    if topic != "returns/decline":
        assert event.order_id == order
    if topic == "refunds/create":
        assert event.detail["amount"] == "10.00" and event.detail["return_id"] == ret
