"""Catch-up over Gorgias tickets (`gorgias.tickets`): what the HTTP integration missed.

`GET /api/tickets?trashed=false&order_by=updated_datetime:desc`, page by page until a
ticket older than the cursor; each changed ticket read again. Gorgias lists are not a
lagging search index; the minute of overlap is for our clock and Gorgias's disagreeing.
"""

from __future__ import annotations

from integrations.helpdesk import TicketPoller


def tickets_poller(helpdesk, *, clock, ours) -> TicketPoller:
    return TicketPoller(helpdesk, clock=clock, ours=ours, overlap=60.0)
