"""ShipStation JSON → our domain. The only place ShipStation's field names live (with the
client and the webhooks).

Two APIs (reference/shipstation/api-v1-and-v2-tracking.md):
- V1 (`ssapi.shipstation.com`): shipments and orders, camelCase. It has no tracking status
  and no delivery dates: a V1 shipment is a label with a tracking number. Its timestamps
  are Pacific time with no offset ("2026-11-20T08:46:27.0000000"); `shipDate` is a date.
- V2 / ShipEngine tracking, snake_case: `status_code` (UN AC IT DE EX AT NY SP), estimated
  and actual delivery dates (ISO, sometimes without a zone), the events (scans).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from policy.models import CarrierStatus, DeliveryStatus, ParcelUpdate, Shipment

SOURCE = "shipstation"
PACIFIC = ZoneInfo("America/Los_Angeles")

# V1 writes up to 7 fractional digits (.NET ticks); Python's parser takes 6.
_V1_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$")

_DELIVERY = {
    CarrierStatus.UNKNOWN: DeliveryStatus.UNKNOWN,
    CarrierStatus.NOT_YET_IN_SYSTEM: DeliveryStatus.IN_TRANSIT,  # labelled: shipped from our side
    CarrierStatus.ACCEPTED: DeliveryStatus.IN_TRANSIT,
    CarrierStatus.IN_TRANSIT: DeliveryStatus.IN_TRANSIT,
    CarrierStatus.DELIVERY_ATTEMPT: DeliveryStatus.IN_TRANSIT,  # still out there, not with the customer
    CarrierStatus.EXCEPTION: DeliveryStatus.FAILED,
    CarrierStatus.DELIVERED: DeliveryStatus.DELIVERED,
    CarrierStatus.COLLECTION_POINT: DeliveryStatus.DELIVERED,  # the carrier's job is done
}


def pacific_to_utc(text: str | None) -> datetime | None:
    """A V1 timestamp (Pacific wall-clock time, no offset) in UTC.

    Across DST changes a wall-clock time can be ambiguous (01:30 on the first Sunday of
    November happens twice) or missing (02:30 on the second Sunday of March never
    happens). We read an ambiguous time as the first of the two (PDT, `fold=0`) and a
    missing one with the offset in force before the jump (PST), which lands it where a
    clock that was not moved forward would be: docs/DECISIONS.md.
    A value that already carries an offset is taken as it says."""
    if not text:
        return None
    text = text.strip()
    m = _V1_TIME.match(text)
    if m is None:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))  # raises ValueError on rubbish
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=PACIFIC)
        return parsed.astimezone(timezone.utc)
    day, hh, mm, ss, frac = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    wall = datetime.combine(date.fromisoformat(day), time(int(hh), int(mm), int(ss or 0), micro))
    return wall.replace(tzinfo=PACIFIC, fold=0).astimezone(timezone.utc)


def pacific_date_to_utc(text: str | None) -> datetime | None:
    """A V1 date (`shipDate`): the start of that day in Pacific time, in UTC."""
    if not text:
        return None
    return pacific_to_utc(text[:10] + "T00:00:00")


def v2_time(value: str | None) -> datetime | None:
    """A V2 timestamp: ISO 8601, with a zone (UTC assumed when it has none: the V2 API
    speaks UTC, and its examples show `estimated_delivery_date` without one)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def carrier_status(code: object) -> CarrierStatus | None:
    if not isinstance(code, str) or not code.strip():
        return None
    try:
        return CarrierStatus(code.strip().upper())
    except ValueError:
        return CarrierStatus.UNKNOWN  # a code newer than ours: say we don't know, don't fail


