"""What shipping systems say of parcels (SHIPMENT_TRACKED events) becomes delayed-shipment
cases, their closing, and the stages of return parcels.

For each parcel of an event:
1. A return parcel (the tracking number a return's LABEL_SENT stage recorded, or a label
   the system marks as a return): a `StageUpdate` IN_TRANSIT / DELIVERED_BACK for the
   lifecycle, as a RETURN_STAGE event the ingest routes.
2. Else a parcel of the store's order (found by its order number): the policy
   (policy/shipping.py) says whether it is delayed. Delayed and no case for that
   order/parcel yet → one case (the natural key is the order and the parcel, so the same
   report twice is one case). Delivered or moving again → the open case on that parcel
   closes itself; any shipped parcel closes the order's "not shipped" case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from bot import actors
from bot.clock import Clock
from bot.policy_fingerprint import fingerprint
from bot.store import CaseRecord, CaseRepo, NewCase
from bot.store.stages import case_for_tracking
from policy.approval import channel_for
from policy.assess import assess, needs_case
from policy.config import Policy
from policy.lifecycle import ReturnStage, StageUpdate, Tracking
from policy.models import (
    CarrierStatus,
    CaseContext,
    CaseKind,
    CaseStatus,
    DomainEvent,
    EventKind,
    Order,
    ParcelUpdate,
)
from policy.ports import NotFound, StoreSource
from policy.shipping import UNSHIPPED, Progress, delay_of, parcel_key, progress_of

log = logging.getLogger(__name__)

# A case the carrier's progress may close: still waiting, or already acknowledged.
_CLOSABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.DONE)
_BACK = {CarrierStatus.DELIVERED, CarrierStatus.COLLECTION_POINT}
_ON_THE_WAY = {CarrierStatus.ACCEPTED, CarrierStatus.IN_TRANSIT, CarrierStatus.DELIVERY_ATTEMPT,
               CarrierStatus.EXCEPTION}

CLOSE_EVENT = {Progress.DELIVERED: "case.shipment_delivered", Progress.MOVING: "case.shipment_moving",
               Progress.SHIPPED: "case.order_shipped"}


@dataclass
class ShippingReport:
    opened: list[CaseRecord] = field(default_factory=list)
    known: list[CaseRecord] = field(default_factory=list)  # delayed, and its case exists already
    closed: list[CaseRecord] = field(default_factory=list)
    stages: int = 0

    @property
    def case(self) -> CaseRecord | None:
        return (self.opened or self.closed or [None])[0]


def external_id(order: Order, key: str) -> str:
    """One case per order and parcel ("…/Order/1|1Z999", "…/Order/1|unshipped")."""
    return f"{order.id}|{key}"


class ShippingService:
    def __init__(self, *, cases: CaseRepo, source: StoreSource, policy: Policy, clock: Clock,
                 ingest_stage: Callable[[DomainEvent], object] = lambda e: None,
                 on_case_changed: Callable[[CaseRecord], None] = lambda c: None) -> None:
        self.cases, self.source, self.policy, self.clock = cases, source, policy, clock
        self.ingest_stage = ingest_stage  # RETURN_STAGE events → the lifecycle (IngestService.ingest)
        self.on_case_changed = on_case_changed
        self.moments = None  # bot.services.moments.MomentService: a VIP's order delayed

    def apply(self, event: DomainEvent) -> ShippingReport:
        report = ShippingReport()
        for parcel in event.parcels:
            if self._return_parcel(event, parcel):
                report.stages += 1
                continue
            self._order_parcel(event, parcel, report)
        return report

    # --- return parcels ---------------------------------------------------------------------

    def _return_parcel(self, event: DomainEvent, parcel: ParcelUpdate) -> bool:
        s = parcel.shipment
        number = s.tracking_number
        case_id = case_for_tracking(self.cases.engine, number) if number else None
        if case_id is None:
            if parcel.return_label:
                log.info("shipping.return_parcel_unmatched tracking=%s", number)
            return parcel.return_label  # a return label we can't place is no delivery delay either
        case = self.cases.get(case_id)
        if case is None:
            return False
        stage = (ReturnStage.DELIVERED_BACK if s.carrier_status in _BACK
                 else ReturnStage.IN_TRANSIT if s.carrier_status in _ON_THE_WAY else None)
        if stage is None:
            return True  # label made, not with the carrier yet: nothing moved
        at = (s.delivered_at if stage is ReturnStage.DELIVERED_BACK else None) or s.last_scan_at \
            or parcel.reported_at or self.clock()
        words = s.carrier_status.label if s.carrier_status else None
        update = StageUpdate(
            return_id=case.external_id, stage=stage, at=at, source=case.source,
            ref=f"{event.source}:{number}:{stage.value}",
            tracking=Tracking(carrier=s.carrier, number=number, url=s.tracking_url, status=words),
            note=s.exception or s.last_scan,
        )
        self.ingest_stage(DomainEvent(source=case.source, kind=EventKind.RETURN_STAGE, resource_id=case.external_id,
                                      order_id=case.order_id, occurred_at=at, stage=update))
        return True

    # --- the order's parcels ----------------------------------------------------------------

    def _order(self, parcel: ParcelUpdate) -> Order | None:
        ref = (parcel.order_ref or "").strip()
        if not ref:
            return None
        try:
            if ref.startswith("gid://"):
                return self.source.get_order(ref)
            found = [o for o in self.source.find_orders(ref.lstrip("#"), limit=5)
                     if o.number == ref.lstrip("#")]
        except NotFound:
            return None
        return found[0] if found else None

    def _order_parcel(self, event: DomainEvent, parcel: ParcelUpdate, report: ShippingReport) -> None:
        order = self._order(parcel)
        if order is None:
            log.info("shipping.order_unknown source=%s order=%s", event.source, parcel.order_ref)
            return
        now = self.clock()
        rules = self.policy.shipping
        key = parcel_key(parcel)
        if key == UNSHIPPED:  # when it was placed: the store's word, as the policy reads it too
            parcel = parcel.model_copy(update={"ordered_at": order.created_at})
        if delay_of(parcel, rules, now=now) is not None:
            case, created = self._open(event, order, parcel, key, now)
            if case is not None:
                (report.opened if created else report.known).append(case)
            return
        progress = progress_of(parcel, rules, now=now)
        if progress is None:
            return
        keys = [UNSHIPPED] if progress is Progress.SHIPPED else [key, UNSHIPPED]
        for k in keys:
            closed = self._close(event.source, order, k, progress if k == key else Progress.SHIPPED, parcel, now)
            if closed is not None:
                report.closed.append(closed)

    def _open(self, event: DomainEvent, order: Order, parcel: ParcelUpdate, key: str,
              now) -> tuple[CaseRecord | None, bool]:
        ext = external_id(order, key)
        existing = self.cases.find(event.source, ext, CaseKind.DELAYED_SHIPMENT)
        if existing is not None:
            return existing, False
        customer = None
        if order.customer_id:
            try:
                customer = self.source.get_customer(order.customer_id)
            except NotFound:
                customer = None
        ctx = CaseContext(kind=CaseKind.DELAYED_SHIPMENT, now=now, order=order, customer=customer,
                          shipments=(parcel.shipment,))
        assessment = assess(ctx, self.policy)
        if not needs_case(CaseKind.DELAYED_SHIPMENT, assessment.signals, assessment.recommendation):
            return None, False
        if self.moments is not None:
            self.moments.consider(ctx, getattr(self.source, "name", event.source))  # the order's store
        case, created = self.cases.open(NewCase(
            source=event.source, external_id=ext, context=ctx, assessment=assessment,
            channel=channel_for(CaseKind.DELAYED_SHIPMENT, self.policy), opened_at=now,
            policy_fingerprint=fingerprint(self.policy)))  # `assess(ctx, policy)` as stored: the simulator reads it
        if not created:
            return case, False  # opened by a concurrent report of the same parcel
        log.info("case.opened case_id=%s kind=delayed_shipment order=%s parcel=%s", case.id, order.name, key)
        self.on_case_changed(case)
        return case, True

    def _close(self, source: str, order: Order, key: str, progress: Progress, parcel: ParcelUpdate,
               now) -> CaseRecord | None:
        case = self.cases.find(source, external_id(order, key), CaseKind.DELAYED_SHIPMENT)
        if case is None or case.status not in _CLOSABLE:
            return None
        s = parcel.shipment
        detail = {"progress": progress.value, "parcel": s.tracking_number or s.id}
        if s.carrier_status is not None:
            detail["carrier_status"] = s.carrier_status.value
        when = s.delivered_at if progress is Progress.DELIVERED else s.last_scan_at
        if when is not None:
            detail["at"] = when.isoformat()
        if s.last_scan:
            detail["last_scan"] = s.last_scan[:200]
        result = self.cases.transition(case.id, expected=_CLOSABLE, to=CaseStatus.CLOSED, actor=actors.CARRIER,
                                       at=now, event=CLOSE_EVENT[progress], detail=detail)
        if not result.ok:
            return None  # closed (or changed) by someone else meanwhile
        log.info("case.closed_by_carrier case_id=%s progress=%s", case.id, progress.value)
        self.on_case_changed(result.case)
        return result.case
