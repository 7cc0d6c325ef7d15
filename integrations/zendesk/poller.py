"""Catch-up over Zendesk tickets (`zendesk.tickets`): what webhooks missed.

Search (`type:ticket updated>=…`, oldest change first, offset pages, at most 1,000 a
query: the cursor moves to the newest seen and the next poll goes on). New changes take up
to a few minutes to reach the search index, so each poll looks 5 minutes back past the
cursor and skips the ticket states it remembers having reported.
"""

from __future__ import annotations

from integrations.helpdesk import TicketPoller

INDEX_LAG_SECONDS = 300.0  # "up to a few minutes" (reference)


def tickets_poller(helpdesk, *, clock, ours) -> TicketPoller:
    return TicketPoller(helpdesk, clock=clock, ours=ours, overlap=INDEX_LAG_SECONDS)
