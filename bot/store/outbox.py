"""The outbox: side effects of decisions, claimed by workers and carried out with their
idempotency key. A crash leaves a row that is claimed again once its lease runs out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from bot.schema import outbox
from bot.store.sql import for_update_skip_locked


@dataclass(frozen=True)
class OutboxRow:
    id: int
    case_id: int
    seq: int
    operation: str
    payload: dict[str, Any]
    idempotency_key: str
    status: str
    attempts: int
    last_error: str | None
    result_summary: str | None
    result_external_id: str | None

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


class OutboxRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, *, now: datetime, lease: timedelta, limit: int = 10) -> list[OutboxRow]:
        """Take due rows: pending ones, and running ones whose worker died (lease ran out).
        A row waits for the earlier rows of its case (approve before refund)."""
        due = or_(
            and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
            and_(outbox.c.status == "running", outbox.c.claimed_until < now),
        )
        stmt = for_update_skip_locked(
            self.engine, select(outbox).where(due).order_by(outbox.c.case_id, outbox.c.seq).limit(limit)
        )
        with self.engine.begin() as conn:
            rows = [OutboxRow.from_row(r) for r in conn.execute(stmt)]
            claimed = []
            for row in rows:
                blocked = conn.execute(
                    select(outbox.c.id).where(
                        outbox.c.case_id == row.case_id,
                        outbox.c.seq < row.seq,
                        outbox.c.status != "done",
                    )
                ).first()
                if blocked:
                    continue
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        status="running",
                        attempts=outbox.c.attempts + 1,
                        claimed_until=now + lease,
                        updated_at=now,
                    )
                )
                claimed.append(row)
        return claimed

    def complete(self, row_id: int, *, now: datetime, summary: str, external_id: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(status="done", result_summary=summary, result_external_id=external_id,
                        last_error=None, claimed_until=None, updated_at=now)
            )

    def fail(self, row_id: int, *, now: datetime, error: str, retry_at: datetime | None) -> None:
        """retry_at None: give up (a person must retry from the card)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(
                    status="pending" if retry_at else "failed",
                    next_attempt_at=retry_at or now,
                    last_error=error[:2000],
                    claimed_until=None,
                    updated_at=now,
                )
            )

    def retry_failed(self, case_id: int, *, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(outbox)
                .where(outbox.c.case_id == case_id, outbox.c.status == "failed")
                .values(status="pending", next_attempt_at=now, updated_at=now)
            ).rowcount

    def for_case(self, case_id: int) -> list[OutboxRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.case_id == case_id).order_by(outbox.c.seq))
            return [OutboxRow.from_row(r) for r in rows]

    def created_external_id(self, external_id: str) -> bool:
        """Did one of our own side effects create this object (e.g. the refund a webhook reports)?"""
        with self.engine.connect() as conn:
            return (
                conn.execute(select(outbox.c.id).where(outbox.c.result_external_id == external_id)).first()
                is not None
            )
