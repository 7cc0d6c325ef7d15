"""Build a real server (waitress, real database, real services) for HTTP-level tests."""

from __future__ import annotations

import json
from contextlib import contextmanager

import httpx

from bot.container import Container
from bot.server import Server
from bot.settings import Settings
from integrations.sample.store import SampleStore
from integrations.shopify.webhooks import sign

WEBHOOK_SECRET = "test-webhook-secret"


# A webhook secret is a Shopify setting, so these settings name a shop as well; the
# container is always handed its store (the sample store, unless a test passes another).
SHOPIFY_TEST_SETTINGS = {"shopify_shop": "ridgeline.myshopify.com", "shopify_access_token": "shpat_test_unused"}


def settings_for(database_url: str, **extra) -> Settings:
    return Settings(_env_file=None, **{"database_url": database_url, **SHOPIFY_TEST_SETTINGS,
                                       "shopify_api_secret": WEBHOOK_SECRET, **extra})


# Containers built by a test; tests/bot/conftest.py disposes their engines afterwards, so
# the suite never runs PostgreSQL out of its 100 connections.
BUILT: list[Container] = []


def container_for(database_url: str, clock, store=None, connectors: tuple = (), **extra) -> Container:
    c = Container.build(settings_for(database_url, **extra), clock=clock, store=store or SampleStore.load(now=clock()),
                        connectors=connectors)
    BUILT.append(c)
    return c


@contextmanager
def running(c: Container, *, start_workers: bool = True):
    server = Server(c, host="127.0.0.1", port=0, threads=8, schedule=False)
    if start_workers:
        server.start()
    else:  # HTTP only: deliveries are stored but nothing processes them
        import threading

        server._thread = threading.Thread(target=server._serve_http, daemon=True)  # stop() joins it
        server._thread.start()
    try:
        yield server
    finally:
        server.stop()


def shopify_delivery(topic: str, payload: dict, *, delivery: str, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret.encode(), body),
        "X-Shopify-Event-Id": delivery,
        "X-Shopify-Shop-Domain": "ridgeline.myshopify.com",
        "X-Shopify-API-Version": "2026-10",
    }


def return_request_payload(return_gid: str, order_gid: str) -> dict:
    rid = int(return_gid.rsplit("/", 1)[1])
    oid = int(order_gid.rsplit("/", 1)[1])
    return {
        "id": rid,
        "admin_graphql_api_id": return_gid,
        "status": "requested",
        "order": {"id": oid, "admin_graphql_api_id": order_gid},
        "total_return_line_items": 1,
        "name": None,
        "return_line_items": [],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


def post(url: str, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10)
