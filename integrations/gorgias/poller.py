"""Catch-up over Gorgias tickets (`gorgias.tickets`): what the HTTP integration missed.

`GET /api/tickets?trashed=false&order_by=updated_datetime:desc`, page by page until a
ticket older than the cursor; each changed ticket read again. Gorgias lists are not a
lagging search index, so no overlap is needed beyond the same second.
"""

from __future__ import annotations

from integrations.helpdesk import TicketPoller


def tickets_poller(helpdesk, *, clock, ours) -> TicketPoller:
    return TicketPoller(helpdesk, clock=clock, ours=ours, overlap=1.0)
