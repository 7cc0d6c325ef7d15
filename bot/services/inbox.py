"""Webhook inbox: receive (verify happened in the handler) → store → 200; process after.

`receive` does the least work that makes the delivery safe: one transaction that stores
the delivery (deduped on its delivery id) and its `inbox` job. The job runner then turns
the stored delivery into a domain event and ingests it (`InboxJobs.run`), with the runner's
retries and dead-letter.
"""

from __future__ import annotations

import json
import logging
from typing import Callable

from bot.clock import Clock
from bot.jobs.errors import Permanent
from bot.jobs.runner import Done
from bot.services.ingest import IngestService
from bot.store import ReceiptRepo
from bot.store.jobs import Job
from policy.models import DomainEvent
from policy.ports import NotFound

log = logging.getLogger(__name__)

Decoder = Callable[[str, dict], DomainEvent | None]


class WebhookInbox:
    def __init__(self, *, receipts: ReceiptRepo, clock: Clock, wake: Callable[[], None] = lambda: None) -> None:
        self.receipts = receipts
        self.clock = clock
        self.wake = wake  # nudges the intake worker after a new delivery

    def receive(self, *, source: str, delivery_id: str, topic: str, body: bytes) -> bool:
        new = self.receipts.record(
            source=source, delivery_id=delivery_id, topic=topic, body=body.decode("utf-8"), at=self.clock()
        )
        if new:
            self.wake()
        return new


class InboxJobs:
    """Runs `inbox` jobs: the stored delivery → its vendor's decoder → ingest."""

    def __init__(self, *, receipts: ReceiptRepo, ingest: IngestService, decoders: dict[str, Decoder],
                 clock: Clock) -> None:
        self.receipts = receipts
        self.ingest = ingest
        self.decoders = decoders
        self.clock = clock

    def run(self, job: Job) -> Done:
        receipt = self.receipts.get(job.payload["receipt_id"])
        if receipt is None or receipt.body is None:
            raise Permanent("the delivery is gone (pruned or deleted)")
        try:
            payload = json.loads(receipt.body)
            event = self.decoders[receipt.source](receipt.topic, payload)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            # It passed validation at the door, so this is a decoder gap: retrying won't help.
            raise Permanent(f"cannot decode {receipt.topic}: {type(exc).__name__}: {exc}") from exc
        if event is None:
            self.receipts.finish(receipt.id, status="ignored", now=self.clock())
            return Done("ignored")
        try:
            result = self.ingest.ingest(event)
        except NotFound as exc:
            # The object is gone (deleted order, test delivery): retrying will not help.
            raise Permanent(f"not found: {exc}") from exc
        self.receipts.finish(receipt.id, status="done", now=self.clock())
        log.info("webhook.processed", extra={"receipt": receipt.id, "topic": receipt.topic,
                                             "outcome": result.outcome.value})
        return Done(result.outcome.value)

    def on_dead(self, job: Job, reason: str) -> None:
        self.receipts.finish(job.payload["receipt_id"], status="failed", now=self.clock(), error=reason)
