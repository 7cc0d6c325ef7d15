"""FakeLoop itself: it signs as Loop does (the reference vector), limits to 300 requests a
minute, answers 401 in Loop's shape, and records every request, failures included."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from integrations.loop import webhooks as lw
from tests.fakes.loop import FakeLoop

VECTOR = json.loads((Path(__file__).parent / "data" / "loop_signature_test_vector.json").read_text())


def test_signed_escapes_slashes_as_loop_does_and_matches_the_vector():
    fake = FakeLoop(webhook_secret=VECTOR["secret"])
    raw, headers = fake.signed(json.loads(VECTOR["raw_body"]))
    assert raw == VECTOR["raw_body"].encode()
    assert headers[lw.SIGNATURE_HEADER] == VECTOR["expected_signature_base64"]


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_301st_request_in_a_minute_is_429_and_every_request_is_recorded():
    clock = Clock()
    fake = FakeLoop(monotonic=clock)
    headers = {"X-Authorization": fake.api_key}
    statuses = [fake.handle("GET", "/api/v1/warehouse/return/list", headers, b"")[0] for _ in range(301)]
    assert statuses[:300] == [200] * 300 and statuses[300] == 429
    clock.t = 60.0
    assert fake.handle("GET", "/api/v1/warehouse/return/list", headers, b"")[0] == 200
    assert len(fake.calls) == 302


def test_a_wrong_key_gets_loops_401_body():
    fake = FakeLoop()
    with fake.serve():
        response = httpx.get(f"{fake.base_url}/warehouse/return/list", headers={"X-Authorization": "nope"})
        assert response.status_code == 401
        assert response.json() == {"error": {"code": "401", "http_code": "GEN-UNAUTHORIZED", "message": "Unauthorized."}}
        bearer = httpx.get(f"{fake.base_url}/warehouse/return/list",
                           headers={"X-Authorization": f"Bearer {fake.api_key}"})
        assert bearer.status_code == 401
    assert [c.status for c in fake.calls] == [401, 401]


def test_remove_takes_refund_lines_then_queues_processing():
    fake = FakeLoop()
    ret = fake.add_return(lines=[{}, {"exchange_variant": "Tee - L"}])
    refund_line, exchange_line = (li["line_item_id"] for li in ret["line_items"])
    h = {"X-Authorization": fake.api_key}
    path = f"/api/v1/warehouse/return/{ret['id']}/remove"
    assert fake.handle("POST", path, h, b"")[1] == {"error": {"message": "The line item id field is required."}}
    assert fake.handle("POST", f"{path}?line_item_id={refund_line},{exchange_line}", h, b"")[0] == 422
    assert fake.handle("POST", f"{path}?line_item_id={refund_line}", h, b"")[:2] == (200, True)
    assert fake.queued == [str(ret["id"])]


def test_details_answer_in_the_currency_asked_and_the_client_asks_for_the_shops():
    from integrations.loop.client import LoopAPI

    fake = FakeLoop()
    ret = fake.add_return(presentment={"currency": "EUR", "refund": "44.00"})
    h = {"X-Authorization": fake.api_key}
    shop = fake.handle("GET", f"/api/v1/warehouse/return/details?return_id={ret['id']}&currency_type=shop", h, b"")[1]
    shown = fake.handle("GET", f"/api/v1/warehouse/return/details?return_id={ret['id']}&currency_type=presentment",
                        h, b"")[1]
    assert (shop["currency"], shop["refund"]) == ("USD", "47.50") and (shown["currency"], shown["refund"]) == ("EUR", "44.00")
    assert fake.handle("GET", f"/api/v1/warehouse/return/details?return_id={ret['id']}&currency_type=x", h, b"")[0] == 422
    with fake.serve():
        assert LoopAPI(fake.api_key, fake.base_url).details(ret["id"])["currency"] == "USD"
