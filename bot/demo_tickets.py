"""`returnsbot demo`'s tickets: the sample helpdesk's tickets triaged by the real intake (the
rules classifier and template drafts when there is no ANTHROPIC_API_KEY), printed as the
ticket queue — intent, priority, who classified it, the decision and the draft's first line.

A ticket is customer text: what it asks for changes nothing by itself (the injection
attempt gets the policy's decision like any other, waiting for a person like any other).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import TextIO

from bot.container import Container
from bot.store.snapshots import SnapshotUnreadable
from policy.models import Action, CaseKind, Ticket
from policy.ticket_case import review_of

COLUMNS = [("ticket", 15), ("from", 16), ("subject", 30), ("intent", 17), ("priority", 12), ("case", 5),
           ("decision", 24), ("status", 8)]
DRAFT_CHARS = 110


def sample_tickets(c: Container) -> list[Ticket]:
    """The tickets of every helpdesk that can list its own (the sample helpdesk), oldest first."""
    tickets = []
    for connector in c.registry.helpdesks:
        events = getattr(connector.helpdesk, "events", None)
        if events is not None:
            tickets += [Ticket.model_validate_json(e.detail["ticket"]) for e in events()]
    return sorted(tickets, key=lambda t: (t.created_at, t.id))


def ingest_tickets(c: Container, outcomes: Counter[str]) -> list[Ticket]:
    """Each sample ticket through the intake, as the helpdesk's webhook would bring it."""
    from integrations.helpdesk import ticket_event

    tickets = sample_tickets(c)
    for ticket in tickets:
        outcomes[c.ingest.ingest(ticket_event(ticket)).outcome.value] += 1
    return tickets


def case_of(c: Container, ticket: Ticket):
    """The ticket's own case, else the return case it joined (bot/services/ticket_returns.py)."""
    from bot.services.ticket_returns import linked_case

    return c.cases.find(ticket.source, ticket.id, CaseKind.TICKET) or linked_case(c.cases, ticket.source, ticket.id)


def render_tickets(c: Container, tickets: list[Ticket]) -> str:
    """The ticket queue, highest priority first; a ticket that opened no case last."""
    rows = []
    for ticket in tickets:
        case = case_of(c, ticket)
        review = None
        if case is not None:
            try:
                review = review_of(c.cases.snapshot(case)[0])
            except SnapshotUnreadable:
                review = None
        rows.append((ticket, case, review))
    rows.sort(key=lambda r: (r[2] is None, -(r[2].priority.score if r[2] else 0), r[0].created_at))
    lines = [_row([n for n, _ in COLUMNS]), _row(["-" * w for _, w in COLUMNS])]
    for ticket, case, review in rows:
        who = ticket.requester_name or ticket.requester_email or "unknown"
        if case is None or review is None:
            lines += _wrapped([ticket.id, who, ticket.subject, "-", "-", "-", "no case: no order found", "-"])
            continue
        cls = review.classification
        lines += _wrapped([ticket.id, who, ticket.subject, f"{cls.intent.value} ({cls.by})",
                           f"{review.priority.level.value} {review.priority.score}",
                           f"#{case.id}" if case.kind is CaseKind.TICKET else f"#{case.id} (joined)",
                           Action(case.recommended_action).label, case.status.value])
        if review.draft is not None:
            lines.append(f"    draft ({review.draft.by}, {cls.language}): {_first_line(review.draft.text)}")
    return "\n".join(lines) + "\n"


def write_tickets(c: Container, out: TextIO, tickets: list[Ticket]) -> None:
    if not tickets:
        return
    names = ", ".join(sorted({t.source for t in tickets}))
    out.write(f"Tickets ({names}): triaged, an order found, the policy's decision and a drafted reply each — "
              f"nothing is sent or carried out until a person approves it in Slack.\n")
    out.write(render_tickets(c, tickets))
    out.write("\n")


def _first_line(text: str) -> str:
    """The draft's first line after the greeting ("Hi Priya,")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(","):
        lines = lines[1:]
    line = lines[0] if lines else ""
    return line if len(line) <= DRAFT_CHARS else line[: DRAFT_CHARS - 1].rstrip() + "…"


def _wrapped(cells: list[str]) -> list[str]:
    wrapped = [textwrap.wrap(cell, width) or [""] for cell, (_, width) in zip(cells, COLUMNS)]
    height = max(len(w) for w in wrapped)
    return [_row([w[i] if i < len(w) else "" for w in wrapped]) for i in range(height)]


def _row(cells: list[str]) -> str:
    return "  ".join(cell[:width].ljust(width) for cell, (_, width) in zip(cells, COLUMNS)).rstrip()
