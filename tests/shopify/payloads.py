"""Real-shaped webhook bodies (returns/* from the documented field shapes; orders, refunds and
disputes are unwrapped REST resources)."""

from __future__ import annotations

import copy
from typing import Any


def returns_request() -> dict[str, Any]:
    return {
        "id": 9990001,
        "admin_graphql_api_id": "gid://shopify/Return/9990001",
        "status": "requested",
        "order": {"id": 5550001, "admin_graphql_api_id": "gid://shopify/Order/5550001"},
        "total_return_line_items": 1,
        "name": "#1001-R1",
        "return_line_items": [
            {
                "id": 4440001,
                "admin_graphql_api_id": "gid://shopify/ReturnLineItem/4440001",
                "fulfillment_line_item": {
                    "id": 2220001,
                    "admin_graphql_api_id": "gid://shopify/FulfillmentLineItem/2220001",
                    "line_item": {"id": 1110001, "admin_graphql_api_id": "gid://shopify/LineItem/1110001"},
                },
                "quantity": 1,
                "return_reason": "size_too_small",
                "return_reason_note": "",
                "customer_note": "Runs small <!channel>",
                "restocking_fee": None,
            }
        ],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


def returns_approve() -> dict[str, Any]:
    body = returns_request()
    body["status"] = "open"
    body["return_line_items"][0]["restocking_fee"] = None
    return body


def returns_decline() -> dict[str, Any]:
    return {
        "id": 9990001,
        "admin_graphql_api_id": "gid://shopify/Return/9990001",
        "status": "declined",
        "decline": {"reason": "final_sale", "note": "Final-sale items can't be returned."},
    }


def refunds_create() -> dict[str, Any]:
    return {
        "id": 8880001,
        "order_id": 5550001,
        "created_at": "2025-03-01T07:00:00-05:00",
        "note": "Customer changed their mind",
        "user_id": None,
        "processed_at": "2025-03-01T07:00:00-05:00",
        "restock": False,
        "duties": [],
        "admin_graphql_api_id": "gid://shopify/Refund/8880001",
        "refund_line_items": [],
        "transactions": [
            {
                "id": 1230002,
                "order_id": 5550001,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "created_at": "2025-03-01T07:00:00-05:00",
                "test": False,
                "currency": "USD",
                "amount": "100.00",
                "parent_id": 1230001,
                "admin_graphql_api_id": "gid://shopify/OrderTransaction/1230002",
            },
            {
                "id": 1230003,
                "order_id": 5550001,
                "kind": "refund",
                "gateway": "gift_card",
                "status": "success",
                "currency": "USD",
                "amount": "49.00",
                "parent_id": 1230004,
            },
            {"id": 1230005, "kind": "refund", "status": "failure", "currency": "USD", "amount": "999.00"},
        ],
        "order_adjustments": [],
    }


def orders_create() -> dict[str, Any]:
    return {
        "id": 820982911946154508,
        "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "name": "#9999",
        "email": "jon@example.com",
        "created_at": "2025-03-01T19:00:00-05:00",
        "currency": "USD",
        "current_total_price": "398.00",
        "total_price": "398.00",
        "financial_status": "paid",
        "customer": {
            "id": 115310627314723954,
            "admin_graphql_api_id": "gid://shopify/Customer/115310627314723954",
            "email": "jon@example.com",
        },
        "line_items": [{"id": 866550311766439020, "title": "Aviator sunglasses", "price": "199.00", "quantity": 2}],
    }


def disputes_create() -> dict[str, Any]:
    return {
        "id": 1052608616,
        "order_id": 450789469,
        "type": "chargeback",
        "amount": "11.50",
        "currency": "USD",
        "reason": "fraudulent",
        "network_reason_code": "4837",
        "status": "needs_response",
        "evidence_due_by": "2025-03-15T19:00:00-04:00",
        "evidence_sent_on": None,
        "finalized_on": None,
        "initiated_at": "2025-03-01T19:00:00-05:00",
    }


def copy_of(body: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(body)
