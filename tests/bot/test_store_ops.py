"""Webhook receipts, cursors and integration health."""

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


def test_a_new_receipt_and_its_inbox_job_commit_together(engine):
    from bot.store.jobs import JobRepo

    repo, jobs = ReceiptRepo(engine), JobRepo(engine)
    repo.record(source="shopify", delivery_id="d1", topic="returns/request", body="{}", at=NOW)
    repo.record(source="shopify", delivery_id="d1", topic="returns/request", body="{}", at=NOW)  # duplicate
    [job] = jobs.list(kind="inbox")
    assert (job.system, job.operation, job.status) == ("shopify", "returns/request", "pending")
    assert repo.get(job.payload["receipt_id"]).body == "{}"


def test_old_bodies_are_pruned_but_pending_ones_and_the_dedupe_row_stay(engine):
    repo = ReceiptRepo(engine)
    repo.record(source="shopify", delivery_id="old", topic="t", body='{"email": "a@b.c"}', at=NOW - timedelta(days=40))
    repo.record(source="shopify", delivery_id="stuck", topic="t", body="{}", at=NOW - timedelta(days=40))
    repo.record(source="shopify", delivery_id="new", topic="t", body="{}", at=NOW)
    repo.finish(1, status="done", now=NOW)
    repo.finish(3, status="done", now=NOW)
    assert repo.prune_bodies(before=NOW - timedelta(days=30)) == 1
    assert repo.get(1).body is None and repo.get(2).body == "{}" and repo.get(3).body == "{}"
    assert not repo.record(source="shopify", delivery_id="old", topic="t", body="{}", at=NOW)  # still a duplicate


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


def test_health_forgets_a_failure_a_later_success_fixed(engine, clock):
    ops = OpsRepo(engine)
    ops.record_success("slack", at=NOW)
    ops.record_failure("slack", at=NOW, error="invalid_auth")
    ops.record_success("slack", at=NOW + timedelta(seconds=1))  # written at once after a failure
    [h] = ops.health()
    assert h.ok and h.last_success_at == NOW + timedelta(seconds=1)


def test_two_replicas_recording_health_at_once_never_collide(engine):
    """Update-then-insert raced on PostgreSQL (UniqueViolation pk_integration_health) and
    aborted a replica's claimed batch; one upsert can't."""
    errors, barrier = [], threading.Barrier(8)

    def record(i: int) -> None:
        ops = OpsRepo(engine)  # a replica each
        barrier.wait()
        try:
            for n in range(5):
                if i % 2:
                    ops.record_failure(f"shopify-{n}", at=NOW, error="boom")
                else:
                    ops.record_success(f"shopify-{n}", at=NOW)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert sorted(h.system for h in OpsRepo(engine).health()) == [f"shopify-{n}" for n in range(5)]
