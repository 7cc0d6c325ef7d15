"""The weekly digest's integration health names the payment and shipping systems too: a
Stripe events poller and a ShipStation poller that their vendors refuse (wrong keys, 401 at
the fakes) are listed as failing, each with its own reconnect hint from its connector."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blocks.digest import render_digest
from bot.container import Container
from integrations.sample.store import SampleStore
from integrations.shipstation import webhooks as ssw
from integrations.shipstation.client import ShipStationV1
from integrations.shipstation.connector import ShipStation, connector_for as shipstation_connector
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for as stripe_connector
from tests.bot.app_harness import settings_for
from tests.fakes.shipstation import FakeShipStation
from tests.fakes.stripe import FakeStripe

pytestmark = pytest.mark.usefixtures("database_url")


def _text(message: dict) -> str:
    return str(message["blocks"])


def test_failing_stripe_and_shipstation_pollers_are_in_the_digest_with_their_reconnect_hints(database_url, clock):
    stripe, shipping = FakeStripe(), FakeShipStation()
    with stripe.serve(), shipping.serve() as ss_base:
        store = SampleStore.load(now=clock())
        refused_stripe = stripe_connector(StripeAPI("sk_test_revoked_key_000", base=stripe.base_url,
                                                    max_network_retries=0),
                                          store=store, webhook_secret=None, clock=clock)
        v1 = ShipStationV1(ss_base, "not-the-key", "not-the-secret", sleep=shipping.advance,
                           monotonic=shipping.monotonic)
        refused_ss = shipstation_connector(ShipStation(v1, None, token=None, jwks=ssw.Jwks(ss_base + "/jwks"),
                                                       clock=clock))
        c = Container.build(settings_for(database_url), clock=clock, store=store,
                            connectors=(refused_stripe, refused_ss))
        try:
            theirs = [p for p in c.pollers if p.name.startswith(("stripe.", "shipstation."))]
            assert {p.name for p in theirs} >= {"stripe.events", "shipstation.shipments"}
            reports = [p.run_once() for p in theirs]
            assert all(r.error for r in reports)
            # For contrast: the store's pollers work, and are not listed as failing.
            store_pollers = [p for p in c.pollers if p not in theirs]
            assert store_pollers and all(p.run_once().error is None for p in store_pollers)

            digest = c.digest.compute(clock() - timedelta(days=7), clock() + timedelta(minutes=1))
            failing = {h.system: h for h in digest.health if not h.ok}
            assert {"stripe.events", "shipstation.shipments"} <= set(failing)
            assert not {p.name for p in store_pollers} & set(failing)
            assert failing["stripe.events"].needs_reconnect and failing["shipstation.shipments"].needs_reconnect
            text = _text(render_digest(digest))
            assert "reconnect Stripe: it refused returnsbot's credentials (update STRIPE_API_KEY" in text
            assert f"reconnect ShipStation: it refused returnsbot's credentials ({refused_ss.reconnect_hint})" in text
            assert "`stripe.events`" in text and "`shipstation.shipments`" in text
            assert "sk_test_revoked_key_000" not in text  # the refused key is never shown
        finally:
            c.engine.dispose()
