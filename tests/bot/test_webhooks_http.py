"""POST /webhooks/shopify on a running server: verified, deduped, stored, processed once."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.schema import webhook_receipts
from policy.models import CaseKind, CaseStatus
from tests.bot.app_harness import (
    container_for,
    post,
    return_request_payload,
    running,
    shopify_delivery,
)


def _requested_return(c, order_name: str = "#1034"):
    """A return the default policy sends to a person (not auto-approved): Marcus's $549."""
    order = c.store.find_orders(order_name)[0]
    [ret] = [r for r in c.store.get_order_returns(order.id) if r.status.value == "REQUESTED"]
    return ret.id, order.id


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _receipts(c) -> int:
    with c.engine.connect() as conn:
        return len(conn.execute(webhook_receipts.select()).all())


def test_signed_return_request_becomes_one_case_even_when_sent_five_times(database_url, clock):
    c = container_for(database_url, clock)
    rid, oid = _requested_return(c)
    body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery="evt-1")
    with running(c) as server:
        answers = [post(f"{server.url}/webhooks/shopify", body, headers) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
        assert _wait_for(lambda: c.cases.find("shopify", rid, CaseKind.RETURN_REQUEST) is not None)
        time.sleep(0.2)  # give a wrongly duplicated delivery the chance to show up
    assert _receipts(c) == 1
    assert c.cases.count() == 1
    case = c.cases.find("shopify", rid, CaseKind.RETURN_REQUEST)
    assert case.status is CaseStatus.OPEN and case.recommended_action == "refund"
    assert set(case.signal_codes) == {"high_value", "vip_customer"}
    ctx, assessment = c.cases.snapshot(case)
    assert ctx.return_request.id == rid and ctx.order.id == oid
    assert assessment.recommendation.reasons  # explained


def test_same_return_under_new_delivery_ids_is_still_one_case(database_url, clock):
    c = container_for(database_url, clock)
    rid, oid = _requested_return(c)
    with running(c) as server:
        for i in range(3):  # Shopify retries can carry new ids; the natural key holds
            body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery=f"evt-{i}")
            assert post(f"{server.url}/webhooks/shopify", body, headers).status_code == 200
        assert _wait_for(lambda: c.receipts.counts().get("done") == 3)
    assert c.cases.count() == 1


@pytest.mark.parametrize("tamper", ["forged", "wrong-secret", "missing", "body-changed"])
def test_bad_signature_is_401_and_stores_nothing(database_url, clock, tamper):
    c = container_for(database_url, clock)
    rid, oid = _requested_return(c)
    body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery="evt-x",
                                     secret="not-the-secret" if tamper == "wrong-secret" else "test-webhook-secret")
    if tamper == "forged":
        headers["X-Shopify-Hmac-Sha256"] = "AAAA" + headers["X-Shopify-Hmac-Sha256"][4:]
    elif tamper == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    elif tamper == "body-changed":
        body = body.replace(b'"requested"', b'"requestee"')
    with running(c) as server:
        resp = post(f"{server.url}/webhooks/shopify", body, headers)
    assert resp.status_code == 401
    assert _receipts(c) == 0 and c.cases.count() == 0


def test_no_secret_configured_refuses_everything(database_url, clock):
    c = container_for(database_url, clock, shopify_api_secret=None)
    rid, oid = _requested_return(c)
    body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery="evt-1")
    with running(c) as server:
        assert post(f"{server.url}/webhooks/shopify", body, headers).status_code == 401
    assert _receipts(c) == 0


DEEP = 100_000


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"id": 1}',
                                  b"[" * DEEP + b"]" * DEEP,  # valid JSON, too deep to parse (RecursionError)
                                  b'{"id": ' * DEEP + b"1" + b"}" * DEEP],
                         ids=["not-json", "array", "not-a-return", "deep-array", "deep-object"])
def test_malformed_payload_is_400_and_stores_nothing(database_url, clock, body, caplog):
    from integrations.shopify.webhooks import sign

    c = container_for(database_url, clock)
    headers = {"X-Shopify-Topic": "returns/request", "X-Shopify-Event-Id": "evt-bad",
               "X-Shopify-Hmac-Sha256": sign(b"test-webhook-secret", body), "Content-Type": "application/json"}
    with running(c) as server:
        resp = post(f"{server.url}/webhooks/shopify", body, headers)
    assert resp.status_code == 400
    assert "malformed" in resp.json()["error"]
    assert _receipts(c) == 0
    # (waitress may log its own teardown race when the server stops; that is not the request)
    assert [r.getMessage() for r in caplog.records
            if (r.exc_info or r.levelname == "ERROR") and not r.name.startswith("waitress")] == []


def test_unknown_topic_is_accepted_and_ignored(database_url, clock):
    c = container_for(database_url, clock)
    body, headers = shopify_delivery("products/update", {"id": 1}, delivery="evt-p")
    with running(c) as server:
        assert post(f"{server.url}/webhooks/shopify", body, headers).status_code == 200
        assert _wait_for(lambda: c.receipts.counts() == {"ignored": 1})
    assert c.cases.count() == 0


def test_delivery_stored_before_a_crash_is_processed_at_next_start(database_url, clock):
    c = container_for(database_url, clock)
    rid, oid = _requested_return(c)
    body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery="evt-1")
    with running(c, start_workers=False) as server:  # the process "dies" after the 200
        assert post(f"{server.url}/webhooks/shopify", body, headers).status_code == 200
    assert c.receipts.counts() == {"pending": 1} and c.cases.count() == 0
    restarted = container_for(database_url, clock)
    with running(restarted):
        assert _wait_for(lambda: restarted.cases.count() == 1)
    assert restarted.receipts.counts() == {"done": 1}


def test_approved_in_shopify_admin_closes_the_open_case(database_url, clock):
    c = container_for(database_url, clock)
    rid, oid = _requested_return(c)
    with running(c) as server:
        body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery="evt-1")
        post(f"{server.url}/webhooks/shopify", body, headers)
        assert _wait_for(lambda: c.cases.count() == 1)
        body, headers = shopify_delivery("returns/approve", return_request_payload(rid, oid) | {"status": "open"},
                                         delivery="evt-2")
        post(f"{server.url}/webhooks/shopify", body, headers)
        assert _wait_for(lambda: c.receipts.counts().get("done") == 2)
    case = c.cases.find("shopify", rid, CaseKind.RETURN_REQUEST)
    assert case.status is CaseStatus.CLOSED
    assert [a["event"] for a in c.cases.audit(case.id)] == ["case.opened", "case.approved_in_store"]


def test_healthz(database_url, clock):
    c = container_for(database_url, clock)
    with running(c) as server:
        resp = httpx.get(f"{server.url}/healthz")
        assert resp.status_code == 200 and resp.json() == {"ok": True}
        assert httpx.get(f"{server.url}/nope").status_code == 404
        assert httpx.get(f"{server.url}/webhooks/shopify").status_code == 405


def test_return_found_by_the_poller_and_then_announced_by_webhook_is_one_case(database_url, clock):
    c = container_for(database_url, clock)
    for poller in c.pollers:
        poller.run_once()
    before = c.cases.count()
    rid, oid = _requested_return(c)
    assert c.cases.find("shopify", rid, CaseKind.RETURN_REQUEST) is not None
    body, headers = shopify_delivery("returns/request", return_request_payload(rid, oid), delivery="late-1")
    with running(c) as server:
        assert post(f"{server.url}/webhooks/shopify", body, headers).status_code == 200
        assert _wait_for(lambda: c.receipts.counts() == {"done": 1})
    assert c.cases.count() == before
