"""The sample store's parcels as a shipping system would report them (ShipStation's role in
a real shop), so `returnsbot demo` shows delayed-shipment cases with no credentials:

- #1047's parcel (the store says in transit) is stuck: the carrier reports an exception.
- #1044 has a second parcel, labelled in the shipping system only, still in transit days
  after its estimated delivery.

Times are relative to the orders' own (which are relative to the store's `now`), so the
story holds whenever the store is loaded. Everything here says "sample".
"""

from __future__ import annotations

from datetime import timedelta

from policy.models import (
    CarrierStatus,
    CaseContext,
    DeliveryStatus,
    DomainEvent,
    EventKind,
    Order,
    ParcelUpdate,
    Shipment,
)
from policy.ports import PollPage

SOURCE = "sample"
POLLER = f"{SOURCE}.shipments"
EXCEPTION_ORDER, LATE_ORDER = "1047", "1044"
LATE_TRACKING = "1ZSAMPLE0LATE0001"


def _order(store, number: str) -> Order | None:
    found = [o for o in store.find_orders(number) if o.number == number]
    return found[0] if found else None


def _stuck(order: Order) -> Shipment | None:
    if not order.shipments or order.shipments[0].shipped_at is None:
        return None
    s = order.shipments[0]
    return s.model_copy(update={
        "status": DeliveryStatus.FAILED, "source": SOURCE, "carrier_status": CarrierStatus.EXCEPTION,
        "estimated_delivery_at": s.shipped_at + timedelta(days=3),
        "last_scan_at": s.shipped_at + timedelta(days=1, hours=4),
        "last_scan": "Held at carrier facility (Louisville, KY)",
        "exception": "Address incomplete: the carrier needs the apartment number",
    })


def _late(order: Order) -> Shipment:
    shipped = order.created_at + timedelta(days=1)
    return Shipment(
        id=f"sample-label:{order.number}-2", status=DeliveryStatus.IN_TRANSIT, carrier="UPS",
        tracking_number=LATE_TRACKING, shipped_at=shipped, estimated_delivery_at=shipped + timedelta(days=3),
        source=SOURCE, carrier_status=CarrierStatus.IN_TRANSIT, last_scan_at=shipped + timedelta(days=1),
        last_scan="Departed facility (Memphis, TN)",
    )


def parcels(store) -> list[ParcelUpdate]:
    """What the shipping system says of the sample's parcels now."""
    out = []
    if (order := _order(store, EXCEPTION_ORDER)) is not None and (stuck := _stuck(order)) is not None:
        out.append(ParcelUpdate(order_ref=order.number, shipment=stuck, reported_at=stuck.last_scan_at))
    if (order := _order(store, LATE_ORDER)) is not None:
        late = _late(order)
        out.append(ParcelUpdate(order_ref=order.number, shipment=late, reported_at=late.last_scan_at))
    return out


def events(store) -> list[DomainEvent]:
    return [DomainEvent(source=SOURCE, kind=EventKind.SHIPMENT_TRACKED,
                        resource_id=f"{p.shipment.tracking_number}:{p.shipment.carrier_status}",
                        order_id=p.order_ref, parcels=(p,)) for p in parcels(store)]


def poll(store):
    """The sample's parcel feed as a poller (the watch a real shipping system has)."""
    return lambda cursor: PollPage(events=events(store), cursor=None)


def contribute(store):
    """The carrier's truth for an order's parcels, as a connector's context contribution."""

    def add(ctx: CaseContext) -> CaseContext:
        found = tuple(p.shipment for p in parcels(store) if p.order_ref == ctx.order.number)
        return ctx.model_copy(update={"shipments": found})

    return add
