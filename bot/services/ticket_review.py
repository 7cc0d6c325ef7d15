"""A ticket's priority and its drafted reply, for a ticket case of its own
(bot/services/tickets.py) and for a ticket that joined a return's case
(bot/services/ticket_returns.py): the same two steps, grounded in the case's decision."""

from __future__ import annotations

from datetime import datetime

from bot.llm.drafting import draft_reply
from policy.config import Policy
from policy.detect import detect
from policy.drafting import Draft, DraftContext
from policy.models import Assessment, CaseContext, SignalCode, Ticket
from policy.priority import TicketPriority, ticket_priority
from policy.ticket_case import customer_text, draft_decision
from policy.triage import Classification


def priority_of(ticket: Ticket, ctx: CaseContext, classification: Classification, policy: Policy,
                now: datetime) -> TicketPriority:
    """`[priority]` over the triage, the customer being a VIP (as detection says) and the wait."""
    vip = any(s.code is SignalCode.VIP_CUSTOMER for s in detect(ctx, policy))
    return ticket_priority(urgency=classification.urgency, sentiment=classification.sentiment,
                           intent=classification.intent, vip=vip, created_at=ticket.created_at, now=now,
                           settings=policy.priority)


def draft_for(ticket: Ticket, ctx: CaseContext, assessment: Assessment, classification: Classification,
              policy: Policy, claude, *, keep_items: bool = False) -> Draft:
    """The guardrail-checked reply to `ticket` for the case's recommendation, in the
    customer's language, naming what they return (ctx.return_request) and the order's items."""
    rec = assessment.recommendation
    decision = draft_decision(rec.action, rec.amount, assessment.signals, keep_items=keep_items)
    returned = [li.title for li in ctx.return_request.line_items] if ctx.return_request is not None else None
    draft_ctx = DraftContext.for_order(ctx.order, ctx.customer, language=classification.language,
                                       intent=classification.intent, message=customer_text(ticket),
                                       tz=policy.store.tz, return_items=returned)
    return draft_reply(draft_ctx, decision, policy.voice, claude=claude,
                       catalog=[li.title for li in ctx.order.line_items] if ctx.order else [])
