"""A sent ticket the customer answers is open again (issue 12).

DONE → OPEN, in one compare-and-set with the fresh triage and draft (the new snapshot and
recommendation columns) and the audit row `case.ticket_reopened` (the digest counts it
against one-touch resolution). The previous decision's columns are cleared so the card is
an open one again; the decision itself stays in `decisions` and the audit log.

Each reopening starts a reply round: the ticket's outbox keys carry it
(`reply_round`), so the second reply is a new write while a double click within a round is
still one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from bot.store import CaseRecord, CaseRepo
from bot.store.cases import TransitionResult
from policy.models import CaseStatus

REOPENED = "case.ticket_reopened"


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
