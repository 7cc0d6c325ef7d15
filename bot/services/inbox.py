"""Webhook inbox: receive (verify happened in the handler) → store → 200; process after.

`receive` does the least work that makes the delivery safe: one INSERT, deduped on the
delivery id. `process_pending` turns stored deliveries into domain events and ingests them;
it runs on a background worker, and again at start-up for anything a crash left behind.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Callable

from bot.clock import Clock
from bot.services.ingest import IngestService
from bot.store import OpsRepo, ReceiptRepo
from bot.store.inbox import Receipt
from policy.models import DomainEvent
from policy.ports import IntegrationError, NotFound

log = logging.getLogger(__name__)

Decoder = Callable[[str, dict], DomainEvent | None]


class WebhookInbox:
    def __init__(
        self,
        *,
        receipts: ReceiptRepo,
        ingest: IngestService,
        ops: OpsRepo,
        decoders: dict[str, Decoder],
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.receipts = receipts
        self.ingest = ingest
        self.ops = ops
        self.decoders = decoders
        self.clock = clock
        self.wake = wake  # nudges the background worker after a new delivery

    def receive(self, *, source: str, delivery_id: str, topic: str, body: bytes) -> bool:
        new = self.receipts.record(
            source=source, delivery_id=delivery_id, topic=topic, body=body.decode("utf-8"), at=self.clock()
        )
        if new:
            self.wake()
        return new

    def process_pending(self, limit: int = 50) -> int:
        """Process up to `limit` pending deliveries; returns how many were handled."""
        receipts = self.receipts.claim(now=self.clock(), lease=timedelta(minutes=5), limit=limit)
        for receipt in receipts:
            self._process(receipt)
        return len(receipts)

    def drain(self) -> int:
        done = 0
        while n := self.process_pending():
            done += n
        return done

    def _process(self, receipt: Receipt) -> None:
        system = f"{receipt.source}.webhooks"
        now = self.clock()
        try:
            event = self.decoders[receipt.source](receipt.topic, json.loads(receipt.body))
            if event is None:
                self.receipts.finish(receipt.id, status="ignored", now=now)
                return
            result = self.ingest.ingest(event)
        except NotFound as exc:
            # The object is gone (deleted order, test delivery): retrying will not help.
            self.receipts.finish(receipt.id, status="failed", now=now, error=str(exc))
            log.warning("webhook.not_found receipt=%s topic=%s error=%s", receipt.id, receipt.topic, exc)
            return
        except IntegrationError as exc:
            self.ops.record_failure(system, at=now, error=str(exc))
            if exc.retryable:
                delay = timedelta(seconds=30 * 2 ** min(receipt.attempts, 6))
                self.receipts.retry_later(receipt, now=now, error=str(exc), delay=delay)
            else:
                self.receipts.finish(receipt.id, status="failed", now=now, error=str(exc))
            log.warning("webhook.failed receipt=%s topic=%s error=%s", receipt.id, receipt.topic, exc)
            return
        except Exception as exc:  # a bug must not wedge the inbox: park it, keep going
            self.ops.record_failure(system, at=now, error=f"{type(exc).__name__}: {exc}")
            self.receipts.finish(receipt.id, status="failed", now=now, error=f"{type(exc).__name__}: {exc}")
            log.exception("webhook.crashed receipt=%s topic=%s", receipt.id, receipt.topic)
            return
        self.receipts.finish(receipt.id, status="done", now=now)
        self.ops.record_success(system, at=now)
        log.info("webhook.processed receipt=%s topic=%s outcome=%s", receipt.id, receipt.topic, result.outcome.value)
