"""ShipStation as a connector (Capability.SHIPMENTS): where each parcel really is.

- Webhooks at `/webhooks/shipstation/<SHIPSTATION_WEBHOOK_TOKEN>` (webhooks.py): V1
  SHIP_NOTIFY (fetched back from `resource_url`, ShipStation's host only) and V2 tracking
  events (RSA-signed). Both become SHIPMENT_TRACKED events.
- Pollers (poller.py): the catch-up over /shipments, and the watch for late parcels and
  orders not shipped in time.
- Context: for each of the order's fulfilments with a tracking number, the carrier's
  status, dates, last scan and exception (V2), plus ShipStation's own labels for the order
  (V1) that the store doesn't list.
- `check`: one V1 call (and one V2 call when its key is set).
"""

from __future__ import annotations

import logging
from typing import Callable

import httpx

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from integrations.shipstation import mapping, webhooks as ssw
from integrations.shipstation.client import ShipStationV1, ShipStationV2
from integrations.shipstation.poller import event_for, shipments_poll, watch_poll
from policy.models import CaseContext, DomainEvent, ParcelUpdate, Shipment
from policy.ports import IntegrationError

log = logging.getLogger(__name__)

NAME = mapping.SOURCE
LABEL = "ShipStation"

# Carrier names as stores write them → the carrier codes tracking takes.
_CARRIER_CODES = {"united states postal service": "usps", "us postal service": "usps", "dhl express": "dhl_express",
                  "canada post": "canada_post", "royal mail": "royal_mail", "fedex": "fedex", "ups": "ups"}


def carrier_code(name: str | None) -> str | None:
    if not name:
        return None
    text = name.strip().lower()
    return _CARRIER_CODES.get(text) or text.replace(" ", "_")


class ShipStation:
    """The connector's parts around its two clients (either may be None)."""

    def __init__(self, v1: ShipStationV1 | None, v2: ShipStationV2 | None, *, token: str | None,
                 jwks: ssw.Jwks | None, clock: Callable, own_api_url: str | None = None) -> None:
        if v1 is None and v2 is None:
            raise ValueError("ShipStation needs the V1 key and secret or the V2 key")
        self.v1, self.v2, self.token, self.jwks, self.clock = v1, v2, token, jwks, clock
        self.own_api_url = own_api_url or (v1.base_url if v1 else None)

    # --- tracking -----------------------------------------------------------------------------

    def track(self, label: Shipment) -> Shipment | None:
        """The carrier's view of a label; None without the V2 key, or when the carrier
        doesn't know the number. Retryable failures (rate limits, outages) are raised."""
        if self.v2 is None or not label.tracking_number:
            return None
        code = carrier_code(label.carrier)
        if code is None:
            return None
        try:
            info = self.v2.tracking(code, label.tracking_number)
        except IntegrationError as exc:
            if exc.retryable:
                raise
            log.info("shipstation.untracked", extra={"carrier": code, "error": str(exc)})
            return None
        return mapping.shipment_from_tracking(info, shipment_id=label.id) if isinstance(info, dict) else None

    def subscribe(self, label: Shipment) -> None:
        """Ask V2 to send tracking webhooks for a new label (only with a webhook route to send
        them to). Best effort: the watch poller re-tracks labels anyway."""
        code = carrier_code(label.carrier)
        if self.v2 is None or not self.token or not label.tracking_number or code is None:
            return
        try:
            self.v2.start_tracking(code, label.tracking_number)
        except IntegrationError as exc:
            log.info("shipstation.tracking_start_failed", extra={"carrier": code, "error": str(exc)})

    # --- webhooks -----------------------------------------------------------------------------

    def verify(self, body: bytes, headers) -> bool:
        if ssw.kind_of(body, headers) == ssw.V1:
            return True  # the path's token was checked first; V1 signs nothing
        return self.jwks is not None and ssw.verify_v2(body, headers, self.jwks, now=self.clock())

    def validate(self, topic: str, payload: dict) -> None:
        if topic == ssw.V2:
            ssw.validate_v2(payload)
            return
        ssw.validate_v1(payload)
        if payload["resource_type"].upper() in ("SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"):
            if ssw.safe_resource_url(payload["resource_url"], own_api_url=self.own_api_url) is None:
                raise ValueError("resource_url: not ShipStation's shipments API; refused")

    def decode(self, topic: str, payload: dict) -> DomainEvent | None:
        if topic == ssw.V2:
            return self._decode_v2(payload)
        kind = str(payload.get("resource_type", "")).upper()
        if kind not in ("SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"):
            return None  # orders and fulfilments: nothing about parcels
        url = ssw.safe_resource_url(payload.get("resource_url"), own_api_url=self.own_api_url)
        if url is None:  # checked at the door too: never follow it, whatever got stored
            raise ValueError("resource_url: not ShipStation's shipments API; refused")
        if self.v1 is None:
            log.warning("shipstation.ship_notify_without_v1_key")
            return None
        page = self.v1.get_url(url)  # checked: ShipStation's host (or the configured API's origin)
        parcels = []
        for item in mapping.live_v1_shipments(page):
            label = mapping.shipment_from_v1(item)
            self.subscribe(label)  # a new label: its tracking events come to us from now on
            parcels.append(mapping.parcel_from_v1(item, self.track(label)))
        if not parcels:
            return None
        return event_for(parcels, ref="ship_notify:" + ",".join(mapping.tracking_ref(p) for p in parcels)[:200])

    def _decode_v2(self, payload: dict) -> DomainEvent | None:
        if payload.get("resource_type") != "TRACK_EVENT_V2" or not isinstance(payload.get("data"), dict):
            return None
        shipment = mapping.shipment_from_tracking(payload["data"])
        order_ref, is_return = None, False
        if self.v1 is not None and shipment.tracking_number:
            labels = mapping.live_v1_shipments(self.v1.shipments(trackingNumber=shipment.tracking_number))
            if labels:
                order_ref = mapping.parcel_from_v1(labels[0]).order_ref
                is_return = bool(labels[0].get("isReturnLabel"))
                shipment = shipment.model_copy(update={"id": mapping.shipment_from_v1(labels[0]).id})
        parcel = ParcelUpdate(order_ref=order_ref, shipment=shipment, return_label=is_return,
                              reported_at=self.clock())
        return event_for([parcel], ref=mapping.tracking_ref(parcel))

    def route(self) -> WebhookRoute:
        return WebhookRoute(
            path=f"/webhooks/{NAME}/", source=NAME, verify=self.verify,
            topic=lambda headers: ssw.V2 if any(headers.get(h) for h in ssw.SIGNED_HEADERS) else ssw.V1,
            delivery_id=lambda headers: None,  # none given: the body's hash dedupes
            validate=self.validate, decode=self.decode,
            path_secret=lambda given: ssw.token_matches(self.token, given),
        )

    # --- context ------------------------------------------------------------------------------

    def contribute(self, ctx: CaseContext) -> CaseContext:
        found: list[Shipment] = []
        for s in ctx.order.shipments:
            tracked = self.track(s) if s.tracking_number else None
            if tracked is not None:  # same id: it replaces the store's view of this parcel
                found.append(tracked.model_copy(update={"id": s.id, "carrier": s.carrier or tracked.carrier}))
        # ShipStation's own labels the store doesn't list: asked only when the store lists no
        # tracked parcel (ShipStation reports its labels to the store), to spare V1's 40 a minute.
        if self.v1 is not None and not any(s.tracking_number for s in ctx.order.shipments):
            known = {s.tracking_number for s in found if s.tracking_number}
            page = self.v1.shipments(orderNumber=ctx.order.number, pageSize=50)
            for item in mapping.live_v1_shipments(page):
                label = mapping.shipment_from_v1(item)
                if label.tracking_number in known or item.get("isReturnLabel"):
                    continue
                found.append(self.track(label) or label)
        return ctx.model_copy(update={"shipments": tuple(found)})

    def ping(self) -> str:
        parts = []
        if self.v1 is not None:
            body = self.v1.get("/shipments", {"pageSize": 1})
            parts.append(f"V1 reachable ({int(body.get('total') or 0)} shipments)")
        if self.v2 is not None:
            self.v2.get("/v2/carriers")
            parts.append("V2 tracking reachable")
        return "; ".join(parts)


