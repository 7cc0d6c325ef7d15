"""Catch-up and watch over ShipStation, as pollers (the job runner runs each once per
RETURNSBOT_POLL_INTERVAL across replicas):

- `shipstation.shipments`: labels created since the stored cursor (V1 `GET /shipments`,
  oldest first, every page), each with its carrier tracking when the V2 key is set — what
  a missed SHIP_NOTIFY would have told us. The cursor is the newest `createDate` seen, in
  UTC; V1 filters take Pacific wall-clock time, so it is converted back for the query.
- `shipstation.watch`: what can become late without any webhook: orders still awaiting
  shipment (for `[shipping] ship_within_days`), and the carrier status of recent labels
  (for "in transit past the estimated date"). No cursor: each run looks at the present.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from integrations.shipstation import mapping
from integrations.shipstation.client import ShipStationV1
from policy.models import DomainEvent, EventKind, ParcelUpdate, Shipment
from policy.ports import IntegrationError, PollPage, Unmapped

log = logging.getLogger(__name__)

FIRST_LOOK_BACK = timedelta(days=2)  # the first catch-up, with no cursor yet
WATCH_DAYS = 21  # labels younger than this are re-tracked by the watch
MAX_TRACKED_PER_WATCH = 150  # V2 allows 200 a minute; leave room for webhooks' look-ups
PAGE_SIZE = 100

Track = Callable[[Shipment], Shipment | None]  # a label → its carrier tracking (None: unknown)


def event_for(parcels: list[ParcelUpdate], *, ref: str) -> DomainEvent:
    return DomainEvent(source=mapping.SOURCE, kind=EventKind.SHIPMENT_TRACKED, resource_id=ref,
                       parcels=tuple(parcels))


def _pacific_wall(value: datetime) -> str:
    return value.astimezone(mapping.PACIFIC).strftime("%Y-%m-%d %H:%M:%S")


def shipments_poll(v1: ShipStationV1, track: Track, *, now: Callable[[], datetime],
                   subscribe: Callable[[Shipment], None] = lambda label: None):
    """`subscribe`: told each new label (V2 tracking webhooks for it, see connector.py)."""
    def fetch(cursor: str | None) -> PollPage:
        since = datetime.fromisoformat(cursor) if cursor else now() - FIRST_LOOK_BACK
        items = v1.all_pages("/shipments", "shipments", {
            "createDateStart": _pacific_wall(since), "sortBy": "CreateDate", "sortDir": "ASC",
            "pageSize": PAGE_SIZE})
        events, unmapped, newest = [], [], since
        for item in items:
            try:
                if item.get("voided"):
                    continue
                created = mapping.pacific_to_utc(item.get("createDate"))
                parcel = _tracked(item, track)
                if cursor is None or created is None or created > since:
                    subscribe(mapping.shipment_from_v1(item))
            except (KeyError, ValueError, TypeError) as exc:
                unmapped.append(Unmapped(ref=f"shipment:{item.get('shipmentId')}", error=f"{type(exc).__name__}: {exc}"))
                continue
            if created is not None and created > newest:
                newest = created
            events.append(event_for([parcel], ref=mapping.tracking_ref(parcel)))
        return PollPage(events=events, cursor=newest.astimezone(timezone.utc).isoformat(), unmapped=unmapped)

    return fetch


def watch_poll(v1: ShipStationV1, track: Track | None, *, now: Callable[[], datetime]):
    def fetch(cursor: str | None) -> PollPage:
        parcels = [mapping.unshipped_from_v1_order(o) for o in v1.all_pages(
            "/orders", "orders", {"orderStatus": "awaiting_shipment", "pageSize": PAGE_SIZE})]
        if track is not None:
            start = _pacific_wall(now() - timedelta(days=WATCH_DAYS))
            labels = [i for i in v1.all_pages("/shipments", "shipments", {
                "createDateStart": start, "sortBy": "CreateDate", "sortDir": "DESC", "pageSize": PAGE_SIZE})
                if not i.get("voided") and i.get("trackingNumber")]
            if len(labels) > MAX_TRACKED_PER_WATCH:
                log.warning("shipstation.watch_capped", extra={"labels": len(labels), "tracked": MAX_TRACKED_PER_WATCH})
            for item in labels[:MAX_TRACKED_PER_WATCH]:
                try:
                    parcels.append(_tracked(item, track))
                except IntegrationError as exc:
                    if exc.retry_after is not None:
                        break  # rate limited: the next run goes on
                    continue
        stamp = now().isoformat()
        return PollPage(events=[event_for([p], ref=f"watch:{stamp}:{mapping.tracking_ref(p)}") for p in parcels],
                        cursor=None)

    return fetch


def _tracked(item: dict, track: Track | None) -> ParcelUpdate:
    label = mapping.shipment_from_v1(item)
    tracking = track(label) if track is not None and label.tracking_number else None
    return mapping.parcel_from_v1(item, tracking)
