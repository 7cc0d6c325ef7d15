"""Action jobs (the outbox): carry out decided side effects exactly once.

The job runner claims a due action → the case goes to executing → the store is called with
the action's idempotency key → the runner records the result (fenced by its claim) → when
every action of the case is done, the case is done. A crash anywhere leaves the job
claimable again once its lease runs out; the call is safe to repeat because it carries the
same key and the Shopify adapter checks before it acts. An action that dies (refused, or
out of retry budget) fails the case, and the card offers Retry.
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.actors import EXECUTOR
from bot.clock import Clock
from bot.jobs.runner import Done
from bot.jobs.errors import Permanent
from bot.services.opened_returns import resolve_payload
from bot.store import CaseRecord, CaseRepo, OutboxRepo
from bot.store.jobs import Job
from integrations.connector import Registry
from policy.models import CaseStatus
from policy.ports import ExchangeOutOfStock

log = logging.getLogger(__name__)

DECIDED = (CaseStatus.APPROVED, CaseStatus.DENIED)


class ActionJobs:
    def __init__(self, *, cases: CaseRepo, outbox: OutboxRepo, registry: Registry, clock: Clock,
                 on_case_changed: Callable[[CaseRecord], None] = lambda case: None,
                 within_done: Callable[..., object] | None = None,
                 on_out_of_stock: Callable[[Job, ExchangeOutOfStock], Done] | None = None) -> None:
        self.cases = cases
        self.outbox = outbox
        self.registry = registry  # the action runs in the system the job names
        self.clock = clock
        self.on_case_changed = on_case_changed
        # (conn, case_id, now=…): more that commits with the case becoming done (the
        # lifecycle queues a receipt that arrived before the approval was carried out).
        self.within_done = within_done
        self.on_out_of_stock = on_out_of_stock  # an exchange out of stock is a follow-up (bot.services.exchanges)
        # A side effect of no case died (a moment's tags): whoever queued it shows the failure.
        self.on_caseless_dead: Callable[[Job], None] = lambda job: None
        # Told (job, result) after the store answered, before the job is recorded done: a
        # ticket's case adopts the store return its open_return opened (bot.services.opened_returns).
        # Raising retries the job (the store's check-before-act makes the call a repeat).
        self.on_result: Callable[[Job, object], object] = lambda job, result: None

    def run(self, job: Job) -> Done:
        # Not ok when already executing (a second action, or a reclaimed one): fine.
        if job.case_id is not None:
            self.cases.transition(job.case_id, expected=DECIDED, to=CaseStatus.EXECUTING, actor=EXECUTOR,
                                  at=self.clock(), event="case.executing")
        try:
            result = self._call(job)
        except ExchangeOutOfStock as exc:
            if self.on_out_of_stock is None or job.case_id is None:
                raise
            return self.on_out_of_stock(job, exc)
        self.on_result(job, result)
        log.info("outbox.done", extra={"op": job.operation, "summary": result.summary})
        return Done(result.summary, result.external_id)

    def after_done(self, job: Job) -> None:
        if job.case_id is None:
            return
        rows = self.outbox.for_case(job.case_id)
        if all(r.status == "done" for r in rows):
            now, within_done = self.clock(), self.within_done
            done = self.cases.transition(
                job.case_id, expected=CaseStatus.EXECUTING, to=CaseStatus.DONE, actor=EXECUTOR,
                at=now, event="case.executed",
                detail={"results": [r.result_summary for r in rows]},
                within=(lambda conn: within_done(conn, job.case_id, now=now)) if within_done else None,
            )
            if done.ok:
                self.on_case_changed(done.case)

    def on_dead(self, job: Job, reason: str) -> None:
        if job.case_id is None:
            log.error("outbox.failed", extra={"op": job.operation, "error": reason})
            self.on_caseless_dead(job)
            return
        res = self.cases.transition(
            job.case_id, expected=(CaseStatus.EXECUTING, *DECIDED), to=CaseStatus.FAILED, actor=EXECUTOR,
            at=self.clock(), event="case.execution_failed", detail={"operation": job.operation, "error": reason},
        )
        log.error("outbox.failed", extra={"op": job.operation, "error": reason})
        if res.ok:
            self.on_case_changed(res.case)

    def _call(self, job: Job):
        try:
            action = self.registry.action(job.system, job.operation)
        except LookupError as exc:  # a job for a system this deployment doesn't connect
            raise Permanent(str(exc)) from exc
        return action(resolve_payload(self.cases, job), job.idempotency_key)
