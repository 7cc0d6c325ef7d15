"""Return lifecycle topics (issue 9): each delivery becomes one RETURN_STAGE event with a StageUpdate."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from integrations.shopify.webhooks import TOPICS, MalformedWebhook, event_from_webhook
from policy.lifecycle import Disposition, ReturnStage
from policy.models import EventKind

AT = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)
RET = "gid://shopify/Return/945000954"


def _return_body(**extra):
    return {"id": 945000954, "admin_graphql_api_id": RET, "status": "closed",
            "order": {"id": 450789469, "admin_graphql_api_id": "gid://shopify/Order/450789469"}, **extra}


def _label_body(**extra):
    return {
        "id": 222, "admin_graphql_api_id": "gid://shopify/ReverseDelivery/222",
        "reverse_fulfillment_order": {"id": 333, "return": {"id": 945000954, "admin_graphql_api_id": RET}},
        "deliverable": {"tracking": {"carrier_name": "DHL", "number": "JD0001", "url": "https://dhl.example/JD0001"},
                        "label": {"public_file_url": "https://cdn.example/label.pdf"}},
        "updated_at": "2026-11-03T10:00:00Z", **extra,
    }


def _dispose_body(**extra):
    return {
        "id": 333, "admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrder/333", "return_id": 945000954,
        "line_items": [
            {"return_line_item": {"id": 1, "admin_graphql_api_id": "gid://shopify/ReturnLineItem/1"},
             "dispositions": [{"type": "restocked", "quantity": 1, "location": {"name": "Berlin"}}]},
            {"return_line_item_id": 2, "dispositions": [{"type": "MISSING", "quantity": 1}]},
        ],
        "updated_at": "2026-11-04T08:00:00Z", **extra,
    }


@pytest.mark.parametrize("topic, stage", [
    ("returns/process", ReturnStage.PROCESSED), ("returns/close", ReturnStage.CLOSED),
    ("returns/cancel", ReturnStage.CANCELLED), ("returns/reopen", ReturnStage.APPROVED),
])
def test_return_status_topics_become_stages(topic, stage):
    assert topic in TOPICS
    event = event_from_webhook(topic, _return_body(), triggered_at=AT)
    assert event.kind is EventKind.RETURN_STAGE and event.resource_id == RET
    assert event.order_id == "gid://shopify/Order/450789469"
    assert event.stage.stage is stage and event.stage.return_id == RET and event.stage.at == AT
    assert event.stage.source == "shopify"


def test_replayed_delivery_gives_the_same_dedupe_key():
    first = event_from_webhook("returns/close", _return_body(), triggered_at=AT)
    again = event_from_webhook("returns/close", _return_body(), triggered_at=AT)
    assert (first.stage.source, first.stage.stage, first.stage.ref) == (again.stage.source, again.stage.stage, again.stage.ref)
    label = event_from_webhook("reverse_deliveries/attach_deliverable", _label_body())
    assert label.stage.ref == event_from_webhook("reverse_deliveries/attach_deliverable", _label_body()).stage.ref


def test_label_attached_carries_tracking_and_label():
    event = event_from_webhook("reverse_deliveries/attach_deliverable", _label_body(), triggered_at=AT)
    s = event.stage
    assert s.stage is ReturnStage.LABEL_SENT and s.return_id == RET
    assert (s.tracking.carrier, s.tracking.number) == ("DHL", "JD0001")
    assert s.tracking.label_url == "https://cdn.example/label.pdf"
    assert s.at == datetime(2026, 11, 3, 10, tzinfo=timezone.utc)


def test_dispose_carries_each_line_disposition():
    s = event_from_webhook("reverse_fulfillment_orders/dispose", _dispose_body()).stage
    assert s.stage is ReturnStage.RECEIVED and s.return_id == RET
    assert [(d.return_line_id, d.disposition, d.quantity, d.location) for d in s.dispositions] == [
        ("gid://shopify/ReturnLineItem/1", Disposition.RESTOCKED, 1, "Berlin"),
        ("gid://shopify/ReturnLineItem/2", Disposition.MISSING, 1, None),
    ]


def test_a_later_disposal_of_the_same_order_is_a_new_fact():
    first = event_from_webhook("reverse_fulfillment_orders/dispose", _dispose_body()).stage
    body = _dispose_body()
    body["line_items"][1]["dispositions"] = [{"type": "RESTOCKED", "quantity": 1}]
    assert event_from_webhook("reverse_fulfillment_orders/dispose", body).stage.ref != first.ref


@pytest.mark.parametrize("topic, body", [
    ("returns/close", {"status": "closed"}),  # no id
    ("returns/close", {"id": "abc"}),
    ("returns/process", {"id": 1}),  # no time anywhere and no triggered-at header
    ("reverse_deliveries/attach_deliverable", {"id": 222}),  # names no return
    ("reverse_fulfillment_orders/dispose", _dispose_body(line_items="x")),
    ("reverse_fulfillment_orders/dispose",
     _dispose_body(line_items=[{"return_line_item_id": 2, "dispositions": [{"type": "EATEN", "quantity": 1}]}])),
    ("reverse_fulfillment_orders/dispose",
     _dispose_body(line_items=[{"return_line_item_id": 2, "dispositions": [{"type": "MISSING", "quantity": -1}]}])),
    ("returns/cancel", []),
])
def test_malformed_stage_deliveries_are_rejected(topic, body):
    with pytest.raises(MalformedWebhook):
        event_from_webhook(topic, body)
