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
from decimal import Decimal
from typing import Callable

from bot.actors import EXECUTOR
from bot.clock import Clock
from bot.jobs.runner import Done
from bot.services.effects import Operation
from bot.store import CaseRecord, CaseRepo, OutboxRepo
from bot.store.jobs import Job
from policy.models import CaseStatus, Money
from policy.ports import StoreActions

log = logging.getLogger(__name__)

DECIDED = (CaseStatus.APPROVED, CaseStatus.DENIED)


class ActionJobs:
    def __init__(self, *, cases: CaseRepo, outbox: OutboxRepo, actions: StoreActions, clock: Clock,
                 on_case_changed: Callable[[CaseRecord], None] = lambda case: None) -> None:
        self.cases = cases
        self.outbox = outbox
        self.actions = actions
        self.clock = clock
        self.on_case_changed = on_case_changed

    def run(self, job: Job) -> Done:
        # Not ok when already executing (a second action, or a reclaimed one): fine.
        self.cases.transition(job.case_id, expected=DECIDED, to=CaseStatus.EXECUTING, actor=EXECUTOR,
                              at=self.clock(), event="case.executing")
        result = self._call(job)
        log.info("outbox.done", extra={"op": job.operation, "summary": result.summary})
        return Done(result.summary, result.external_id)

    def after_done(self, job: Job) -> None:
        rows = self.outbox.for_case(job.case_id)
        if all(r.status == "done" for r in rows):
            done = self.cases.transition(
                job.case_id, expected=CaseStatus.EXECUTING, to=CaseStatus.DONE, actor=EXECUTOR,
                at=self.clock(), event="case.executed",
                detail={"results": [r.result_summary for r in rows]},
            )
            if done.ok:
                self.on_case_changed(done.case)

    def on_dead(self, job: Job, reason: str) -> None:
        res = self.cases.transition(
            job.case_id, expected=(CaseStatus.EXECUTING, *DECIDED), to=CaseStatus.FAILED, actor=EXECUTOR,
            at=self.clock(), event="case.execution_failed", detail={"operation": job.operation, "error": reason},
        )
        log.error("outbox.failed", extra={"op": job.operation, "error": reason})
        if res.ok:
            self.on_case_changed(res.case)

    def _call(self, job: Job):
        p = job.payload
        key = job.idempotency_key
        op = Operation(job.operation)
        if op is Operation.APPROVE_RETURN:
            return self.actions.approve_return(p["return_id"], notify_customer=p["notify_customer"], idempotency_key=key)
        if op is Operation.DECLINE_RETURN:
            return self.actions.decline_return(
                p["return_id"], reason=p["reason"], note=p.get("note"), notify_customer=p["notify_customer"],
                idempotency_key=key,
            )
        amount = Money(amount=Decimal(p["amount"]), currency=p["currency"])
        if op is Operation.REFUND_RETURN:
            return self.actions.refund_return(
                p["return_id"], amount=amount, notify_customer=p["notify_customer"], idempotency_key=key
            )
        return self.actions.issue_store_credit(p["customer_id"], amount=amount, idempotency_key=key)
