"""Delayed shipments, in our terms: when a parcel (or an order not shipped yet) is late, and
when a delay is over. Pure: the bot's shipping service feeds it what the shipping systems
report and acts on the answer.

| what the system reports                         | delay                                |
|-------------------------------------------------|--------------------------------------|
| order not shipped, placed > ship_within_days ago | NOT_SHIPPED                          |
| carrier status EX (exception)                   | EXCEPTION                            |
| carrier status AT (delivery attempt failed)     | ATTEMPT_FAILED                       |
| in transit, now > estimated + late_after_days   | LATE                                 |
| delivered (DE, SP) or moving again (AC, IT)     | none: an open delay case closes      |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from policy.config import ShippingSettings
from policy.models import CarrierStatus, DeliveryStatus, ParcelUpdate

UNSHIPPED = "unshipped"  # the parcel key of an order nothing has shipped for yet


class DelayReason(StrEnum):
    NOT_SHIPPED = "not_shipped"
    EXCEPTION = "exception"
    ATTEMPT_FAILED = "attempt_failed"
    LATE = "late"


class Progress(StrEnum):
    """What an update means for an open delay case on the same parcel."""

    DELIVERED = "delivered"
    MOVING = "moving"  # the carrier has it and is moving it again
    SHIPPED = "shipped"  # an order that was not shipped now is


@dataclass(frozen=True)
class Delay:
    reason: DelayReason
    explanation: str  # one line, for a person
    since: datetime | None = None  # when it became late, where known


def parcel_key(parcel: ParcelUpdate) -> str:
    """Which parcel of the order an update is about: its tracking number, else the
    shipment id, else the order itself while nothing has shipped."""
    s = parcel.shipment
    if s.status is DeliveryStatus.UNFULFILLED:
        return UNSHIPPED
    return s.tracking_number or s.id


def delay_of(parcel: ParcelUpdate, rules: ShippingSettings, *, now: datetime) -> Delay | None:
    """The delay this update shows, or None when the parcel is on time (or we can't tell)."""
    s = parcel.shipment
    if parcel.return_label:
        return None  # coming back to the shop: the return's lifecycle follows it
    if s.status is DeliveryStatus.UNFULFILLED:
        if parcel.ordered_at is None:
            return None
        due = parcel.ordered_at + timedelta(days=rules.ship_within_days)
        if now <= due:
            return None
        days = (now - parcel.ordered_at).days
        return Delay(DelayReason.NOT_SHIPPED,
                     f"Not shipped {days} days after the order was placed "
                     f"(the policy says within {rules.ship_within_days})", due)
    status = s.carrier_status
    if status is CarrierStatus.EXCEPTION:
        text = "The carrier reports an exception"
        return Delay(DelayReason.EXCEPTION, text + (f": {s.exception}" if s.exception else ""), s.last_scan_at)
    if status is CarrierStatus.DELIVERY_ATTEMPT:
        return Delay(DelayReason.ATTEMPT_FAILED, "The carrier tried to deliver and could not", s.last_scan_at)
    if _delivered(parcel):
        return None
    if s.estimated_delivery_at is not None:
        late_from = s.estimated_delivery_at + timedelta(days=rules.late_after_days)
        if now > late_from:
            days = (now - s.estimated_delivery_at).days
            return Delay(DelayReason.LATE,
                         f"Still in transit {days} days after the estimated delivery "
                         f"({s.estimated_delivery_at:%Y-%m-%d}; late after {rules.late_after_days})", late_from)
    return None


def progress_of(parcel: ParcelUpdate, rules: ShippingSettings, *, now: datetime) -> Progress | None:
    """Whether this update ends a delay: delivered, moving again, or (for an order that
    was not shipped) shipped. None while it is still delayed or says nothing new."""
    if delay_of(parcel, rules, now=now) is not None:
        return None
    if _delivered(parcel):
        return Progress.DELIVERED
    if parcel.shipment.status is DeliveryStatus.UNFULFILLED:
        return None
    if parcel.shipment.carrier_status in (CarrierStatus.ACCEPTED, CarrierStatus.IN_TRANSIT):
        return Progress.MOVING
    return Progress.SHIPPED


def _delivered(parcel: ParcelUpdate) -> bool:
    s = parcel.shipment
    return (s.carrier_status in (CarrierStatus.DELIVERED, CarrierStatus.COLLECTION_POINT)
            or s.status is DeliveryStatus.DELIVERED)
