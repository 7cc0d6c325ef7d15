"""The issue's acceptance test: a real `returnsbot serve` process, Shopify answered by a
local fake that validates every query against the 2026-10 schema, signed webhooks in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.db import make_engine
from bot.schema import cases, webhook_receipts
from tests.fakes.shopify import FakeShopify

SECRET = b"e2e-app-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


@pytest.fixture
def shopify():
    fake = FakeShopify()
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture
def serve(database_url, shopify):
    fake, base_url = shopify
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "SLACK_"))}
    env.update(
        DATABASE_URL=database_url,
        SHOPIFY_SHOP=fake.shop_domain,
        SHOPIFY_ACCESS_TOKEN=fake.access_token,
        SHOPIFY_API_SECRET=SECRET.decode(),
        SHOPIFY_API_URL=base_url,
        RETURNSBOT_POLL_INTERVAL="3600",
        RETURNSBOT_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None and (_ for _ in ()).throw(AssertionError(proc.stdout.read()))

    try:
        _wait(up, what="server start")
        # The start-up catch-up poll runs first; the webhook must be what creates the case.
        polls = {"OrdersWithRequestedReturns", "OrdersCreatedSince"}
        _wait(lambda: polls <= set(fake.operations()), what="first poll")
        yield url, fake
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        assert "Traceback" not in (out or ""), out


def _seed_return(fake: FakeShopify) -> str:
    customer = fake.add_customer(display_name="Ada Lovelace", tags=["VIP"])
    order = fake.add_order(customer_id=customer, line_items=[{"title": "Trail Jacket", "price": "649.00"}])
    return fake.add_return(order, reason="DEFECTIVE")


def test_signed_webhook_to_running_server_makes_exactly_one_explained_case(serve, database_url):
    url, fake = serve
    return_id = _seed_return(fake)
    body, headers = fake.signed_webhook("returns/request", return_id, SECRET)
    engine = make_engine(database_url)
    try:
        answers = [httpx.post(f"{url}/webhooks/shopify", content=body, headers=headers, timeout=5) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        _wait(lambda: _count(engine, cases, cases.c.external_id == return_id) == 1, what="the case")
        _wait(lambda: _count(engine, webhook_receipts, webhook_receipts.c.status == "done") == 1, what="processing")
        time.sleep(0.3)
        assert _count(engine, cases) == 1
        assert _count(engine, webhook_receipts) == 1
        with engine.connect() as conn:
            row = conn.execute(select(cases)).one()
        assert row.kind == "return_request" and row.status == "open"
        assert row.amount_minor == 64900 and row.currency == "USD"
        assert set(row.signal_codes.split(",")) == {"high_value", "vip_customer"}
        assert row.recommended_action == "refund" and row.required_tier == 1
        # Shopify was asked for the authoritative objects, with schema-valid documents only.
        assert fake.invalid_documents == []
        assert fake.mutations == []  # a person decides: nothing was done in the store
    finally:
        engine.dispose()


def test_forged_webhook_to_running_server_is_401_and_stores_nothing(serve, database_url):
    url, fake = serve
    return_id = _seed_return(fake)
    body, headers = fake.signed_webhook("returns/request", return_id, b"someone-elses-secret")
    resp = httpx.post(f"{url}/webhooks/shopify", content=body, headers=headers, timeout=5)
    assert resp.status_code == 401
    engine = make_engine(database_url)
    try:
        assert _count(engine, webhook_receipts) == 0 and _count(engine, cases) == 0
    finally:
        engine.dispose()
