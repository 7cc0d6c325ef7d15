"""A sent ticket the customer answers is open again (issue 12).

DONE → OPEN, in one compare-and-set with the fresh triage and draft (the new snapshot and
recommendation columns) and the audit row `case.ticket_reopened` (the digest counts it
against one-touch resolution). The previous decision's columns are cleared so the card is
an open one again; the decision itself stays in `decisions` and the audit log.

A customer message that arrives while the reply is going out (APPROVED or EXECUTING: the
reply may already be on the ticket) is looked at again once the case should be done
(`recheck_later`: the same ticket as an ingest job, due in RECHECK_AFTER), so it reopens the
sent case rather than only being recorded.

Each reopening starts a reply round: the ticket's outbox keys carry it
(`reply_round`), so the second reply is a new write while a double click within a round is
still one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from bot.jobs.kinds import Kind
from bot.store import CaseRecord, CaseRepo
from bot.store.cases import TransitionResult
from bot.store.jobs import JobRepo, NewJob
from integrations.helpdesk import ticket_event
from policy.models import CaseStatus, Ticket

REOPENED = "case.ticket_reopened"
RECHECK_AFTER = timedelta(seconds=30)  # well past a reply's few helpdesk calls


def reopen(cases: CaseRepo, case: CaseRecord, *, at: datetime, messages: int, columns: dict[str, Any],
           within: Callable[[Any], None]) -> TransitionResult:
    # On the status alone: two reports of the same message reopen once (the second finds it
    # OPEN and refreshes it), and a version bumped meanwhile (a redaction) doesn't lose it.
    return cases.transition(
        case.id, expected=CaseStatus.DONE, to=CaseStatus.OPEN, actor="returnsbot",
        at=at, event=REOPENED, detail={"messages": messages, "round": reply_round(cases, case.id) + 1},
        extra={**columns, "decided_at": None, "decided_by": None, "decided_action": None}, within=within)


def reply_round(cases: CaseRepo, case_id: int) -> int:
    """0 until the case is first reopened, then 1, 2, …"""
    return sum(1 for row in cases.audit(case_id) if row.get("event") == REOPENED)


def recheck_later(cases: CaseRepo, case: CaseRecord, ticket: Ticket, *, now: datetime) -> int | None:
    """Ingest this ticket again in RECHECK_AFTER (keyed by its last message: once per message)."""
    last = ticket.messages[-1].id if ticket.messages else "none"
    event = ticket_event(ticket)
    return JobRepo(cases.engine).enqueue(NewJob(
        kind=Kind.INGEST, system=ticket.source, operation="ticket_recheck",
        payload={"event": event.model_dump(mode="json")}, run_at=now + RECHECK_AFTER,
        idempotency_key=f"returnsbot:{ticket.source}:case-{case.id}:recheck:{last}"), now=now)
