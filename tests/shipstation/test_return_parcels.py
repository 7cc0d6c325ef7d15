"""A return's parcel, tracked by ShipStation: the tracking number the return's LABEL_SENT
stage recorded, reported in transit and then delivered (each twice), moves the return
case to IN_TRANSIT and DELIVERED_BACK once each, and opens no delayed-shipment case."""

from __future__ import annotations

from datetime import timedelta

import httpx

from blocks.ids import ActionId
from bot.clock import utcnow
from policy.lifecycle import ReturnStage, StageUpdate, Tracking
from policy.models import CaseKind, CaseStatus, DomainEvent, EventKind
from tests.fakes.shipstation import FakeShipStation
from tests.loop.harness import T2A, loop, wait_for
from tests.shipstation.helpers import TOKEN, connector

LABEL = "1ZRETURN0001"


def _send(lp, fake, number: str):
    body = fake.track_event(number)
    response = httpx.post(f"{lp.server.url}/webhooks/shipstation/{TOKEN}", content=body,
                          headers=fake.sign(body, utcnow()), timeout=5)
    assert response.status_code == 200, response.text


def test_a_return_parcel_moves_the_return_through_its_stages_once(database_url):
    fake = FakeShipStation()
    with fake.serve() as base:
        with loop(database_url, connectors=(connector(fake, base, clock=utcnow),)) as lp:
            case = lp.open_case("#1034")
            lp.click(case, ActionId.CASE_APPROVE, T2A)
            wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="approve")
            label = StageUpdate(return_id=case.external_id, stage=ReturnStage.LABEL_SENT, at=utcnow(),
                                source=case.source, ref="rd-1", tracking=Tracking(carrier="UPS", number=LABEL))
            lp.c.ingest.ingest(DomainEvent(source=case.source, kind=EventKind.RETURN_STAGE,
                                           resource_id=case.external_id, stage=label))
            fake.add_shipment(order_number="1034", tracking_number=LABEL, is_return=True)

            fake.set_tracking(LABEL, "IT", events=[{"occurred_at": (utcnow() - timedelta(hours=1)).isoformat(),
                                                    "description": "Departed facility"}])
            _send(lp, fake, LABEL)
            wait_for(lambda: lp.c.cases.get(case.id).stage is ReturnStage.IN_TRANSIT, what="in transit")
            fake.set_tracking(LABEL, "DE", actual=utcnow().isoformat(),
                              events=[{"occurred_at": utcnow().isoformat(), "description": "Delivered"}])
            _send(lp, fake, LABEL)
            fake.tracking[LABEL]["events"].append({"occurred_at": utcnow().isoformat(), "description": "Signed"})
            _send(lp, fake, LABEL)  # delivered, reported again
            wait_for(lambda: lp.c.cases.get(case.id).stage is ReturnStage.DELIVERED_BACK, what="delivered back")
            wait_for(lambda: lp.c.receipts.counts().get("done", 0) == 3, what="all three processed")
            stages = [u.stage for u in lp.c.stages.history(case.id)]
            assert stages.count(ReturnStage.IN_TRANSIT) == 1 and stages.count(ReturnStage.DELIVERED_BACK) == 1
            back = next(u for u in lp.c.stages.history(case.id) if u.stage is ReturnStage.DELIVERED_BACK)
            assert back.tracking.number == LABEL and back.tracking.status == "Delivered"
            assert not [c for c in lp.c.cases.list() if c.kind is CaseKind.DELAYED_SHIPMENT]
