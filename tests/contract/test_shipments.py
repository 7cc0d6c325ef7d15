"""Shipments contract (Capability.SHIPMENTS): every adapter that reports parcels — the
sample store's feed and ShipStation (against FakeShipStation) — tells the same story the
same way: a parcel stuck in a carrier exception, a parcel late against its estimate, and
the carrier's truth added to an order's context under the fulfilment's own id.

Adapter tests: no database, no network (the fake answers over an httpx transport)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import httpx
import pytest

from integrations.sample import SampleStore
from integrations.sample import shipments as sample_shipments
from integrations.shipstation import webhooks as ssw
from integrations.shipstation.client import ShipStationV1, ShipStationV2
from integrations.shipstation.connector import ShipStation
from integrations.shipstation.poller import watch_poll
from policy.config import Policy
from policy.models import (CarrierStatus, CaseContext, CaseKind, DeliveryStatus, Money, Order, ParcelUpdate,
                           Shipment)
from policy.shipping import DelayReason, delay_of
from tests.fakes.shipstation import API_KEY, API_SECRET, V2_KEY, FakeShipStation, pacific_wall

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=timezone.utc)


@dataclass
class ShippingWorld:
    name: str
    now: datetime
    reports: Callable[[], list[ParcelUpdate]]
    contribute: Callable[[CaseContext], CaseContext]
    order: Callable[[str], Order]
    exception_order: str
    late_order: str


def sample_world() -> ShippingWorld:
    store = SampleStore.load(now=NOW, clock=lambda: NOW)
    poll = sample_shipments.poll(store)
    return ShippingWorld(
        "sample", NOW, reports=lambda: [p for e in poll(None).events for p in e.parcels],
        contribute=sample_shipments.contribute(store),
        order=lambda n: next(o for o in store.find_orders(n) if o.number == n),
        exception_order=sample_shipments.EXCEPTION_ORDER, late_order=sample_shipments.LATE_ORDER)


def _order(number: str, tracking: str) -> Order:
    usd = Money.of("80.00", "USD")
    return Order(id=f"gid://shopify/Order/{number}", name=f"#{number}", created_at=NOW - timedelta(days=9),
                 currency="USD", total=usd, received=usd, refunded=Money.zero("USD"),
                 shipments=(Shipment(id=f"gid://shopify/Fulfillment/{number}", status=DeliveryStatus.IN_TRANSIT,
                                     carrier="UPS", tracking_number=tracking, shipped_at=NOW - timedelta(days=8)),))


def shipstation_world() -> ShippingWorld:
    fake = FakeShipStation()
    http = httpx.Client(transport=fake.transport())
    kw = dict(http=http, sleep=fake.advance, monotonic=fake.monotonic)
    ss = ShipStation(ShipStationV1("https://ssapi.shipstation.com", API_KEY, API_SECRET, **kw),
                     ShipStationV2("https://api.shipstation.com", V2_KEY, **kw), token=None,
                     jwks=ssw.Jwks("https://api.shipengine.com/jwks", http=http), clock=lambda: NOW)
    orders = {"2001": _order("2001", "1ZEXCEPT0001"), "2002": _order("2002", "1ZLATE00002")}
    for number, order in orders.items():
        fake.add_shipment(order_number=number, tracking_number=order.shipments[0].tracking_number,
                          create_date=pacific_wall(NOW - timedelta(days=8)))
    fake.set_tracking("1ZEXCEPT0001", "EX", exception="Address incomplete",
                      estimated=(NOW + timedelta(days=1)).isoformat(),
                      events=[{"occurred_at": (NOW - timedelta(days=1)).isoformat(), "description": "Held",
                               "city_locality": "Louisville"}])
    fake.set_tracking("1ZLATE00002", "IT", estimated=(NOW - timedelta(days=4)).isoformat(),
                      events=[{"occurred_at": (NOW - timedelta(days=6)).isoformat(), "description": "Departed"}])
    poll = watch_poll(ss.v1, ss.track, now=lambda: NOW)
    return ShippingWorld("shipstation", NOW, reports=lambda: [p for e in poll(None).events for p in e.parcels],
                         contribute=ss.contribute, order=orders.__getitem__,
                         exception_order="2001", late_order="2002")


WORLDS = [sample_world, shipstation_world]


@pytest.fixture(params=WORLDS, ids=lambda w: w.__name__.removesuffix("_world"))
def shipping(request) -> ShippingWorld:
    return request.param()


def _ctx(world: ShippingWorld, number: str) -> CaseContext:
    return CaseContext(kind=CaseKind.RETURN_REQUEST, now=world.now, order=world.order(number))


def _aware(*values):
    return all(v is None or (v.tzinfo is not None and v.utcoffset() == timedelta(0)) for v in values)


def test_a_parcel_stuck_in_an_exception(shipping):
    [stuck] = [p for p in shipping.reports() if p.order_ref == shipping.exception_order]
    s = stuck.shipment
    assert s.carrier_status is CarrierStatus.EXCEPTION and s.status is DeliveryStatus.FAILED
    assert s.exception and s.tracking_number and s.last_scan_at is not None
    assert _aware(s.shipped_at, s.estimated_delivery_at, s.last_scan_at, s.delivered_at)
    delay = delay_of(stuck, Policy.default().shipping, now=shipping.now)
    assert delay is not None and delay.reason is DelayReason.EXCEPTION


def test_a_parcel_late_against_its_estimate(shipping):
    late = [p for p in shipping.reports() if p.order_ref == shipping.late_order
            and p.shipment.carrier_status is CarrierStatus.IN_TRANSIT]
    assert late
    s = late[0].shipment
    assert s.estimated_delivery_at < shipping.now - timedelta(days=Policy.default().shipping.late_after_days)
    assert delay_of(late[0], Policy.default().shipping, now=shipping.now).reason is DelayReason.LATE
    # With a more patient policy, the same parcel is on time.
    patient = Policy.default().shipping.model_copy(update={"late_after_days": 30})
    assert delay_of(late[0], patient, now=shipping.now) is None


def test_the_carrier_truth_joins_the_orders_context(shipping):
    ctx = _ctx(shipping, shipping.exception_order)
    added = shipping.contribute(ctx)
    assert added.order == ctx.order  # a contributor never rewrites the store's order
    [tracked] = [s for s in added.shipments if s.carrier_status is CarrierStatus.EXCEPTION]
    listed = {s.tracking_number: s.id for s in ctx.order.shipments}
    if tracked.tracking_number in listed:  # the store's own parcel: under its id, so it replaces it
        assert tracked.id == listed[tracked.tracking_number]


def test_an_order_with_nothing_to_add(shipping):
    quiet = next(o for o in (shipping.order(n) for n in (shipping.late_order, shipping.exception_order)))
    ctx = CaseContext(kind=CaseKind.RETURN_REQUEST, now=shipping.now,
                      order=quiet.model_copy(update={"id": "gid://shopify/Order/999999", "name": "#999999",
                                                     "shipments": ()}))
    assert shipping.contribute(ctx).shipments == ()
