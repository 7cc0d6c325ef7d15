"""A ShipStation connector wired to a FakeShipStation (over its real server or its transport)."""

from __future__ import annotations

import httpx

from integrations.shipstation import webhooks as ssw
from integrations.shipstation.client import ShipStationV1, ShipStationV2
from integrations.shipstation.connector import ShipStation, connector_for
from tests.fakes.shipstation import API_KEY, API_SECRET, V2_KEY, FakeShipStation

TOKEN = "tok_" + "a1B2c3D4e5F6g7H8i9J0k1L2"


def shipstation(fake: FakeShipStation, base_url: str, *, clock, http: httpx.Client | None = None,
                token: str | None = TOKEN, v2: bool = True) -> ShipStation:
    """The connector's parts; waits cost no real time (the fake's clock moves instead)."""
    kw = dict(http=http, sleep=fake.advance, monotonic=fake.monotonic)
    return ShipStation(
        ShipStationV1(base_url, API_KEY, API_SECRET, **kw),
        ShipStationV2(base_url, V2_KEY, **kw) if v2 else None,
        token=token, jwks=ssw.Jwks(base_url + "/jwks", http=http), clock=clock)


def connector(fake: FakeShipStation, base_url: str, *, clock, **kw):
    return connector_for(shipstation(fake, base_url, clock=clock, **kw))
