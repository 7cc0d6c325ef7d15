"""The shipping service over a real database: which parcel reports open a delayed-shipment
case (one per order and parcel), and which close it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.services.shipping import ShippingService
from bot.store import CaseRepo
from integrations.sample import SampleStore
from policy.config import Policy
from policy.models import (CarrierStatus, CaseKind, CaseStatus, DeliveryStatus, DomainEvent, EventKind,
                           ParcelUpdate, Shipment)

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def service(engine):
    store = SampleStore.load(now=NOW, clock=lambda: NOW)
    policy = Policy.default().for_shop(store.shop_facts())
    now = [NOW]
    svc = ShippingService(cases=CaseRepo(engine), source=store, policy=policy, clock=lambda: now[0])
    svc.later = lambda **kw: now.__setitem__(0, now[0] + timedelta(**kw))
    return svc


def _event(*parcels: ParcelUpdate) -> DomainEvent:
    return DomainEvent(source="shipstation", kind=EventKind.SHIPMENT_TRACKED, resource_id="r", parcels=parcels)


def _parcel(order: str, status: CarrierStatus | None, *, tracking: str = "1ZTEST0001", ordered_days: float = 0,
            estimated_days: float | None = None, **kw) -> ParcelUpdate:
    if status is None:
        shipment = Shipment(id="pending", status=DeliveryStatus.UNFULFILLED, source="shipstation")
    else:
        delivery = {CarrierStatus.DELIVERED: DeliveryStatus.DELIVERED, CarrierStatus.EXCEPTION: DeliveryStatus.FAILED}
        shipment = Shipment(id=f"label-{tracking}", status=delivery.get(status, DeliveryStatus.IN_TRANSIT),
                            tracking_number=tracking, carrier="ups", source="shipstation", carrier_status=status,
                            estimated_delivery_at=NOW - timedelta(days=estimated_days) if estimated_days else None,
                            last_scan_at=NOW - timedelta(hours=2), **kw)
    return ParcelUpdate(order_ref=order, shipment=shipment,
                        ordered_at=NOW - timedelta(days=ordered_days) if ordered_days else None)


def _delayed(service) -> list:
    return [c for c in service.cases.list() if c.kind is CaseKind.DELAYED_SHIPMENT]


def test_an_order_not_shipped_in_time_opens_one_case_and_shipping_closes_it(service):
    # #1048 was placed 2.5 days before NOW; the shipping system's own order date is not the judge.
    assert service.apply(_event(_parcel("1048", None, ordered_days=9))).opened == []  # within 3 days
    service.later(days=1)
    [case] = service.apply(_event(_parcel("1048", None))).opened
    again = service.apply(_event(_parcel("1048", None)))  # the same order again: one case
    assert again.opened == [] and [k.id for k in again.known] == [case.id]
    assert case.external_id.endswith("|unshipped") and case.order_name == "#1048"
    ctx, assessment = service.cases.snapshot(case)
    [signal] = [s for s in assessment.signals if s.code == "shipment_delayed"]
    assert signal.evidence["reason"] == "not_shipped" and "3" in signal.explanation
    [closed] = service.apply(_event(_parcel("1048", CarrierStatus.NOT_YET_IN_SYSTEM))).closed
    assert closed.id == case.id and closed.status is CaseStatus.CLOSED
    assert [a["event"] for a in service.cases.audit(case.id)][-1] == "case.order_shipped"


def test_in_transit_past_the_estimate_plus_late_after_days(service):
    assert service.apply(_event(_parcel("1040", CarrierStatus.IN_TRANSIT, estimated_days=1))).opened == []
    [case] = service.apply(_event(_parcel("1040", CarrierStatus.IN_TRANSIT, estimated_days=3))).opened
    _ctx, assessment = service.cases.snapshot(case)
    assert any(s.evidence.get("reason") == "late" for s in assessment.signals)
    # A new scan while still late does not close it; delivery does.
    assert service.apply(_event(_parcel("1040", CarrierStatus.IN_TRANSIT, estimated_days=3))).closed == []
    [closed] = service.apply(_event(_parcel("1040", CarrierStatus.DELIVERED, delivered_at=NOW))).closed
    assert closed.id == case.id


def test_an_exception_case_acknowledged_still_closes_when_the_parcel_moves(service):
    [case] = service.apply(_event(_parcel("1040", CarrierStatus.DELIVERY_ATTEMPT))).opened
    service.cases.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.DONE, actor="U1", at=NOW,
                             event="case.approved")
    # Another parcel of the same order moving does not close this one.
    assert service.apply(_event(_parcel("1040", CarrierStatus.IN_TRANSIT, tracking="1ZOTHER001"))).closed == []
    [closed] = service.apply(_event(_parcel("1040", CarrierStatus.IN_TRANSIT))).closed
    assert closed.id == case.id and [a["event"] for a in service.cases.audit(case.id)][-1] == "case.shipment_moving"
    assert len(_delayed(service)) == 1


def test_parcels_that_say_nothing_open_nothing(service):
    report = service.apply(_event(
        _parcel("999999", CarrierStatus.EXCEPTION),  # no such order in the store
        _parcel(None, CarrierStatus.EXCEPTION),  # a report tied to no order
        _parcel("1040", CarrierStatus.EXCEPTION).model_copy(update={"return_label": True}),  # coming back
        _parcel("1040", CarrierStatus.UNKNOWN),
    ))
    assert report.opened == [] and report.closed == [] and _delayed(service) == []
