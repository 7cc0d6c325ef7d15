"""ShipStation JSON → our domain: V1's Pacific wall-clock times (both sides of each DST
change, the ambiguous and the missing hour), carrier status codes, V2 tracking."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integrations.shipstation import mapping
from policy.models import CarrierStatus, DeliveryStatus

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "v1-fixtures.synthetic.json").read_text())


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("wall, expected", [
    # 2026-03-08 02:00 PST → 03:00 PDT (UTC-8 before, UTC-7 after)
    ("2026-03-07T12:00:00.0000000", utc(2026, 3, 7, 20, 0)),
    ("2026-03-08T01:59:59.0000000", utc(2026, 3, 8, 9, 59, 59)),
    ("2026-03-08T03:00:00.0000000", utc(2026, 3, 8, 10, 0)),
    ("2026-03-09T12:00:00.0000000", utc(2026, 3, 9, 19, 0)),
    # 2026-11-01 02:00 PDT → 01:00 PST (UTC-7 before, UTC-8 after)
    ("2026-10-31T12:00:00.0000000", utc(2026, 10, 31, 19, 0)),
    ("2026-11-01T00:59:00.0000000", utc(2026, 11, 1, 7, 59)),
    ("2026-11-01T02:00:00.0000000", utc(2026, 11, 1, 10, 0)),
    ("2026-11-02T12:00:00.0000000", utc(2026, 11, 2, 20, 0)),
])
def test_v1_times_are_pacific_on_both_sides_of_each_dst_change(wall, expected):
    assert mapping.pacific_to_utc(wall) == expected


def test_the_ambiguous_and_the_missing_hour_are_read_as_documented():
    # 01:30 happens twice on 2026-11-01: the first one (PDT) is taken.
    assert mapping.pacific_to_utc("2026-11-01T01:30:00") == utc(2026, 11, 1, 8, 30)
    # 02:30 never happens on 2026-03-08: read with the offset before the jump (PST).
    assert mapping.pacific_to_utc("2026-03-08T02:30:00") == utc(2026, 3, 8, 10, 30)


def test_seven_decimals_and_other_spellings():
    assert mapping.pacific_to_utc("2026-11-20T08:46:27.1234567") == utc(2026, 11, 20, 16, 46, 27, 123456)
    assert mapping.pacific_to_utc("2026-11-20 08:46") == utc(2026, 11, 20, 16, 46)
    assert mapping.pacific_to_utc("2026-11-20T08:46:27Z") == utc(2026, 11, 20, 8, 46, 27)  # an offset is kept
    assert mapping.pacific_to_utc(None) is None and mapping.pacific_to_utc("") is None
    with pytest.raises(ValueError):
        mapping.pacific_to_utc("yesterday")


def test_ship_date_is_the_start_of_that_pacific_day():
    assert mapping.pacific_date_to_utc("2026-07-04") == utc(2026, 7, 4, 7, 0)
    assert mapping.pacific_date_to_utc("2026-12-04") == utc(2026, 12, 4, 8, 0)


@pytest.mark.parametrize("code, carrier, delivery", [
    ("UN", CarrierStatus.UNKNOWN, DeliveryStatus.UNKNOWN),
    ("AC", CarrierStatus.ACCEPTED, DeliveryStatus.IN_TRANSIT),
    ("IT", CarrierStatus.IN_TRANSIT, DeliveryStatus.IN_TRANSIT),
    ("DE", CarrierStatus.DELIVERED, DeliveryStatus.DELIVERED),
    ("EX", CarrierStatus.EXCEPTION, DeliveryStatus.FAILED),
    ("AT", CarrierStatus.DELIVERY_ATTEMPT, DeliveryStatus.IN_TRANSIT),
    ("NY", CarrierStatus.NOT_YET_IN_SYSTEM, DeliveryStatus.IN_TRANSIT),
    ("SP", CarrierStatus.COLLECTION_POINT, DeliveryStatus.DELIVERED),
    ("ZZ", CarrierStatus.UNKNOWN, DeliveryStatus.UNKNOWN),  # a newer code: unknown, not a failure
])
def test_every_status_code(code, carrier, delivery):
    s = mapping.shipment_from_tracking({"tracking_number": "1Z1", "status_code": code})
    assert (s.carrier_status, s.status) == (carrier, delivery)


def test_v2_tracking_dates_last_scan_and_exception():
    s = mapping.shipment_from_tracking({
        "tracking_number": "1Z1", "carrier_code": "ups", "status_code": "EX", "tracking_url": "https://t/1Z1",
        "ship_date": "2026-11-20T16:00:00Z", "estimated_delivery_date": "2026-11-24T00:00:00",  # no zone: UTC
        "actual_delivery_date": None, "exception_description": "Address not found",
        "events": [{"occurred_at": "2026-11-22T10:00:00Z", "description": "Out for delivery", "city_locality": "Columbus"},
                   {"occurred_at": "2026-11-22T18:30:00Z", "description": "Exception", "city_locality": "Columbus",
                    "state_province": "OH"}],
    })
    assert s.estimated_delivery_at == utc(2026, 11, 24) and s.shipped_at == utc(2026, 11, 20, 16)
    assert s.last_scan_at == utc(2026, 11, 22, 18, 30) and s.last_scan == "Exception (Columbus, OH)"
    assert s.exception == "Address not found" and s.delivered_at is None and s.source == "shipstation"


def test_the_v1_fixture_maps_to_a_parcel_of_its_order():
    [item] = mapping.live_v1_shipments(FIXTURE["get_resource_url_response"])
    parcel = mapping.parcel_from_v1(item)
    assert parcel.order_ref == "1001" and not parcel.return_label
    assert parcel.shipment.tracking_number == "9400111899561704681189"
    assert parcel.shipment.carrier_status is None  # V1 knows no carrier status
    assert parcel.reported_at == utc(2026, 11, 20, 16, 46, 27)  # 08:46:27 PST


def test_voided_labels_are_not_parcels():
    page = {"shipments": [{"shipmentId": 1, "voided": True}, {"shipmentId": 2, "voided": False}]}
    assert [i["shipmentId"] for i in mapping.live_v1_shipments(page)] == [2]
    with pytest.raises(ValueError):
        mapping.live_v1_shipments({"orders": []})


def test_who_signed_for_a_delivered_parcel_is_evidence():
    events = [{"occurred_at": "2026-11-02T09:00:00Z", "description": "Out for delivery", "signer": ""},
              {"occurred_at": "2026-11-02T14:31:00Z", "description": "Delivered, front desk", "signer": "A LOVELACE"}]
    delivered = mapping.shipment_from_tracking({"tracking_number": "1Z1", "status_code": "DE", "events": events,
                                                "actual_delivery_date": "2026-11-02T14:31:00Z"})
    assert delivered.signed_by == "A LOVELACE" and delivered.delivered_at == utc(2026, 11, 2, 14, 31)
    moving = mapping.shipment_from_tracking({"tracking_number": "1Z1", "status_code": "IT", "events": events})
    assert moving.signed_by is None  # a signer on a scan of a parcel not delivered is not a delivery's
