"""Through the running app: a carrier exception on an order's parcel, sent as a signed V2
tracking webhook, opens one delayed-shipment case (delivered twice: still one); the
parcel's delivery closes it, and the card says so."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bot.clock import utcnow
from policy.models import CaseKind, CaseStatus
from tests.fakes.shipstation import FakeShipStation
from blocks.ids import ActionId
from tests.loop.harness import action_ids, card_text, loop, wait_for
from tests.shipstation.helpers import TOKEN, connector

ORDER = "1008"


def _post(lp, fake, body: bytes, *, token: str = TOKEN, headers: dict | None = None):
    return httpx.post(f"{lp.server.url}/webhooks/shipstation/{token}", content=body,
                      headers=headers if headers is not None else fake.sign(body, utcnow()), timeout=5)


def _processed(lp) -> int:
    counts = lp.c.receipts.counts()
    return sum(n for status, n in counts.items() if status in ("done", "ignored"))


def _delay_cases(lp):
    return [c for c in lp.c.cases.list(limit=50) if c.kind is CaseKind.DELAYED_SHIPMENT]


def test_exception_opens_one_case_and_delivery_closes_it(database_url):
    fake = FakeShipStation()
    with fake.serve() as base:
        with loop(database_url, connectors=(connector(fake, base, clock=utcnow),)) as lp:
            order = lp.store.find_orders(ORDER)[0]
            number = order.shipments[0].tracking_number
            fake.add_shipment(order_number=ORDER, tracking_number=number, carrier_code="ups")
            scan = (utcnow() - timedelta(hours=3)).isoformat()
            fake.set_tracking(number, "EX", exception="Address <@U0EVIL> not found",
                              estimated=(utcnow() + timedelta(days=1)).isoformat(),
                              events=[{"occurred_at": scan, "description": "Exception: address", "city_locality": "Columbus",
                                       "state_province": "OH", "country_code": "US", "status_code": "EX"}])
            body = fake.track_event(number)
            first = _post(lp, fake, body)
            assert first.status_code == 200, first.text
            again = _post(lp, fake, body)  # the same delivery again: deduped at the door
            assert again.json()["duplicate"] is True
            case = wait_for(lambda: (cs := _delay_cases(lp)) and cs[0].slack_ts and cs[0], what="the delay card")
            # The same exception reported again in another delivery (a later scan): still one case.
            fake.tracking[number]["events"].append({"occurred_at": utcnow().isoformat(), "description": "Held",
                                                    "status_code": "EX"})
            assert _post(lp, fake, fake.track_event(number)).status_code == 200
            wait_for(lambda: _processed(lp) == 2, what="both deliveries processed")
            case = lp.settle(case.id)
            assert len(_delay_cases(lp)) == 1
            assert case.status is CaseStatus.OPEN
            text = card_text(lp.last_card(case))
            assert "Delayed shipment" in text
            assert "exception" in text.lower()
            assert "<@U0EVIL>" not in text  # the carrier's words are escaped
            assert "Customer contacted" in text
            assert action_ids(lp.last_card(case)) == [ActionId.CASE_APPROVE, ActionId.SHIPMENT_RESHIP,
                                                      ActionId.SHIPMENT_REFUND_SHIPPING, ActionId.CASE_ESCALATE]

            fake.set_tracking(number, "DE", actual=utcnow().isoformat(),
                              events=[{"occurred_at": utcnow().isoformat(), "description": "Delivered"}])
            assert _post(lp, fake, fake.track_event(number)).status_code == 200
            closed = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.CLOSED and c,
                              what="the case to close itself")
            closed = lp.settle(closed.id)
            text = card_text(lp.last_card(closed))
            assert "delivered" in text.lower()
            assert "Closed in" not in text  # not the store admin: the parcel closed it
            assert len(_delay_cases(lp)) == 1


def test_an_order_not_shipped_in_time_is_found_by_the_watch_and_closed_by_its_ship_notify(database_url):
    from tests.fakes.shipstation import pacific_wall
    from tests.loop.harness import POLICY

    fake = FakeShipStation()
    with fake.serve() as base:
        with loop(database_url, policy=POLICY + "\n[shipping]\nship_within_days = 2\n",
                  connectors=(connector(fake, base, clock=utcnow),)) as lp:
            order = lp.store.find_orders("1048")[0]  # placed 2.5 days ago, nothing shipped
            fake.add_order(order_number="1048", order_date=pacific_wall(order.created_at))
            [watch] = [p for p in lp.c.pollers if p.name == "shipstation.watch"]
            assert watch.run_once().created == 1
            assert watch.run_once().created == 0  # the next period: the same case
            [case] = _delay_cases(lp)
            case = wait_for(lambda: (c := lp.c.cases.get(case.id)).slack_ts and c, what="the card")
            assert "Not shipped" in card_text(lp.last_card(case))

            fake.add_shipment(order_number="1048", tracking_number="1ZNEWLABEL01", batch_id="b-9",
                              create_date=pacific_wall(utcnow()))
            body = fake.ship_notify("b-9")
            response = httpx.post(f"{lp.server.url}/webhooks/shipstation/{TOKEN}", content=body,
                                  headers={"Content-Type": "application/json"}, timeout=5)
            assert response.status_code == 200
            closed = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.CLOSED and c,
                              what="shipped closes it")
            closed = lp.settle(closed.id)
            assert "the order has shipped" in card_text(lp.last_card(closed))
            assert len(_delay_cases(lp)) == 1
