"""A ticket's case follows the store return it opened (issue 12, ticketreturn2).

Approving a return asked for in a ticket queues `open_return` (bot/services/ticket_returns.py).
When the store has opened it, the case BECOMES that return's case, in one compare-and-set:
its kind, source and external id are the store's return's, its snapshot carries the store's
return (its real line ids: the warehouse's dispositions name them), and the ticket is
linked to it in `case_tickets` — exactly as a ticket that joined a store return's case.
From then on everything keyed on a store return finds this case and opens no other: the
store's returns/* and lifecycle events (`CaseRepo.find(source, return id, RETURN_REQUEST)`),
the refund on receipt, the stall reminders, and the ticket's later messages (`linked_case`).

Adopting runs inside the open_return job, after the store answered and before the job is
recorded done: a crash in between re-runs the job, the store finds the return by our marker
(a repeat with the same id) and the adoption runs again (a case already adopted is left as
it is). Ops of the case that need the return's id (its refund) are queued at approval with
`return_of_case` and get the id when they run (`resolve_payload`); the case's jobs run in
order, so the return is opened and adopted by then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import insert

from bot.actors import EXECUTOR
from bot.clock import Clock
from bot.jobs.errors import RetryLater
from bot.schema import case_tickets
from bot.services.ticket_returns import RETURN_OF_CASE
from bot.store import CaseRecord, CaseRepo
from bot.store.cases import new_snapshot
from bot.store.jobs import Job
from bot.store.stages import record_in
from policy.lifecycle import ReturnStage, StageUpdate
from policy.models import CaseKind
from policy.ports import STORE, ActionResult, Operation

log = logging.getLogger(__name__)


def resolve_payload(cases: CaseRepo, job: Job) -> Mapping[str, Any]:
    """The job's payload, with the return id of the case's store return filled in when the
    op was queued before the return existed (`return_of_case`)."""
    payload = job.payload
    case_id = payload.get(RETURN_OF_CASE)
    if case_id is None or payload.get("return_id"):
        return payload
    case = cases.get(int(case_id))
    if case is None or case.kind is not CaseKind.RETURN_REQUEST:
        # The case's jobs run in order, so its open_return ran first; not adopted means it
        # is still settling (a retry of that job): try again shortly.
        raise RetryLater(f"case {case_id}: its store return is not opened yet")
    return {**payload, "return_id": case.external_id}


@dataclass
class OpenedReturns:
    cases: CaseRepo
    registry: Any  # integrations.connector.Registry: the store's reader and the name its events use
    clock: Clock
    on_case_changed: Callable[[CaseRecord], None] = lambda case: None

    def adopt(self, job: Job, result: ActionResult) -> CaseRecord | None:
        """After `open_return` ran for a ticket's case: the case becomes the return's case."""
        if job.operation != Operation.OPEN_RETURN or job.case_id is None or not result.external_id:
            return None
        case = self.cases.get(job.case_id)
        if case is None:
            return None
        if case.kind is CaseKind.RETURN_REQUEST and case.external_id == result.external_id:
            return case  # adopted already (the job ran again after a crash)
        if case.kind is not CaseKind.TICKET:
            log.warning("open_return.adopt case_id=%s is a %s case: not adopted", case.id, case.kind.value)
            return None
        store = self.registry.for_system(STORE)
        # The source the store's events name (the sample store speaks as "shopify"), so its
        # stage facts find the case.
        source = min(store.handles) if store.handles else store.name
        ret = store.source.get_return(result.external_id)  # its lines' real ids (dispositions name them)
        ctx, assessment = self.cases.snapshot(case)
        ticket = ctx.tickets[0]
        adopted = ctx.model_copy(update={"kind": CaseKind.RETURN_REQUEST, "return_request": ret})
        assessment = assessment.model_copy(update={"kind": CaseKind.RETURN_REQUEST})
        now = self.clock()
        # The store opened it approved: our approval is its first stage (the stall rules'
        # "approved, no label yet" counts from it), by whoever approved the case.
        approved = StageUpdate(return_id=ret.id, stage=ReturnStage.APPROVED, at=now, source=source,
                               ref=f"returnsbot:case-{case.id}:approved", by=case.decided_by)

        def within(conn) -> None:
            conn.execute(insert(case_tickets).values(source=ticket.source, ticket_id=ticket.id, case_id=case.id,
                                                     joined_at=now))
            new_snapshot(conn, case.id, adopted, assessment, at=now)
            record_in(conn, self.cases.engine, case.id, approved, now=now, bump=False)

        extra = {"kind": CaseKind.RETURN_REQUEST.value, "source": source, "external_id": ret.id,
                 "correlation_key": adopted.correlation_key,
                 "return_reasons": ",".join(sorted({li.reason for li in ret.line_items}))}
        res = self.cases.transition(
            case.id, expected=case.status, expected_version=case.version, to=case.status, actor=EXECUTOR, at=now,
            event="case.return_opened", extra=extra, within=within,
            detail={"return_id": ret.id, "return": ret.name, "store": source, "ticket": ticket.id,
                    "helpdesk": ticket.source})
        if not res.ok:
            # Changed between our read and our write: the job retries, the store repeats.
            raise RetryLater(f"case {case.id} changed while its store return {ret.id} was linked; retrying")
        log.info("open_return.adopted case_id=%s return=%s ticket=%s", case.id, ret.id, ticket.id,
                 extra={"case_id": case.id, "return_id": ret.id, "ticket": ticket.id})
        self.on_case_changed(res.case)
        return res.case
