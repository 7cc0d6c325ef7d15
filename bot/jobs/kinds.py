"""The kinds of job, and which worker thread runs which: a slow Slack must not delay a
refund, and a backlog of webhooks must not delay a click."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    INBOX = "inbox"  # a stored webhook delivery → domain event → ingest
    INGEST = "ingest"  # a domain event a poll found → ingest
    POLL = "poll"  # one run of one poller for one period
    PERIODIC = "periodic"  # reminders, pruning: once per period across replicas
    CLICK = "click"  # a person's click or modal submission, persisted before the ack
    ACTION = "action"  # a decided side effect in a store system (the outbox)
    CARD = "card"  # post or update a case's card in Slack
    PROPOSAL = "proposal"  # Claude's playbook proposal from a decided case's thread notes
    MOMENT = "moment"  # post or update a moment's alert card (high-value / VIP, with its follow-up)
    # A ticket case's order-context note (bot/services/ticket_note.py): not an outbox action,
    # so it never waits for, blocks, or fails the case's decision and its reply.
    TICKET_NOTE = "ticket_note"


# worker thread name → the kinds it claims
LANES: dict[str, tuple[Kind, ...]] = {
    "intake": (Kind.INBOX, Kind.INGEST, Kind.POLL, Kind.PERIODIC),
    "clicks": (Kind.CLICK,),
    "actions": (Kind.ACTION,),
    "cards": (Kind.CARD, Kind.MOMENT),
    # Claude may take its whole retry window (≤ 30 s): not in the cards' lane.
    "learning": (Kind.PROPOSAL,),
    "notes": (Kind.TICKET_NOTE,),  # a slow helpdesk delays no refund, no card
}