def connector_for(ss: ShipStation) -> Connector:
    pollers = []
    if ss.v1 is not None:
        pollers = [PollSpec(f"{NAME}.shipments", shipments_poll(ss.v1, ss.track, now=ss.clock, subscribe=ss.subscribe)),
                   PollSpec(f"{NAME}.watch", watch_poll(ss.v1, ss.track if ss.v2 else None, now=ss.clock))]
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}), capabilities=frozenset({Capability.SHIPMENTS}),
        webhooks=(ss.route(),) if ss.token else (), pollers=tuple(pollers), contribute=ss.contribute,
        contribute_timeout=4.0, ping=ss.ping,
        reconnect_hint="check SHIPSTATION_API_KEY / SHIPSTATION_API_SECRET (and SHIPSTATION_V2_API_KEY)",
    )


def connector(settings, *, clock, http: httpx.Client | None = None) -> Connector | None:
    """From settings: None unless a ShipStation key is set."""
    if not settings.shipstation_configured:
        return None
    v1 = v2 = None
    if settings.shipstation_api_key and settings.shipstation_api_secret:
        v1 = ShipStationV1(str(settings.shipstation_api_url), settings.shipstation_api_key.get_secret_value(),
                           settings.shipstation_api_secret.get_secret_value(), http=http)
    if settings.shipstation_v2_api_key:
        v2 = ShipStationV2(str(settings.shipstation_v2_api_url), settings.shipstation_v2_api_key.get_secret_value(),
                           http=http)
    token = settings.shipstation_webhook_token.get_secret_value() if settings.shipstation_webhook_token else None
    jwks = ssw.Jwks(str(settings.shipstation_jwks_url), http=http) if token else None
    return connector_for(ShipStation(v1, v2, token=token, jwks=jwks, clock=clock))
