"""The outbox: the side effects of decisions, as `action` jobs (see bot/store/jobs.py).

They are written in the decision's own transaction (CaseRepo.transition), carried out by
the job runner with their idempotency key, and read back here for the card and the digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from bot.jobs.kinds import Kind
from bot.store.jobs import Job, JobRepo, JobStatus, NewJob, enqueue

# How a side effect looks from the case's side: a dead job is a failed side effect.
_EFFECT_STATUS = {JobStatus.DEAD.value: "failed", JobStatus.SKIPPED.value: "done"}


@dataclass(frozen=True)
class OutboxRow:
    id: int
    case_id: int
    seq: int
    operation: str
    payload: dict[str, Any]
    idempotency_key: str
    status: str  # pending | running | done | failed
    attempts: int
    last_error: str | None
    result_summary: str | None
    result_external_id: str | None

    @classmethod
    def from_job(cls, job: Job) -> OutboxRow:
        return cls(id=job.id, case_id=job.case_id or 0, seq=job.seq, operation=job.operation,
                   payload=job.payload, idempotency_key=job.idempotency_key or "",
                   status=_EFFECT_STATUS.get(job.status, job.status), attempts=job.attempts,
                   last_error=job.last_error, result_summary=job.result_summary,
                   result_external_id=job.result_external_id)


def order_key(case_id: int) -> str:
    """A case's side effects run one at a time, in the order the decision listed them."""
    return f"case:{case_id}"


def add_actions(conn: Connection, *, case_id: int, system: str, ops, now: datetime,
                correlation_id: str | None = None) -> None:
    for seq, op in enumerate(ops):
        enqueue(conn, NewJob(kind=Kind.ACTION, system=op.system or system, operation=str(op.operation), payload=op.payload,
                             case_id=case_id, order_key=order_key(case_id), seq=seq,
                             idempotency_key=op.idempotency_key, correlation_id=correlation_id), now=now)


class OutboxRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.jobs = JobRepo(engine)

    def for_case(self, case_id: int) -> list[OutboxRow]:
        return [OutboxRow.from_job(j) for j in self.jobs.for_case(case_id, kind=Kind.ACTION)]

    def retry_failed(self, case_id: int, *, now: datetime, conn: Connection | None = None) -> int:
        """A person's Retry: every failed side effect of the case is due again, with a fresh
        retry budget."""
        return self.jobs.retry_case(case_id, kind=Kind.ACTION, now=now, conn=conn)

    def created_external_id(self, external_id: str) -> bool:
        return self.jobs.created_external_id(external_id)
