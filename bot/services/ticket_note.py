"""The order context as an internal note on the ticket, before a person looks (issue 12).

Queued once, in the transaction that opens the ticket case (`NewCase.within`), as a job of
its own kind (`ticket_note`) on its own order key (`ticket-note:<case>`) and lane. Not an
outbox action: those run in order per case, a dead one blocks the ones after it and fails
the case, and the case is done only when all are done — a note that cannot be written
would then hold the reply and the case's DONE. On its own lane a failing note retries on
its own budget and the reply never waits for it.

Exactly once like every ticket write: the job's key (unique in the jobs table: a replayed
webhook queues nothing) and the helpdesk adapter's check-before-write marker (a retry after
a lost answer writes nothing). The card says whether the note is on the ticket.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from bot.clock import Clock
from bot.jobs.errors import Permanent
from bot.jobs.kinds import Kind
from bot.jobs.runner import Done
from bot.store import CaseRepo
from bot.store.jobs import Job, JobRepo, JobStatus, NewJob, enqueue
from policy.models import CaseContext
from policy.ticket_note import context_note
from policy.tickets import TicketOperation

log = logging.getLogger(__name__)


def note_key(source: str, case_id: int) -> str:
    return f"returnsbot:{source}:case-{case_id}:ticket_context_note"


def note_order_key(case_id: int) -> str:
    """Its own lane of ordering: never behind (or ahead of) the case's outbox (`case:<id>`)."""
    return f"ticket-note:{case_id}"


def queue_context_note(ctx: CaseContext, tz, *, now: datetime) -> Callable[[object, int], None] | None:
    """What `NewCase.within` runs: the note job for the case being opened (None: no order, no note)."""
    text = context_note(ctx, tz)
    if text is None or not ctx.tickets:
        return None
    ticket = ctx.tickets[0]

    def within(conn, case_id: int) -> None:
        enqueue(conn, NewJob(kind=Kind.TICKET_NOTE, system=ticket.source, operation=TicketOperation.ADD_NOTE,
                             payload={"ticket_id": ticket.id, "text": text}, case_id=case_id,
                             order_key=note_order_key(case_id), idempotency_key=note_key(ticket.source, case_id)),
                now=now)

    return within


def note_state(jobs: JobRepo, case_id: int) -> str | None:
    """The card's line: "posted", "queued", "retrying (…)", "failed (…)"; None: no note for this case."""
    found = jobs.for_case(case_id, kind=Kind.TICKET_NOTE)
    if not found:
        return None
    job = found[-1]
    if job.status == JobStatus.DONE.value:
        return "posted"
    if job.status == JobStatus.SKIPPED.value:
        return "skipped by an operator"
    if job.status == JobStatus.DEAD.value:
        return f"failed ({job.dead_reason or job.last_error or 'no reason recorded'})"
    if job.last_error:
        return f"retrying ({job.last_error})"
    return "queued"


@dataclass
class TicketNoteJobs:
    """Runs `ticket_note` jobs: the helpdesk's add-note action with the job's key."""

    cases: CaseRepo
    registry: object  # integrations.connector.Registry: the helpdesk's actions
    clock: Clock
    on_card: Callable[[], None] = lambda: None  # nudge the cards lane

    def run(self, job: Job) -> Done:
        try:
            action = self.registry.action(job.system, job.operation)
        except LookupError as exc:  # a helpdesk this deployment no longer connects
            raise Permanent(str(exc)) from exc
        result = action(job.payload, job.idempotency_key)
        return Done(result.summary, result.external_id)

    def after_done(self, job: Job) -> None:
        self._refresh(job)

    def on_dead(self, job: Job, reason: str) -> None:
        log.error("ticket_note.failed", extra={"case_id": job.case_id, "error": reason})
        self._refresh(job)

    def _refresh(self, job: Job) -> None:
        """The card says whether the note is on the ticket: re-rendered at its version (no
        version bump, so a person's click on the card is not made stale by the note)."""
        if job.case_id is not None:
            self.cases.queue_card(job.case_id, at=self.clock(), force=True)
            self.on_card()
