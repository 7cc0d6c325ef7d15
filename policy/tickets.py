"""The tickets port: what the application needs from a helpdesk (Gorgias, Zendesk, the
sample helpdesk), in vendor-neutral words. The domain model (Ticket, TicketMessage,
TicketStatus, AuthorKind) is in policy/models.py.

Exactly once without idempotency keys. Helpdesks take none, so every write is "check,
then act": the write carries a marker derived from the caller's idempotency key
(`marker_for`), and before writing the adapter reads the ticket and looks for it. Found →
the write already happened (a lost answer, a retried job): nothing is sent again and the
result says so (`repeat=True`). Where the marker lives is the adapter's choice (Gorgias: the
message's `external_id`; Zendesk: a tag added in the same safe update as the comment) and
never in text a customer reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Protocol

from policy.models import Ticket, TicketStatus
from policy.ports import ActionResult

MARKER_PREFIX = "rb-"  # every marker returnsbot writes starts so (and nothing else should)


def marker_for(idempotency_key: str) -> str:
    """A short, stable, tag-safe marker for a write: the same key, the same marker."""
    if not idempotency_key:
        raise ValueError("a ticket write needs an idempotency key")
    return MARKER_PREFIX + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]


def is_marker(text: str | None) -> bool:
    return bool(text) and text.startswith(MARKER_PREFIX) and len(text) == len(MARKER_PREFIX) + 16


@dataclass(frozen=True)
class TicketWrite:
    """What a ticket write did."""

    ticket_id: str
    summary: str  # "reply posted to Gorgias ticket 123"
    message_id: str | None = None  # the new message / comment, when the helpdesk says
    repeat: bool = False  # the marker was already there: nothing was written this time


class Helpdesk(Protocol):
    """A helpdesk's tickets. Reads raise policy.ports.NotFound for an unknown ticket and
    IntegrationError for failures (retryable or not, with `retry_after`)."""

    name: str  # the connector's name, Ticket.source

    def get_ticket(self, ticket_id: str) -> Ticket:
        """The ticket with every message, oldest first."""
        ...

    def recent_tickets(self, since: datetime) -> list[Ticket]:
        """Tickets created or updated at or after `since`, oldest change first (no messages)."""
        ...

    def tickets_of(self, email: str) -> list[Ticket]:
        """The requester's tickets, most recently updated first (no messages)."""
        ...

    def find_agent(self, email: str) -> str | None:
        """The helpdesk agent (user) id with this email, or None."""
        ...

    def post_reply(self, ticket_id: str, *, text: str, agent: str, idempotency_key: str) -> TicketWrite:
        """A public message to the requester, as `agent` (an id from `find_agent`)."""
        ...

    def add_internal_note(self, ticket_id: str, *, text: str, idempotency_key: str) -> TicketWrite:
        """A note only the support team sees."""
        ...

    def set_tags_and_status(self, ticket_id: str, *, tags: tuple[str, ...], status: TicketStatus,
                            idempotency_key: str) -> TicketWrite:
        """Replace the ticket's tags (returnsbot's markers are kept) and set its status."""
        ...


class TicketOperation:
    """The outbox operations a helpdesk connector executes (payloads below)."""

    POST_REPLY = "ticket_post_reply"  # {"ticket_id", "text", "agent"}
    ADD_NOTE = "ticket_add_note"  # {"ticket_id", "text"}
    SET_TAGS_STATUS = "ticket_set_tags_status"  # {"ticket_id", "tags": [...], "status"}


def ticket_actions(helpdesk: Helpdesk) -> dict[str, Callable[[Mapping[str, Any], str], ActionResult]]:
    """A helpdesk's writes as a connector's actions: an outbox job's payload and key → the call."""

    def done(w: TicketWrite) -> ActionResult:
        return ActionResult(ok=True, summary=w.summary + (" (already done: not sent again)" if w.repeat else ""),
                            external_id=w.message_id or w.ticket_id)

    return {
        TicketOperation.POST_REPLY: lambda p, key: done(helpdesk.post_reply(
            str(p["ticket_id"]), text=p["text"], agent=str(p["agent"]), idempotency_key=key)),
        TicketOperation.ADD_NOTE: lambda p, key: done(helpdesk.add_internal_note(
            str(p["ticket_id"]), text=p["text"], idempotency_key=key)),
        TicketOperation.SET_TAGS_STATUS: lambda p, key: done(helpdesk.set_tags_and_status(
            str(p["ticket_id"]), tags=tuple(p.get("tags") or ()), status=TicketStatus(p["status"]),
            idempotency_key=key)),
    }


def check_text(text: str) -> str:
    """Bad input → a clear error before anything is sent."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a ticket message needs some text")
    return text
