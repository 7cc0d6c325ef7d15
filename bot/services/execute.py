"""The outbox worker: carries out decided side effects exactly once.

Claim a due row → mark the case executing → call the store with the row's idempotency
key → record the result → when every row of the case is done, the case is done. A crash
anywhere leaves the row claimable again after its lease; the vendor call is safe to repeat
because it carries the same key (and the Shopify adapter checks before it acts).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from decimal import Decimal
from typing import Callable

from bot.actors import EXECUTOR
from bot.clock import Clock
from bot.services.effects import Operation
from bot.store import CaseRecord, CaseRepo, OutboxRepo, OutboxRow
from policy.models import CaseStatus, Money
from policy.ports import ActionResult, IntegrationError, NotFound, StoreActions

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


class OutboxExecutor:
    def __init__(
        self,
        *,
        cases: CaseRepo,
        outbox: OutboxRepo,
        actions: StoreActions,
        clock: Clock,
        on_case_changed: Callable[[CaseRecord], None] = lambda case: None,
        lease: timedelta = timedelta(minutes=2),
        base_backoff: timedelta = timedelta(seconds=5),
    ) -> None:
        self.cases = cases
        self.outbox = outbox
        self.actions = actions
        self.clock = clock
        self.on_case_changed = on_case_changed
        self.lease = lease
        self.base_backoff = base_backoff

    def run_once(self, limit: int = 10) -> int:
        rows = self.outbox.claim(now=self.clock(), lease=self.lease, limit=limit)
        for row in rows:
            self._execute(row)
        return len(rows)

    def drain(self) -> int:
        done = 0
        while n := self.run_once():
            done += n
        return done

    def _execute(self, row: OutboxRow) -> None:
        self.cases.transition(
            row.case_id,
            expected=(CaseStatus.APPROVED, CaseStatus.DENIED, CaseStatus.FAILED),
            to=CaseStatus.EXECUTING,
            actor=EXECUTOR,
            at=self.clock(),
            event="case.executing",
        )  # not ok when already executing (a retried row): fine
        try:
            result = self._call(row)
        except (IntegrationError, NotFound) as exc:
            self._failed(row, exc)
            return
        now = self.clock()
        self.outbox.complete(row.id, now=now, summary=result.summary, external_id=result.external_id)
        log.info("outbox.done case_id=%s op=%s summary=%s", row.case_id, row.operation, result.summary)
        rows = self.outbox.for_case(row.case_id)
        if all(r.status == "done" for r in rows):
            done = self.cases.transition(
                row.case_id,
                expected=CaseStatus.EXECUTING,
                to=CaseStatus.DONE,
                actor=EXECUTOR,
                at=now,
                event="case.executed",
                detail={"results": [r.result_summary for r in rows]},
            )
            if done.ok:
                self.on_case_changed(done.case)

    def _failed(self, row: OutboxRow, exc: Exception) -> None:
        now = self.clock()
        retryable = isinstance(exc, IntegrationError) and exc.retryable and row.attempts + 1 < MAX_ATTEMPTS
        if retryable:
            delay = self.base_backoff * (2**row.attempts) * (1 + random.random() / 4)
            self.outbox.fail(row.id, now=now, error=str(exc), retry_at=now + delay)
            log.warning("outbox.retry case_id=%s op=%s attempt=%s error=%s", row.case_id, row.operation, row.attempts + 1, exc)
            return
        self.outbox.fail(row.id, now=now, error=str(exc), retry_at=None)
        res = self.cases.transition(
            row.case_id,
            expected=CaseStatus.EXECUTING,
            to=CaseStatus.FAILED,
            actor=EXECUTOR,
            at=now,
            event="case.execution_failed",
            detail={"operation": row.operation, "error": str(exc)},
        )
        log.error("outbox.failed case_id=%s op=%s error=%s", row.case_id, row.operation, exc)
        if res.ok:
            self.on_case_changed(res.case)

    def _call(self, row: OutboxRow) -> ActionResult:
        p = row.payload
        key = row.idempotency_key
        op = Operation(row.operation)
        if op is Operation.APPROVE_RETURN:
            return self.actions.approve_return(p["return_id"], notify_customer=p["notify_customer"], idempotency_key=key)
        if op is Operation.DECLINE_RETURN:
            return self.actions.decline_return(
                p["return_id"], reason=p["reason"], note=p.get("note"), notify_customer=p["notify_customer"], idempotency_key=key
            )
        amount = Money(amount=Decimal(p["amount"]), currency=p["currency"])
        if op is Operation.REFUND_RETURN:
            return self.actions.refund_return(
                p["return_id"], amount=amount, notify_customer=p["notify_customer"], idempotency_key=key
            )
        return self.actions.issue_store_credit(p["customer_id"], amount=amount, idempotency_key=key)
