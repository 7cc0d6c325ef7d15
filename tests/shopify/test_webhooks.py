from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from integrations.shopify import webhooks as wh
from integrations.shopify.webhooks import MalformedWebhook, delivery_id, event_from_webhook, verify_hmac
from policy.models import EventKind
from tests.shopify import payloads

SECRET = b"shpss_0123456789abcdef"
BODY = json.dumps(payloads.returns_request()).encode()


def _sig(secret: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


# --- HMAC -------------------------------------------------------------------------------------


def test_valid_signature_is_accepted():
    assert verify_hmac(SECRET, BODY, _sig(SECRET, BODY))
    assert wh.sign(SECRET, BODY) == _sig(SECRET, BODY)


def test_forged_signature_is_rejected():
    forged = base64.b64encode(b"\x00" * 32).decode()
    assert not verify_hmac(SECRET, BODY, forged)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_signature_is_rejected(value):
    assert not verify_hmac(SECRET, BODY, value)


@pytest.mark.parametrize("value", ["not base64!!", "%%%%", "YWJj", _sig(SECRET, BODY)[:-4], "Zm9v\nYmFy"])
def test_malformed_signature_is_rejected(value):
    assert not verify_hmac(SECRET, BODY, value)


def test_wrong_secret_is_rejected():
    assert not verify_hmac(b"another-secret", BODY, _sig(SECRET, BODY))
    assert not verify_hmac(b"", BODY, _sig(SECRET, BODY))


def test_body_changed_by_one_byte_is_rejected():
    sig = _sig(SECRET, BODY)
    changed = bytearray(BODY)
    changed[len(changed) // 2] ^= 0x01
    assert not verify_hmac(SECRET, bytes(changed), sig)
    assert not verify_hmac(SECRET, BODY + b" ", sig)


def test_hex_digest_is_not_accepted():
    hexdigest = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert not verify_hmac(SECRET, BODY, hexdigest)


# --- headers ----------------------------------------------------------------------------------


def test_delivery_id_prefers_the_event_id():
    headers = {"X-Shopify-Webhook-Id": "wh-1", "X-Shopify-Event-Id": "ev-1"}
    assert delivery_id(headers) == "ev-1"


def test_delivery_id_falls_back_to_the_webhook_id_and_ignores_case():
    assert delivery_id({"x-shopify-webhook-id": "wh-1"}) == "wh-1"
    assert delivery_id({"X-SHOPIFY-WEBHOOK-ID": "wh-2", "x-shopify-event-id": ""}) == "wh-2"
    assert delivery_id({}) is None


def test_header_lookup_works_with_objects_that_only_have_get():
    class Headers:
        def __init__(self, d):
            self._d = {k.lower(): v for k, v in d.items()}

        def get(self, name, default=None):
            return self._d.get(name.lower(), default)

    h = Headers({"X-Shopify-Event-Id": "ev-9", "X-Shopify-Triggered-At": "2025-03-01T12:00:00.123Z"})
    assert delivery_id(h) == "ev-9"
    assert wh.triggered_at(h) == datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    assert wh.header(h, wh.HMAC_HEADER) is None


def test_header_names():
    assert wh.HMAC_HEADER == "X-Shopify-Hmac-Sha256"
    assert wh.TOPIC_HEADER == "X-Shopify-Topic"
    assert wh.WEBHOOK_ID_HEADER == "X-Shopify-Webhook-Id"
    assert wh.EVENT_ID_HEADER == "X-Shopify-Event-Id"
    assert wh.SHOP_DOMAIN_HEADER == "X-Shopify-Shop-Domain"
    assert wh.TRIGGERED_AT_HEADER == "X-Shopify-Triggered-At"
    assert wh.API_VERSION_HEADER == "X-Shopify-API-Version"


# --- the API version a delivery was rendered with ---------------------------------------------------


def test_a_delivery_in_the_configured_version_is_no_news():
    headers = {"x-shopify-api-version": "2026-10"}
    assert wh.served_api_version(headers) == "2026-10"
    assert wh.api_version_mismatch(headers, "2026-10") is None
    assert wh.api_version_mismatch({}, "2026-10") is None  # no header: nothing to report


def test_a_delivery_in_another_version_is_reported(caplog, fake):
    body, headers = fake.signed_webhook("returns/request", fake.add_return(fake.add_order()), SECRET, api_version="2026-07")
    assert wh.api_version_mismatch(headers, "2026-10") == (
        "Shopify served 2026-07 instead of 2026-10 (2026-10 is not available on this shop yet)"
    )
    watch = wh.VersionWatch("2026-10", where="webhooks")
    caplog.set_level("WARNING")
    for _ in range(3):
        assert wh.api_version_mismatch(headers, watch).startswith("Shopify served 2026-07 instead of 2026-10")
    assert watch.served == "2026-07" and watch.mismatch is not None
    assert sum("api_version_mismatch" in r.getMessage() for r in caplog.records) == 1  # once per version
    # The delivery itself still decodes: a version difference is reported, not refused.
    assert event_from_webhook(headers["X-Shopify-Topic"], json.loads(body)).kind is EventKind.RETURN_REQUESTED


def test_a_retired_version_names_the_setting():
    note = wh.api_version_mismatch({"X-Shopify-API-Version": "2026-01"}, "2025-01")
    assert note == ("Shopify served 2026-01 instead of 2025-01 "
                    "(2025-01 is past Shopify's support window: set SHOPIFY_API_VERSION to a supported version)")


# --- events -------------------------------------------------------------------------------------


def test_returns_request():
    at = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    event = event_from_webhook("returns/request", payloads.returns_request(), triggered_at=at)
    assert event.kind is EventKind.RETURN_REQUESTED
    assert event.source == "shopify"
    assert event.resource_id == "gid://shopify/Return/9990001"
    assert event.order_id == "gid://shopify/Order/5550001"
    assert event.occurred_at == at
    assert event.detail == {"status": "REQUESTED", "name": "#1001-R1", "total_return_line_items": "1"}


def test_returns_request_builds_gids_from_numeric_ids():
    body = payloads.returns_request()
    del body["admin_graphql_api_id"]
    del body["order"]["admin_graphql_api_id"]
    event = event_from_webhook("returns/request", body)
    assert event.resource_id == "gid://shopify/Return/9990001"
    assert event.order_id == "gid://shopify/Order/5550001"
    assert event.occurred_at is None


def test_returns_approve():
    event = event_from_webhook("returns/approve", payloads.returns_approve())
    assert event.kind is EventKind.RETURN_APPROVED
    assert event.detail["status"] == "OPEN"


def test_returns_decline_carries_reason_and_note_without_an_order():
    event = event_from_webhook("returns/decline", payloads.returns_decline())
    assert event.kind is EventKind.RETURN_DECLINED
    assert event.resource_id == "gid://shopify/Return/9990001"
    assert event.order_id is None
    assert event.detail["decline_reason"] == "FINAL_SALE"
    assert event.detail["decline_note"] == "Final-sale items can't be returned."


def test_refunds_create_sums_successful_refund_transactions():
    event = event_from_webhook("refunds/create", payloads.refunds_create())
    assert event.kind is EventKind.REFUND_CREATED
    assert event.resource_id == "gid://shopify/Refund/8880001"
    assert event.order_id == "gid://shopify/Order/5550001"
    assert event.detail["amount"] == "149.00"
    assert event.detail["currency"] == "USD"
    assert event.detail["note"] == "Customer changed their mind"
    assert event.occurred_at == datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_orders_create():
    event = event_from_webhook("orders/create", payloads.orders_create())
    assert event.kind is EventKind.ORDER_CREATED
    assert event.resource_id == event.order_id == "gid://shopify/Order/820982911946154508"
    assert event.detail["name"] == "#9999"
    assert event.detail["total"] == "398.00"
    assert event.detail["customer_id"] == "gid://shopify/Customer/115310627314723954"
    assert event.occurred_at.tzinfo is timezone.utc


def test_disputes_create_builds_gids():
    event = event_from_webhook("disputes/create", payloads.disputes_create())
    assert event.kind is EventKind.DISPUTE_CREATED
    assert event.resource_id == "gid://shopify/ShopifyPaymentsDispute/1052608616"
    assert event.order_id == "gid://shopify/Order/450789469"
    assert event.detail["amount"] == "11.50"
    assert event.detail["reason"] == "FRAUDULENT"
    assert event.detail["status"] == "NEEDS_RESPONSE"
    assert event.occurred_at == datetime(2025, 3, 2, 0, 0, tzinfo=timezone.utc)


def test_detail_values_are_strings():
    for topic, body in [
        ("returns/request", payloads.returns_request()),
        ("refunds/create", payloads.refunds_create()),
        ("orders/create", payloads.orders_create()),
        ("disputes/create", payloads.disputes_create()),
    ]:
        event = event_from_webhook(topic, body)
        assert all(isinstance(v, str) for v in event.detail.values())


@pytest.mark.parametrize("topic", ["products/update", "fulfillments/update", "returns/update", ""])
def test_unknown_topics_are_ignored(topic):
    assert event_from_webhook(topic, {"id": 1}) is None


def test_topic_is_case_insensitive():
    assert event_from_webhook("RETURNS/REQUEST", payloads.returns_request()) is not None


@pytest.mark.parametrize(
    "topic,mutate,message",
    [
        ("returns/request", lambda b: (b.pop("id"), b.pop("admin_graphql_api_id")), "no id"),
        ("returns/request", lambda b: b.pop("order"), "no order id"),
        ("returns/request", lambda b: b["order"].update(id="abc", admin_graphql_api_id=None), "not numeric"),
        ("returns/approve", lambda b: b.pop("order"), "no order id"),
        ("returns/decline", lambda b: (b.pop("id"), b.pop("admin_graphql_api_id")), "no id"),
        ("refunds/create", lambda b: b.pop("order_id"), "no order_id"),
        ("refunds/create", lambda b: (b.pop("id"), b.pop("admin_graphql_api_id")), "no id"),
        ("refunds/create", lambda b: b.update(created_at="yesterday"), "ISO 8601"),
        ("orders/create", lambda b: (b.pop("id"), b.pop("admin_graphql_api_id")), "no id"),
        ("disputes/create", lambda b: b.pop("id"), "no id"),
        ("disputes/create", lambda b: b.update(initiated_at="2025-03-01T19:00:00"), "ISO 8601"),
    ],
)
def test_malformed_payloads_raise(topic, mutate, message):
    body = {
        "returns/request": payloads.returns_request,
        "returns/approve": payloads.returns_approve,
        "returns/decline": payloads.returns_decline,
        "refunds/create": payloads.refunds_create,
        "orders/create": payloads.orders_create,
        "disputes/create": payloads.disputes_create,
    }[topic]()
    mutate(body)
    with pytest.raises(MalformedWebhook, match=message) as info:
        event_from_webhook(topic, body)
    assert isinstance(info.value, ValueError)
    assert topic in str(info.value)


def test_a_gid_of_the_wrong_kind_falls_back_to_the_numeric_id():
    body = payloads.returns_request()
    body["admin_graphql_api_id"] = "gid://shopify/Order/9990001"
    assert event_from_webhook("returns/request", body).resource_id == "gid://shopify/Return/9990001"
