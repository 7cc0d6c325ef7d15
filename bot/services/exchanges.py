"""Exchanges through the return lifecycle (issue 9).

- Approval releases the exchange: `effects.approval_ops` queues APPROVE_RETURN then
  RELEASE_EXCHANGE (keys `returnsbot:<source>:case-<id>:<op>`, so a second approval path
  can't queue a second release, and the store checks before it acts).
- An exchange item out of stock: the store refuses the release with `ExchangeOutOfStock`
  and releases nothing. The action job hands the refusal here (`out_of_stock`), and the
  case gets a follow-up (`exchange_out_of_stock`) whose only choices are a refund or store
  credit of what the return is worth; the job itself is done (the refusal is the answer,
  not a failure to retry or a case to mark failed). Deciding it queues REMOVE_EXCHANGE
  before the money (`followup_ops`): the lines that can't ship come off the return.
- The items come back (`on_receipt`, from the lifecycle service): all accepted → the return
  is closed in the store (CLOSE_RETURN), no refund; otherwise the usual follow-up, with no
  refund recommended — the customer has the exchange.
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.clock import Clock
from bot.jobs.runner import Done
from bot.services.effects import close_return_op, remove_exchange_op
from bot.store import CaseRecord, CaseRepo, OutboxRepo
from bot.store.jobs import Job
from policy.config import Policy
from policy.exchange_rules import (
    CLOSE,
    EXCHANGE_OUT_OF_STOCK,
    exchange_receipt,
    is_exchange_outcome,
    out_of_stock_followup,
)
from policy.lifecycle import StageUpdate
from policy.lifecycle_rules import ApprovedLine
from policy.models import CaseKind, CaseStatus
from policy.ports import ExchangeOutOfStock, Operation

log = logging.getLogger(__name__)

ACTOR = "returnsbot"  # as the lifecycle service records its own transitions


class ExchangeService:
    def __init__(self, *, cases: CaseRepo, outbox: OutboxRepo, policy: Policy, clock: Clock,
                 on_case_changed: Callable[[CaseRecord], None] = lambda c: None,
                 on_outbox: Callable[[], None] = lambda: None) -> None:
        self.cases, self.outbox, self.policy, self.clock = cases, outbox, policy, clock
        self.on_case_changed, self.on_outbox = on_case_changed, on_outbox

    # --- the release refused for stock ------------------------------------------------------

    def out_of_stock(self, job: Job, exc: ExchangeOutOfStock) -> Done:
        """Open the follow-up on the job's case. Raises `exc` again when the case can't take
        it (not being carried out any more): the job then dies and the case fails visibly."""
        case = self.cases.get(job.case_id) if job.case_id is not None else None
        titles = [i.title for i in exc.items]
        if case is None or not self._carrying_out_exchange(case):
            if case is not None and case.followup and case.followup.get("reason") == EXCHANGE_OUT_OF_STOCK:
                return Done(f"exchange not released: {', '.join(titles)} out of stock (follow-up open)")
            raise exc  # a late replay after the follow-up was decided: don't reopen it
        followup = out_of_stock_followup(titles, amount=case.amount)
        now = self.clock()
        res = self.cases.transition(
            case.id, expected=(CaseStatus.EXECUTING, CaseStatus.APPROVED), to=CaseStatus.OPEN, actor=ACTOR, at=now,
            event="case.followup_opened",
            detail={"reason": followup.reason, "summary": followup.summary,
                    "items": [{"id": i.id, "title": i.title, "quantity": i.quantity, "available": i.available}
                              for i in exc.items]},
            extra={"followup": followup.as_column(opened_at=now.isoformat())})
        if res.ok:
            log.info("exchange.out_of_stock case_id=%s items=%s", case.id, len(exc.items))
            self.on_case_changed(res.case)
        elif not (res.case.followup and res.case.followup.get("reason") == followup.reason):
            raise exc  # neither opened now nor by an earlier attempt of this job
        return Done(f"exchange not released: {', '.join(titles)} out of stock (follow-up opened)")

    def followup_ops(self, case: CaseRecord, ops: list) -> list:
        """Deciding the out-of-stock follow-up: the exchange lines come off the return first,
        so the refund (which processes what is still processable) can't release them after
        all, and the store no longer waits to ship them."""
        if not (case.followup and case.followup.get("reason") == EXCHANGE_OUT_OF_STOCK):
            return ops
        return [remove_exchange_op(case), *ops]

    def _carrying_out_exchange(self, case: CaseRecord) -> bool:
        """The case's latest decision is the exchange approval (not a follow-up decided since)."""
        decisions = self.cases.decisions(case.id)
        return bool(decisions) and decisions[-1]["action"] == "approve" and is_exchange_outcome(decisions[-1]["outcome"])

    # --- the returned items arrive ------------------------------------------------------------

    def on_receipt(self, case: CaseRecord, update: StageUpdate) -> CaseRecord | None:
        """Close the return or open the follow-up, once: a close already queued (by this or by
        the expiry of a return never shipped) or a follow-up already decided leaves it be."""
        if case.kind is not CaseKind.RETURN_REQUEST or case.status is not CaseStatus.DONE or case.followup:
            return None
        decisions = self.cases.decisions(case.id)
        if not any(d["action"] == "approve" and is_exchange_outcome(d["outcome"]) for d in decisions):
            return None
        if any(r.operation == Operation.CLOSE_RETURN.value for r in self.outbox.for_case(case.id)):
            return None
        ctx, _ = self.cases.snapshot(case)
        lines = [ApprovedLine(li.id, li.quantity, li.unit_price, li.title) for li in ctx.return_request.line_items]
        verdict = exchange_receipt(lines, update.dispositions, amount=case.amount,
                                   accepted=self.policy.returns.accepted_dispositions)
        now = self.clock()
        if verdict == CLOSE:
            note = "Exchange: the returned items were received."
            res = self.cases.transition(
                case.id, expected=CaseStatus.DONE, to=CaseStatus.APPROVED, actor=ACTOR, at=now,
                event="case.exchange_received", detail={"receipt": update.ref, "close": True},
                ops=[close_return_op(case, note=note)])
            if res.ok:
                self.on_outbox()
            return res.case
        if any(d["action"] == "followup" for d in decisions):
            log.info("exchange.receipt_after_followup case_id=%s reason=%s", case.id, verdict.reason)
            return None  # the money was decided already, on the exchange that couldn't ship
        res = self.cases.transition(
            case.id, expected=CaseStatus.DONE, to=CaseStatus.OPEN, actor=ACTOR, at=now,
            event="case.followup_opened", detail={"reason": verdict.reason, "summary": verdict.summary},
            extra={"followup": verdict.as_column(opened_at=now.isoformat())})
        return res.case