def shipment_from_tracking(info: dict, *, shipment_id: str | None = None) -> Shipment:
    """A V2 `tracking_information` (or a TRACK_EVENT_V2 webhook's `data`) as a Shipment."""
    status = carrier_status(info.get("status_code")) or CarrierStatus.UNKNOWN
    events = [e for e in info.get("events") or () if isinstance(e, dict)]
    last = max(events, key=lambda e: v2_time(e.get("occurred_at")) or datetime.min.replace(tzinfo=timezone.utc),
               default=None)
    number = _text(info.get("tracking_number"))
    exception = _text(info.get("exception_description"))
    if status is CarrierStatus.EXCEPTION and exception is None:
        exception = _text(info.get("status_detail_description")) or _text(info.get("carrier_status_description"))
    return Shipment(
        id=shipment_id or number or "",
        status=_DELIVERY[status],
        carrier=_text(info.get("carrier_code")),
        tracking_number=number,
        tracking_url=_text(info.get("tracking_url")),
        shipped_at=v2_time(info.get("ship_date")),
        delivered_at=v2_time(info.get("actual_delivery_date")),
        estimated_delivery_at=v2_time(info.get("estimated_delivery_date")),
        source=SOURCE,
        carrier_status=status,
        last_scan_at=v2_time(last.get("occurred_at")) if last else None,
        last_scan=_scan_words(last) if last else _text(info.get("status_description")),
        exception=exception,
        signed_by=_signer(events) if status is CarrierStatus.DELIVERED else None,
    )


def _signer(events: list[dict]) -> str | None:
    """Who signed for the parcel: the latest scan that names a `signer` (the delivery's)."""
    signed = [e for e in events if _text(e.get("signer"))]
    if not signed:
        return None
    latest = max(signed, key=lambda e: v2_time(e.get("occurred_at")) or datetime.min.replace(tzinfo=timezone.utc))
    return _text(latest.get("signer"))


def _scan_words(event: dict) -> str | None:
    place = ", ".join(p for p in (_text(event.get("city_locality")), _text(event.get("state_province")),
                                  _text(event.get("country_code"))) if p)
    words = _text(event.get("description"))
    if words and place:
        return f"{words} ({place})"
    return words or place or None


def shipment_from_v1(item: dict) -> Shipment:
    """A V1 shipment (a label): tracking number and carrier; no carrier status yet."""
    return Shipment(
        id=f"shipstation:{item['shipmentId']}",
        status=DeliveryStatus.IN_TRANSIT,
        carrier=_text(item.get("carrierCode")),
        tracking_number=_text(item.get("trackingNumber")),
        shipped_at=pacific_date_to_utc(item.get("shipDate")) or pacific_to_utc(item.get("createDate")),
        source=SOURCE,
    )


def parcel_from_v1(item: dict, tracking: Shipment | None = None) -> ParcelUpdate:
    """A V1 shipment, with its V2 tracking where we have it. Voided labels never reach
    here (`parcels_from_v1` drops them)."""
    base = shipment_from_v1(item)
    shipment = base
    if tracking is not None:
        shipment = tracking.model_copy(update={
            "id": base.id, "carrier": tracking.carrier or base.carrier,
            "shipped_at": tracking.shipped_at or base.shipped_at,
        })
    return ParcelUpdate(order_ref=_text(item.get("orderNumber")), shipment=shipment,
                        return_label=bool(item.get("isReturnLabel")),
                        reported_at=pacific_to_utc(item.get("createDate")))


def live_v1_shipments(page: dict) -> list[dict]:
    """The shipments of a V1 list page that are real labels (voided ones are not parcels)."""
    items = page.get("shipments")
    if not isinstance(items, list):
        raise ValueError("expected a 'shipments' list")
    return [i for i in items if isinstance(i, dict) and not i.get("voided") and i.get("shipmentId") is not None]


def unshipped_from_v1_order(order: dict) -> ParcelUpdate:
    """A V1 order awaiting shipment: nothing has shipped for it yet."""
    return ParcelUpdate(
        order_ref=_text(order.get("orderNumber")),
        shipment=Shipment(id=f"shipstation-order:{order.get('orderId')}", status=DeliveryStatus.UNFULFILLED,
                          source=SOURCE),
        ordered_at=pacific_to_utc(order.get("orderDate")) or pacific_to_utc(order.get("createDate")),
    )


def tracking_ref(parcel: ParcelUpdate) -> str:
    """A stable id for this report of a parcel (the event's resource id: with the status and
    the last scan, a replayed report is the same event)."""
    s = parcel.shipment
    scan = s.last_scan_at.isoformat() if s.last_scan_at else ""
    status = s.carrier_status.value if s.carrier_status else s.status.value
    return f"{s.tracking_number or s.id}:{status}:{scan}"


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
