"""Webhook receipts, cursors, integration health and job leases."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.store import OpsRepo, ReceiptRepo
from tests.bot.factories import NOW


def test_receipt_dedupes_on_delivery_id(engine):
    repo = ReceiptRepo(engine)
    assert repo.record(source="shopify", delivery_id="d1", topic="returns/request", body="{}", at=NOW)
    assert not repo.record(source="shopify", delivery_id="d1", topic="returns/request", body="{}", at=NOW)
    assert repo.record(source="loop", delivery_id="d1", topic="return.created", body="{}", at=NOW)
    assert repo.counts() == {"pending": 2}


def test_receipts_concurrent_duplicates_store_one(engine):
    repo, results = ReceiptRepo(engine), []
    barrier = threading.Barrier(10)

    def send() -> None:
        barrier.wait()
        results.append(repo.record(source="shopify", delivery_id="same", topic="t", body="{}", at=NOW))

    threads = [threading.Thread(target=send) for _ in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results.count(True) == 1
    assert repo.counts() == {"pending": 1}


def test_claimed_receipt_is_not_claimed_twice_until_lease_ends(engine):
    repo = ReceiptRepo(engine)
    repo.record(source="shopify", delivery_id="d1", topic="t", body="{}", at=NOW)
    assert len(repo.claim(now=NOW, lease=timedelta(minutes=5))) == 1
    assert repo.claim(now=NOW + timedelta(minutes=1), lease=timedelta(minutes=5)) == []
    [again] = repo.claim(now=NOW + timedelta(minutes=6), lease=timedelta(minutes=5))
    repo.finish(again.id, status="done", now=NOW)
    assert repo.claim(now=NOW + timedelta(hours=1), lease=timedelta(minutes=5)) == []
    assert repo.counts() == {"done": 1}


def test_cursor_and_health(engine):
    ops = OpsRepo(engine)
    assert ops.cursor("shopify.returns") is None
    ops.set_cursor("shopify.returns", "2026-11-01T00:00:00Z", at=NOW)
    ops.set_cursor("shopify.returns", "2026-11-02T00:00:00Z", at=NOW)
    assert ops.cursor("shopify.returns") == "2026-11-02T00:00:00Z"
    ops.record_failure("shopify.poller", at=NOW, error="timeout")
    ops.record_failure("shopify.poller", at=NOW, error="timeout")
    [h] = ops.health()
    assert (h.system, h.consecutive_failures, h.ok) == ("shopify.poller", 2, False)
    ops.record_success("shopify.poller", at=NOW)
    assert ops.health()[0].ok


def test_lease_one_holder_at_a_time(engine):
    ops = OpsRepo(engine)
    ttl = timedelta(minutes=5)
    assert ops.try_lease("pollers", holder="a", now=NOW, ttl=ttl)
    assert not ops.try_lease("pollers", holder="b", now=NOW + timedelta(minutes=1), ttl=ttl)
    assert ops.try_lease("pollers", holder="a", now=NOW + timedelta(minutes=1), ttl=ttl)  # renew
    assert ops.try_lease("pollers", holder="b", now=NOW + timedelta(minutes=7), ttl=ttl)  # expired
