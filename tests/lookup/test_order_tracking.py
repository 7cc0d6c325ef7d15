"""`/order` shows what the carrier says (ShipStation over its fake): the carrier's status,
the exception, the last scan with its age, and the estimated or actual delivery — the
same contribution a case's context gets. Without a shipping system: the store's view only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blocks.order import render_order_context
from bot.clock import utcnow
from bot.container import Container
from integrations.sample.store import SampleStore
from tests.bot.app_harness import settings_for
from integrations.shipstation.connector import carrier_code
from tests.fakes.shipstation import FakeShipStation
from tests.shipstation.helpers import connector

pytestmark = pytest.mark.usefixtures("database_url")


def _text(message: dict) -> str:
    return str(message["blocks"])


@pytest.fixture
def shipstation():
    fake = FakeShipStation()
    with fake.serve() as base:
        yield fake, base


def test_order_lookup_shows_the_carriers_status_last_scan_and_dates(database_url, shipstation):
    fake, base = shipstation
    now = utcnow()
    store = SampleStore.load(now=now)
    c = Container.build(settings_for(database_url), clock=utcnow, store=store,
                        connectors=(connector(fake, base, clock=utcnow),))
    try:
        stuck, delivered = store.find_orders("#1034")[0], store.find_orders("#1039")[0]
        plain = _text(render_order_context(c.lookup.context_for(stuck)))
        assert "Carrier:" not in plain  # ShipStation knows nothing of it yet: the store's view

        number = stuck.shipments[0].tracking_number
        code = carrier_code(stuck.shipments[0].carrier)
        fake.add_shipment(order_number=stuck.number, tracking_number=number, carrier_code=code)
        fake.set_tracking(number, "EX", carrier_code=code, exception="Address <!channel> incomplete",
                          estimated=(now + timedelta(days=2)).isoformat(),
                          events=[{"occurred_at": (now - timedelta(hours=3)).isoformat(),
                                   "description": "Held at facility", "city_locality": "Louisville",
                                   "state_province": "KY", "country_code": "US", "status_code": "EX"}])
        text = _text(render_order_context(c.lookup.context_for(stuck)))
        assert "Carrier: *Exception*" in text
        assert "Address &lt;!channel&gt; incomplete" in text and "<!channel>" not in text
        assert "last scan Held at facility" in text and "3 hours ago" in text
        assert "expected" in text

        done = delivered.shipments[0].tracking_number
        code = carrier_code(delivered.shipments[0].carrier)
        fake.add_shipment(order_number=delivered.number, tracking_number=done, carrier_code=code)
        fake.set_tracking(done, "DE", carrier_code=code, actual=(now - timedelta(days=1)).isoformat())
        text = _text(render_order_context(c.lookup.context_for(delivered)))
        assert "Carrier: *Delivered*" in text and "delivered" in text and "1 day ago" in text
    finally:
        c.engine.dispose()
