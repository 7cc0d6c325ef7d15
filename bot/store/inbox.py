"""Webhook receipts: the durable inbox. A delivery is stored (deduped on its delivery id)
with an `inbox` job in one transaction before we answer 200, and processed by the job
runner after; a crash leaves the job pending, not lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from bot.jobs.kinds import Kind
from bot.schema import jobs, webhook_receipts
from bot.store.jobs import NewJob, job_values
from bot.store.sql import insert_ignore


@dataclass(frozen=True)
class Receipt:
    id: int
    source: str
    delivery_id: str
    topic: str
    body: str | None  # None once pruned
    status: str

    @classmethod
    def from_row(cls, row: Any) -> Receipt:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


class ReceiptRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Built once, values bound per call: building the statement for every delivery
        # cost more than running it (bench/ingest.py, step (d)).
        self._insert = insert_ignore(engine, webhook_receipts, ["source", "delivery_id"]).returning(
            webhook_receipts.c.id
        )
        self._job_insert = jobs.insert()

    def record(self, *, source: str, delivery_id: str, topic: str, body: str, at: datetime) -> bool:
        """True if this delivery is new; False for a duplicate (nothing written)."""
        row = {"source": source, "delivery_id": delivery_id, "topic": topic, "body": body,
               "status": "pending", "received_at": at}
        with self.engine.begin() as conn:
            receipt_id = conn.execute(self._insert, row).scalar()
            if receipt_id is None:
                return False
            # A new receipt's job can't exist yet: a plain insert, built once like the receipt's.
            conn.execute(self._job_insert, job_values(NewJob(
                kind=Kind.INBOX, system=source, operation=topic, payload={"receipt_id": receipt_id},
                idempotency_key=f"inbox:{receipt_id}"), at))
            return True

    def get(self, receipt_id: int) -> Receipt | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(webhook_receipts).where(webhook_receipts.c.id == receipt_id)).first()
        return Receipt.from_row(row) if row else None

    def finish(self, receipt_id: int, *, status: str, now: datetime, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(webhook_receipts)
                .where(webhook_receipts.c.id == receipt_id)
                .values(status=status, processed_at=now, error=error)
            )

    def prune_bodies(self, *, before: datetime) -> int:
        """Drop the raw bodies of processed deliveries received before `before` (they hold
        customer data); the row stays, so a late duplicate is still recognised."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(webhook_receipts)
                .where(webhook_receipts.c.received_at < before, webhook_receipts.c.body.is_not(None),
                       webhook_receipts.c.status != "pending")
                .values(body=None)
            ).rowcount

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(webhook_receipts.c.status, func.count()).group_by(webhook_receipts.c.status)
            )
            return {status: n for status, n in rows}
