"""Webhook receipts: the durable inbox. A delivery is stored (deduped on its delivery id)
before we answer 200, and processed after; a crash leaves it pending, not lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update

from bot.schema import webhook_receipts
from bot.store.sql import for_update_skip_locked, insert_ignore


@dataclass(frozen=True)
class Receipt:
    id: int
    source: str
    delivery_id: str
    topic: str
    body: str
    status: str
    attempts: int

    @classmethod
    def from_row(cls, row: Any) -> Receipt:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


MAX_ATTEMPTS = 5


class ReceiptRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Built once, values bound per call: building the statement for every delivery
        # cost more than running it (bench/ingest.py, step (d)).
        self._insert = insert_ignore(engine, webhook_receipts, ["source", "delivery_id"]).returning(
            webhook_receipts.c.id
        )

    def record(self, *, source: str, delivery_id: str, topic: str, body: str, at: datetime) -> bool:
        """True if this delivery is new; False for a duplicate (nothing written)."""
        row = {"source": source, "delivery_id": delivery_id, "topic": topic, "body": body,
               "status": "pending", "attempts": 0, "received_at": at}
        with self.engine.begin() as conn:
            return conn.execute(self._insert, row).scalar() is not None

    def claim(self, *, now: datetime, lease: timedelta, limit: int = 20) -> list[Receipt]:
        due = or_(
            and_(webhook_receipts.c.status == "pending", webhook_receipts.c.claimed_until.is_(None)),
            and_(webhook_receipts.c.status == "pending", webhook_receipts.c.claimed_until < now),
        )
        stmt = for_update_skip_locked(
            self.engine,
            select(webhook_receipts).where(due).order_by(webhook_receipts.c.id).limit(limit),
        )
        with self.engine.begin() as conn:
            rows = [Receipt.from_row(r) for r in conn.execute(stmt)]
            if rows:
                conn.execute(
                    update(webhook_receipts)
                    .where(webhook_receipts.c.id.in_([r.id for r in rows]))
                    .values(claimed_until=now + lease, attempts=webhook_receipts.c.attempts + 1)
                )
        return rows

    def finish(self, receipt_id: int, *, status: str, now: datetime, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(webhook_receipts)
                .where(webhook_receipts.c.id == receipt_id)
                .values(status=status, processed_at=now, error=error, claimed_until=None)
            )

    def retry_later(self, receipt: Receipt, *, now: datetime, error: str, delay: timedelta) -> None:
        """Keep it pending (claimable after `delay`) until MAX_ATTEMPTS, then mark failed."""
        if receipt.attempts + 1 >= MAX_ATTEMPTS:
            self.finish(receipt.id, status="failed", now=now, error=error)
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(webhook_receipts)
                .where(webhook_receipts.c.id == receipt.id)
                .values(claimed_until=now + delay, error=error)
            )

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(webhook_receipts.c.status, func.count()).group_by(webhook_receipts.c.status)
            )
            return {status: n for status, n in rows}
