"""A support ticket as a case (CaseKind.TICKET): what the case keeps about its triage and
draft, what a ticket asks to return, and which of its messages are ours.

The ticket is `CaseContext.tickets[0]` (the customer's other tickets follow it, from the
helpdesk contributor). `TicketReview` is stored in the snapshot with it, so the card shows
who classified the ticket (Claude or the rules) and the draft as it was checked.

A `return` intent is judged by the return request rules (policy/recommend.py). Without a
store return to judge, `asked_return` derives one from the ticket: the order lines whose
titles the customer names ("my sweater"), else every line, requested when the ticket was
opened. Its id starts "ticket:" so nothing takes it for a store's return.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from policy.drafting import Draft
from policy.models import (Action, AuthorKind, Frozen, Order, ReturnLineItem, ReturnRequest, ReturnStatus,
                           Signal, SignalCode, Ticket)
from policy.priority import TicketPriority
from policy.tickets import is_marker
from policy.triage import Classification

if TYPE_CHECKING:
    from policy.drafting import DraftDecision

ASKED_RETURN_PREFIX = "ticket:"


class TicketReview(Frozen):
    classification: Classification
    priority: TicketPriority
    order_found_by: str | None = None  # "order number in the ticket", "the requester's latest order"
    # No order found (the case has none): how we looked, for the card.
    no_order: str | None = None
    draft: Draft | None = None


class TicketReplies(Frozen):
    """The customer's open ticket a return case answers (it did not join the case): which
    ticket, and the drafted messages for approving and for denying, each guardrail-checked."""

    source: str  # the helpdesk
    ticket_id: str
    subject: str
    url: str | None = None
    approve: Draft | None = None
    deny: Draft | None = None


def replies_of(ctx) -> TicketReplies | None:
    return TicketReplies.model_validate(ctx.ticket_replies) if ctx.ticket_replies else None


def open_ticket(tickets) -> Ticket | None:
    """The customer's most recently updated ticket still waiting on the shop (open/pending)."""
    from policy.models import TicketStatus

    waiting = [t for t in tickets if t.status in (TicketStatus.OPEN, TicketStatus.PENDING)]
    return max(waiting, key=lambda t: t.updated_at) if waiting else None


def customer_text(ticket: Ticket) -> str:
    """What the customer wrote, oldest first (the data the classifier and the draft read)."""
    return "\n\n".join(m.text for m in ticket.customer_messages).strip()


def last_is_ours(ticket: Ticket) -> bool:
    """The ticket changed because of us (a reply, a note, our tags): nothing new to decide."""
    if not ticket.messages:
        return True
    last = ticket.messages[-1]
    return last.author is not AuthorKind.CUSTOMER or is_marker(last.marker)


def wrote_again(seen: Ticket, now: Ticket) -> bool:
    """The customer wrote after a reply (an agent's public message) and the case has not
    seen that message yet: a sent ticket is open again. A stale copy of the ticket (a
    replayed webhook from before the reply) has no customer message after a reply."""
    known = {m.id for m in seen.messages}
    replies = [i for i, m in enumerate(now.messages) if m.author is AuthorKind.AGENT]
    if not replies:
        return False
    return any(m.author is AuthorKind.CUSTOMER and m.id not in known for m in now.messages[replies[-1] + 1:])


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[^\W\d_]{4,}", text.lower())}


def asked_return(ticket: Ticket, order: Order) -> ReturnRequest | None:
    """What the ticket asks to return from `order` (see the module docstring); None for an
    order with nothing on it."""
    said = _words(customer_text(ticket) + " " + ticket.subject)
    named = [li for li in order.line_items if _words(li.title) & said]
    lines = named or list(order.line_items)
    if not lines:
        return None
    return ReturnRequest(
        id=f"{ASKED_RETURN_PREFIX}{ticket.source}:{ticket.id}", order_id=order.id, status=ReturnStatus.REQUESTED,
        requested_at=ticket.created_at,
        line_items=tuple(ReturnLineItem(id=f"{ticket.id}:{li.id}", line_item_id=li.id, title=li.title, sku=li.sku,
                                        quantity=li.quantity, unit_price=li.unit_price, reason="OTHER",
                                        product_tags=li.product_tags,
                                        presentment_unit_price=li.presentment_unit_price)
                         for li in lines))


def returnless(action: Action, amount, up_to) -> bool:
    """A return asked for in a ticket refunded with no return: the customer keeps the items
    (`[returns] returnless_refund_up_to`, shop money; 0 is off). Only a refund, and only at
    or below the threshold."""
    return action is Action.REFUND and up_to > 0 and amount is not None and amount.amount <= up_to


def draft_decision(action: Action, amount, signals: tuple[Signal, ...], *, keep_items: bool = False) -> DraftDecision:
    """The decision in the customer's terms, for the draft and its guardrail (`keep_items`:
    a returnless refund, see `returnless`)."""
    from policy.drafting import DraftDecision
    from policy.models import DeclineReason

    if action in (Action.REFUND, Action.STORE_CREDIT):
        return DraftDecision(action=action, amount=amount, keep_items=keep_items and action is Action.REFUND)
    if action is Action.EXCHANGE:
        return DraftDecision(action=action)
    if action is Action.DENY:
        codes = {s.code for s in signals}
        decline = (DeclineReason.FINAL_SALE if SignalCode.FINAL_SALE in codes
                   else DeclineReason.OUTSIDE_WINDOW if SignalCode.OUTSIDE_WINDOW in codes else DeclineReason.OTHER)
        return DraftDecision(action=Action.DENY, decline=decline)
    return DraftDecision()  # accept or escalate: an answer, nothing promised


def review_of(ctx) -> TicketReview | None:
    """A TICKET case's review from its context (CaseContext.ticket_review)."""
    return TicketReview.model_validate(ctx.ticket_review) if ctx.ticket_review else None


def with_review(ctx, review: TicketReview):
    return ctx.model_copy(update={"ticket_review": review.model_dump(mode="json")})
