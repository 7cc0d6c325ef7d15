"""A Return's progress read → stages (the catch-up side of the lifecycle webhooks)."""

from __future__ import annotations

from datetime import datetime, timezone

from integrations.shopify.progress import stage_updates
from integrations.shopify.webhooks import event_from_webhook
from policy.lifecycle import Disposition, ReturnStage

NOW = datetime(2026, 11, 5, tzinfo=timezone.utc)
RET = "gid://shopify/Return/1"


def _read(status="OPEN", closed=None):
    return {
        "id": RET, "name": "#1001-R1", "status": status, "requestApprovedAt": "2026-11-01T10:00:00Z", "closedAt": closed,
        "returnLineItems": {"nodes": [{"id": "gid://shopify/ReturnLineItem/1", "quantity": 2, "processedQuantity": 0,
                                       "fulfillmentLineItem": {"id": "gid://shopify/FulfillmentLineItem/9"}}]},
        "reverseFulfillmentOrders": {"nodes": [{
            "id": "gid://shopify/ReverseFulfillmentOrder/3", "status": "OPEN",
            "lineItems": {"nodes": [{"id": "gid://shopify/ReverseFulfillmentOrderLineItem/4",
                                     "fulfillmentLineItem": {"id": "gid://shopify/FulfillmentLineItem/9"},
                                     "dispositions": [{"type": "RESTOCKED", "quantity": 1, "location": {"name": "Berlin"}},
                                                      {"type": "MISSING", "quantity": 1, "location": None}]}]},
            "reverseDeliveries": {"nodes": [{"id": "gid://shopify/ReverseDelivery/2", "deliverable": {
                "label": {"publicFileUrl": "https://cdn.example/l.pdf", "createdAt": "2026-11-02T09:00:00Z"},
                "tracking": {"carrierName": "DHL", "number": "JD1", "url": None}}}]},
        }]},
    }


def test_a_read_shows_approval_label_and_dispositions_on_return_lines():
    updates = stage_updates(_read(), now=NOW)
    assert [u.stage for u in updates] == [ReturnStage.APPROVED, ReturnStage.LABEL_SENT, ReturnStage.RECEIVED]
    label, received = updates[1], updates[2]
    assert label.tracking.number == "JD1" and label.ref == "gid://shopify/ReverseDelivery/2"
    assert [(d.return_line_id, d.disposition, d.quantity) for d in received.dispositions] == [
        ("gid://shopify/ReturnLineItem/1", Disposition.RESTOCKED, 1),
        ("gid://shopify/ReturnLineItem/1", Disposition.MISSING, 1),
    ]


def test_a_closed_read_gives_the_same_dedupe_key_as_the_close_webhook():
    (closed,) = [u for u in stage_updates(_read("CLOSED", "2026-11-04T12:00:00Z"), now=NOW)
                 if u.stage is ReturnStage.CLOSED]
    hook = event_from_webhook("returns/close", {"admin_graphql_api_id": RET, "id": 1,
                                                "closed_at": "2026-11-04T12:00:00Z"}).stage
    assert (closed.stage, closed.ref) == (hook.stage, hook.ref)


def test_the_label_read_and_the_label_webhook_share_a_ref():
    hook = event_from_webhook("reverse_deliveries/attach_deliverable", {
        "admin_graphql_api_id": "gid://shopify/ReverseDelivery/2", "id": 2, "return_id": 1,
        "updated_at": "2026-11-02T09:00:00Z"}).stage
    (label,) = [u for u in stage_updates(_read(), now=NOW) if u.stage is ReturnStage.LABEL_SENT]
    assert hook.ref == label.ref
