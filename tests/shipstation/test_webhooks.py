"""The ShipStation webhook door, through the running app: the path's token (wrong → 404,
nothing stored), the SSRF guard on SHIP_NOTIFY's resource_url, and V2's RSA signature
over "timestamp.body" against the JWKS with its 5-minute window (forged or stale → 401)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clock import utcnow
from integrations.shipstation.webhooks import safe_resource_url, token_matches
from tests.fakes.shipstation import FakeShipStation
from tests.loop.harness import loop, wait_for
from tests.shipstation.helpers import TOKEN, connector

HOSTILE = [
    "https://evil.example/shipments?batchId=1",
    "https://ssapi.shipstation.com.evil.example/shipments?batchId=1",
    "https://ssapi.shipstation.com@evil.example/shipments?batchId=1",
    "https://user:pw@ssapi.shipstation.com/shipments?batchId=1",
    "https://ssapi.shipstation.com\\@evil.example/shipments",
    "http://ssapi.shipstation.com/shipments?batchId=1",
    "https://127.0.0.1/shipments?batchId=1",
    "https://[::1]/shipments?batchId=1",
    "https://169.254.169.254/shipments?batchId=1",
    "https://2130706433/shipments?batchId=1",
    "https://ssapi.shipstation.com:8443/shipments?batchId=1",
    "https://ssapi.shipstation.com/accounts/listtags",
    "https://ssapi.shipstation.com/shipments/../accounts",
    "https://evilssapi.shipstation.com/shipments",
    "https://ssapi.shipstation.com/shipments#frag",
    "ftp://ssapi.shipstation.com/shipments",
    "https://ssapi.shipstation.com/shipments?" + "x" * 200,
    "",
    None,
    42,
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_resource_urls_are_refused(url):
    assert safe_resource_url(url) is None
    assert safe_resource_url(url, own_api_url="http://127.0.0.1:5000") is None


@pytest.mark.parametrize("url", ["https://ssapi.shipstation.com/shipments?batchId=1&includeShipmentItems=False",
                                 "https://ssapi12.shipstation.com/shipments?batchId=1",
                                 "https://SSAPI.shipstation.com:443/shipments"])
def test_shipstations_own_urls_are_followed(url):
    assert safe_resource_url(url) == url


def test_the_configured_api_origin_is_followed_exactly():
    own = "http://127.0.0.1:5000"
    assert safe_resource_url("http://127.0.0.1:5000/shipments?batchId=1", own_api_url=own)
    assert safe_resource_url("http://127.0.0.1:5001/shipments?batchId=1", own_api_url=own) is None
    assert safe_resource_url("https://127.0.0.1:5000/shipments?batchId=1", own_api_url=own) is None


def test_token_compare():
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN, TOKEN[:-1]) and not token_matches(TOKEN, TOKEN + "x")
    assert not token_matches(None, "") and not token_matches("", "")
    assert not token_matches(TOKEN, "\udcff")


# --- through the running app ------------------------------------------------------------------


@pytest.fixture
def app(database_url):
    fake = FakeShipStation()
    with fake.serve() as base:
        with loop(database_url, connectors=(connector(fake, base, clock=utcnow),)) as lp:
            yield lp, fake


def _post(lp, body: bytes, headers: dict | None = None, token: str = TOKEN):
    return httpx.post(f"{lp.server.url}/webhooks/shipstation/{token}", content=body,
                      headers=headers or {"Content-Type": "application/json"}, timeout=5)


def _stored(lp) -> int:
    return sum(lp.c.receipts.counts().values())


def test_a_wrong_or_missing_token_is_404_and_nothing_is_stored(app):
    lp, fake = app
    body = fake.ship_notify("1")
    for token in ("wrong-token-wrong-token-123", TOKEN[:-1], TOKEN + "x", "", f"{TOKEN}/extra"):
        assert _post(lp, body, token=token).status_code == 404, token
    assert httpx.post(f"{lp.server.url}/webhooks/shipstation", content=body, timeout=5).status_code == 404
    assert _stored(lp) == 0 and fake.calls == []


@pytest.mark.parametrize("url", HOSTILE[:6])
def test_a_hostile_resource_url_is_refused_at_the_door(app, url):
    lp, fake = app
    response = _post(lp, json.dumps({"resource_url": url, "resource_type": "SHIP_NOTIFY"}).encode())
    assert response.status_code == 400
    assert _stored(lp) == 0 and fake.calls == []  # nothing stored, nothing fetched


def test_ship_notify_is_fetched_back_with_basic_auth(app):
    lp, fake = app
    order = lp.store.find_orders("1008")[0]
    fake.add_shipment(order_number="1008", tracking_number=order.shipments[0].tracking_number, batch_id="77")
    response = _post(lp, fake.ship_notify("77"))
    assert response.status_code == 200
    wait_for(lambda: lp.c.receipts.counts().get("done") or lp.c.receipts.counts().get("ignored"), what="processing")
    [call] = fake.calls_to("/shipments")
    assert call.query["batchId"] == "77" and call.headers["authorization"].startswith("Basic ")
    # The new label is subscribed to V2 tracking webhooks, so its scans come to the same route.
    assert fake.subscribed == [("ups", order.shipments[0].tracking_number)]


def test_a_valid_v2_signature_is_accepted(app):
    lp, fake = app
    fake.set_tracking("1ZTEST", "IT")
    body = fake.track_event("1ZTEST")
    assert _post(lp, body, fake.sign(body, utcnow())).status_code == 200
    assert _stored(lp) == 1


def _forgeries(fake: FakeShipStation):
    fake.set_tracking("1ZTEST", "DE")
    body = fake.track_event("1ZTEST")
    now = utcnow()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tampered = fake.sign(body, now)
    yield "another key", body, fake.sign(body, now, key=other)
    yield "tampered body", body.replace(b'"DE"', b'"EX"'), tampered
    yield "stale", body, fake.sign(body, now - timedelta(minutes=6))
    yield "from the future", body, fake.sign(body, now + timedelta(minutes=6))
    yield "unknown key id", body, fake.sign(body, now, key_id="nobody")
    yield "no signature headers", body, {"Content-Type": "application/json"}
    headers = fake.sign(body, now)
    headers["x-shipengine-rsa-sha256-signature"] = "not base64 !!"
    yield "garbage signature", body, headers
    # Signature headers on a V1-looking body: judged as V2, never by the token alone.
    v1_body = fake.ship_notify("1")
    yield "v1 body, forged v2 headers", v1_body, fake.sign(v1_body, now, key=other)


def test_forged_or_stale_v2_webhooks_are_401_and_nothing_is_stored(app):
    lp, fake = app
    for what, body, headers in _forgeries(fake):
        assert _post(lp, body, headers).status_code == 401, what
    assert _stored(lp) == 0
    assert [c.path for c in fake.calls] == ["/jwks"]  # the keys, fetched once (the unknown kid: not again yet)
