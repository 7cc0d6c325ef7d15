"""The ShipStation clients against the fake: V1's 40-a-minute window read from its
headers, 429s waited out (without real sleeping), V2's Retry-After, waits capped, keys
refused, pages followed. Every call the fake received is counted."""

from __future__ import annotations

import httpx
import pytest

from integrations.shipstation.client import ShipStationV1, ShipStationV2
from policy.ports import IntegrationError
from tests.fakes.shipstation import API_KEY, API_SECRET, V2_KEY, FakeShipStation

BASE = "https://ssapi.shipstation.com"


def v1(fake: FakeShipStation, **kw) -> ShipStationV1:
    return ShipStationV1(BASE, kw.pop("key", API_KEY), kw.pop("secret", API_SECRET),
                         http=httpx.Client(transport=fake.transport()), sleep=fake.advance,
                         monotonic=fake.monotonic, **kw)


def v2(fake: FakeShipStation, **kw) -> ShipStationV2:
    return ShipStationV2("https://api.shipstation.com", kw.pop("key", V2_KEY),
                         http=httpx.Client(transport=fake.transport()), sleep=fake.advance,
                         monotonic=fake.monotonic, **kw)


def test_v1_sends_basic_auth_and_waits_for_the_window_instead_of_hitting_429():
    fake = FakeShipStation()
    client = v1(fake, max_wait=90.0)
    for _ in range(45):
        client.shipments()
    assert len(fake.calls) == 45 and all(c.status == 200 for c in fake.calls)  # never throttled
    assert len(client.waited) == 1 and 59 <= client.waited[0] <= 60  # the reset the 40th answer named
    assert fake.calls[0].headers["authorization"].startswith("Basic ")


def test_v1_429_waits_the_reset_and_tries_again():
    fake = FakeShipStation()
    other = v1(fake)  # someone else used up the window with the same key pair
    for _ in range(40):
        other.shipments()
    client = v1(fake, max_wait=90.0)
    assert client.shipments()["shipments"] == []
    assert [c.status for c in fake.calls[40:]] == [429, 200]
    assert 59 <= client.waited[0] <= 60


def test_a_wait_longer_than_the_budget_is_left_to_the_job_runner():
    fake = FakeShipStation()
    for _ in range(40):
        v1(fake).shipments()
    client = v1(fake, max_wait=5.0)
    with pytest.raises(IntegrationError) as err:
        client.shipments()
    assert err.value.retryable and err.value.retry_after == pytest.approx(60, abs=1)
    assert [c.status for c in fake.calls[40:]] == [429]  # nothing sent again
    assert client.waited == []


def test_wrong_credentials_are_not_retried_and_never_echoed():
    fake = FakeShipStation()
    with pytest.raises(IntegrationError) as err:
        v1(fake, secret="wrong-secret").shipments()
    assert not err.value.retryable and "wrong-secret" not in str(err.value)
    assert len(fake.calls) == 1
    with pytest.raises(IntegrationError) as err2:
        v2(fake, key="bad-key").tracking("ups", "1Z1")
    assert not err2.value.retryable and "bad-key" not in str(err2.value)
    assert "wrong-secret" not in repr(v1(fake, secret="wrong-secret"))


def test_v2_honours_retry_after():
    fake = FakeShipStation()
    fake.set_tracking("1Z1", "IT")
    fake.fail_next("/v2/tracking", 429, {"Retry-After": "7"})
    client = v2(fake)
    assert client.tracking("ups", "1Z1")["status_code"] == "IT"
    assert [c.status for c in fake.calls] == [429, 200] and client.waited == [7.0]


def test_v2_200_a_minute_then_429_with_retry_after():
    fake = FakeShipStation()
    fake.set_tracking("1Z1", "IT")
    client = v2(fake, max_wait=90.0)
    for _ in range(201):
        client.tracking("ups", "1Z1")
    statuses = [c.status for c in fake.calls]
    assert statuses.count(429) == 1 and statuses.count(200) == 201 and len(client.waited) == 1


def test_server_errors_back_off_then_give_up_retryable():
    fake = FakeShipStation()
    for _ in range(4):
        fake.fail_next("/shipments", 500)
    client = v1(fake)
    with pytest.raises(IntegrationError) as err:
        client.shipments()
    assert err.value.retryable and len(fake.calls) == 4


def test_all_pages_follows_page_and_pages():
    fake = FakeShipStation()
    for i in range(250):
        fake.add_shipment(order_number=str(2000 + i), tracking_number=f"1Z{i:04d}")
    items = v1(fake).all_pages("/shipments", "shipments", {"pageSize": 100})
    assert len(items) == 250 and len({i["shipmentId"] for i in items}) == 250
    assert [c.query["page"] for c in fake.calls] == ["1", "2", "3"]


def test_v2_start_tracking_subscribes_once_however_often_asked():
    fake = FakeShipStation()
    client = v2(fake)
    client.start_tracking("ups", "1Z1")
    client.start_tracking("ups", "1Z1")
    assert fake.subscribed == [("ups", "1Z1")]
    assert [(c.method, c.status) for c in fake.calls] == [("POST", 204), ("POST", 204)]
