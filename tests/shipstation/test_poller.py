"""The ShipStation pollers against the fake: the catch-up over /shipments from a stored
cursor (Pacific-time filters, every page, voided labels skipped) and the watch (orders
awaiting shipment, recent labels re-tracked)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from integrations.shipstation.client import ShipStationV1, ShipStationV2
from integrations.shipstation.connector import ShipStation
from integrations.shipstation.poller import shipments_poll, watch_poll
from policy.models import CarrierStatus, DeliveryStatus
from tests.fakes.shipstation import API_KEY, API_SECRET, V2_KEY, FakeShipStation, pacific_wall

NOW = datetime(2026, 11, 3, 18, 0, tzinfo=timezone.utc)  # two days after the fall DST change


def _ss(fake: FakeShipStation, *, v2: bool = True) -> ShipStation:
    http = httpx.Client(transport=fake.transport())
    kw = dict(http=http, sleep=fake.advance, monotonic=fake.monotonic)
    return ShipStation(ShipStationV1("https://ssapi.shipstation.com", API_KEY, API_SECRET, **kw),
                       ShipStationV2("https://api.shipstation.com", V2_KEY, **kw) if v2 else None,
                       token=None, jwks=None, clock=lambda: NOW)


def test_the_catch_up_reads_every_page_from_the_cursor_and_moves_it():
    fake = FakeShipStation()
    for i in range(130):  # two pages of 100
        fake.add_shipment(order_number=str(3000 + i), tracking_number=f"1ZCU{i:05d}",
                          create_date=pacific_wall(NOW - timedelta(hours=40) + timedelta(minutes=i)))
    fake.add_shipment(order_number="3999", tracking_number="1ZVOID", voided=True,
                      create_date=pacific_wall(NOW - timedelta(hours=1)))
    fake.add_shipment(order_number="2999", tracking_number="1ZOLD", create_date=pacific_wall(NOW - timedelta(days=5)))
    ss = _ss(fake)
    subscribed = []
    fetch = shipments_poll(ss.v1, ss.track, now=lambda: NOW, subscribe=subscribed.append)
    page = fetch(None)
    assert len(subscribed) == 130  # each new label asked for V2 tracking webhooks
    numbers = [e.parcels[0].shipment.tracking_number for e in page.events]
    assert len(numbers) == 130 and "1ZVOID" not in numbers and "1ZOLD" not in numbers
    newest = NOW - timedelta(hours=40) + timedelta(minutes=129)
    assert datetime.fromisoformat(page.cursor) == newest
    first = fake.calls_to("/shipments")[0]
    # Two days back, asked in Pacific wall-clock time (PST since Nov 1: UTC-8).
    assert first.query["createDateStart"] == (NOW - timedelta(days=2) - timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    assert [c.query["page"] for c in fake.calls_to("/shipments")] == ["1", "2"]
    # Without the carrier's word (the fake knows none of these numbers) a label is in transit.
    assert {e.parcels[0].shipment.status for e in page.events} == {DeliveryStatus.IN_TRANSIT}

    fake.calls.clear()
    again = fetch(page.cursor)
    assert [e.parcels[0].shipment.tracking_number for e in again.events] == ["1ZCU00129"]  # from the cursor on
    assert len(subscribed) == 130  # the label at the cursor itself is not new
    assert fake.calls_to("/shipments")[0].query["createDateStart"] == pacific_wall(newest)[:19].replace("T", " ")


def test_the_watch_reports_unshipped_orders_and_retracks_recent_labels():
    fake = FakeShipStation()
    fake.add_order(order_number="4001", order_date="2026-10-29T09:00:00.0000000")  # PDT then
    fake.add_order(order_number="4002", order_date="2026-10-01T09:00:00.0000000", status="shipped")
    fake.add_shipment(order_number="4003", tracking_number="1ZW0001", create_date=pacific_wall(NOW - timedelta(days=6)))
    fake.set_tracking("1ZW0001", "AT", estimated=(NOW - timedelta(days=1)).isoformat())
    page = watch_poll(_ss(fake).v1, _ss(fake).track, now=lambda: NOW)(None)
    parcels = [p for e in page.events for p in e.parcels]
    [unshipped] = [p for p in parcels if p.shipment.status is DeliveryStatus.UNFULFILLED]
    assert unshipped.order_ref == "4001" and unshipped.ordered_at == datetime(2026, 10, 29, 16, 0, tzinfo=timezone.utc)
    [tracked] = [p for p in parcels if p.shipment.tracking_number == "1ZW0001"]
    assert tracked.order_ref == "4003" and tracked.shipment.carrier_status is CarrierStatus.DELIVERY_ATTEMPT
    assert page.cursor is None


def test_the_watch_without_the_v2_key_reports_only_unshipped_orders():
    fake = FakeShipStation()
    fake.add_order(order_number="4001", order_date="2026-10-29T09:00:00.0000000")
    fake.add_shipment(order_number="4003", tracking_number="1ZW0001", create_date=pacific_wall(NOW - timedelta(days=6)))
    ss = _ss(fake, v2=False)
    page = watch_poll(ss.v1, None, now=lambda: NOW)(None)
    assert [p.order_ref for e in page.events for p in e.parcels] == ["4001"]
    assert not any(c.path.startswith("/v2") for c in fake.calls)
