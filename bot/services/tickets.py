"""Ticket intake: a TICKET_RECEIVED event becomes one TICKET case (policy/ticket_case.py).

classify (Claude, else the rules) → the order it is about (the order number the
classification found, else the requester's latest order) → the order's context, the same
as any case's, with the ticket first in `tickets` → priority → assess (a `return` intent is
judged as the return it asks for) → a draft grounded in the decision → one case.

A later message of the same ticket refreshes that case (a new snapshot, the same card);
a change we made ourselves (our reply, note or tags coming back) is ignored. A ticket
about no order we can find (a wholesale enquiry) is a case with no order
(`CaseContext.order` None): triaged, drafted and sent the same way, the card saying how
we looked. A case with an order gets the order's context as an internal note on the
ticket, queued with the opening on its own lane (bot/services/ticket_note.py). A new
customer message on a sent (DONE) case reopens it (bot/services/ticket_reopen.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from bot.clock import Clock
from bot.policy_fingerprint import fingerprint
from bot.llm.triage import classify
from bot.services.context import assemble, contribute
from bot.services.ticket_note import queue_context_note
from bot.services.ticket_reopen import recheck_later, reopen
from bot.services.ticket_review import draft_for, priority_of
from bot.store import CaseRecord, CaseRepo, NewCase
from bot.store.cases import new_snapshot, ticket_columns
from policy.approval import channel_for
from policy.assess import assess
from policy.config import Policy
from policy.models import Assessment, CaseContext, CaseKind, CaseStatus, DomainEvent, EventKind, Order, Ticket
from policy.ports import StoreSource
from policy.ticket_case import (TicketReview, asked_return, customer_text, last_is_ours, returnless,
                                with_review, wrote_again)
from policy.triage import Classification, Intent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TicketOutcome:
    outcome: str  # "created" | "updated" | "joined" | "reopened" | "ignored"
    case: CaseRecord | None = None


@dataclass
class TicketIntake:
    cases: CaseRepo
    source: StoreSource
    policy: Policy
    clock: Clock
    claude: object | None = None  # bot.llm.Claude; None: the rules and templates
    contributors: tuple = ()
    on_case_changed: Callable[[CaseRecord], None] = field(default=lambda case: None)
    joins: object | None = None  # bot.services.ticket_returns.TicketJoins (set after construction)

    def __post_init__(self) -> None:
        if self.joins is None:
            from bot.services.ticket_returns import TicketJoins

            self.joins = TicketJoins(self)

    def ingest(self, event: DomainEvent) -> TicketOutcome:
        ticket = Ticket.model_validate_json(event.detail["ticket"])
        existing = self.cases.find(ticket.source, ticket.id, CaseKind.TICKET)
        if existing is not None and ticket.csat is not None and ticket.csat != existing.csat:
            # A rating comes after our reply, with no new message: recorded before the
            # "ours" check below would ignore the change.
            self.cases.record_csat(existing.id, ticket.csat, at=self.clock())
        if last_is_ours(ticket):
            return TicketOutcome("ignored")
        text = customer_text(ticket)
        candidates = self.source.find_orders(ticket.requester_email, limit=5) if ticket.requester_email else []
        classification = classify(text, subject=ticket.subject, requester_email=ticket.requester_email,
                                   candidates=candidates, claude=self.claude)
        order, found_by = self._order(classification, candidates, ticket)
        if existing is None and self.joins is not None and order is not None:  # a return ticket joins its return's case
            joined = self.joins.ingest(ticket, classification, order, found_by)
            if joined is not None:
                return joined
        if order is None:
            log.info("ticket.no_order", extra={"ticket": ticket.id, "source": ticket.source})
        ctx, assessment = self._assess(ticket, order, classification, found_by)
        if existing is None:
            case, created = self.cases.open(NewCase(
                source=ticket.source, external_id=ticket.id, context=ctx, assessment=assessment,
                channel=channel_for(CaseKind.TICKET, self.policy), opened_at=ctx.now,
                customer_name=ticket.requester_name, within=queue_context_note(ctx, self.policy.store.tz, now=ctx.now),
                policy_fingerprint=fingerprint(self.policy)))
            if created:
                log.info("case.opened case_id=%s kind=ticket order=%s action=%s", case.id, case.order_name,
                         case.recommended_action)
                self.on_case_changed(case)
                return TicketOutcome("created", case)
            existing = case
        return self._refresh(existing, ctx, assessment)

    def reclassify(self, case: CaseRecord) -> CaseRecord:
        """Reclassify from the card: the rules classifier on the ticket as the case holds it,
        then the order, decision and draft again (the card refreshes)."""
        from policy.triage import classify_by_rules

        ctx, _ = self.cases.snapshot(case)
        ticket = ctx.tickets[0]
        candidates = self.source.find_orders(ticket.requester_email, limit=5) if ticket.requester_email else []
        classification = classify_by_rules(customer_text(ticket), subject=ticket.subject,
                                           requester_email=ticket.requester_email, candidates=candidates,
                                           reason="reclassified from the card")
        order, found_by = self._order(classification, candidates, ticket)
        if order is None and ctx.order is not None:  # the rules find no order: the case keeps the one it has
            order, found_by = ctx.order, "kept from the first classification"
        new_ctx, assessment = self._assess(ticket, order, classification, found_by)
        return self._refresh(case, new_ctx, assessment).case

    def _order(self, classification: Classification, candidates: list[Order],
               ticket: Ticket) -> tuple[Order | None, str]:
        """The order and how it was found; None and how we looked when there is none."""
        if classification.order_ref:
            found = [o for o in candidates if o.name == classification.order_ref]
            found = found or self.source.find_orders(classification.order_ref, limit=1)
            if found:
                return found[0], f"order number {classification.order_ref} in the ticket"
        if candidates:
            latest = max(candidates, key=lambda o: o.created_at)
            return latest, "the requester's latest order (no order number in the ticket)"
        named = (f"order number {classification.order_ref} in the ticket is not in the store"
                 if classification.order_ref else "no order number in the ticket")
        email = (f"no orders for {ticket.requester_email}" if ticket.requester_email
                 else "no requester email to look orders up by")
        return None, f"{named}, and {email}"

    def _assess(self, ticket: Ticket, order: Order | None, classification: Classification,
                found_by: str) -> tuple[CaseContext, Assessment]:
        now = self.clock()
        if order is not None:
            # The order's context is assembled as for any case about an order, then made a ticket's.
            about = DomainEvent(source=ticket.source, kind=EventKind.ORDER_CREATED, resource_id=order.id,
                                occurred_at=now)
            ctx = contribute(assemble(about, self.source, now=now, lookback_days=self.policy.risk.lookback_days),
                             self.contributors)
        else:  # nothing to assemble: the contributors all start from an order
            ctx = CaseContext(kind=CaseKind.TICKET, now=now, order=None)
        others = tuple(t for t in ctx.tickets if t.id != ticket.id)
        asked = asked_return(ticket, ctx.order) if classification.intent is Intent.RETURN and ctx.order else None
        ctx = ctx.model_copy(update={"kind": CaseKind.TICKET, "tickets": (ticket, *others), "return_request": asked})
        priority = priority_of(ticket, ctx, classification, self.policy, now)
        review = TicketReview(classification=classification, priority=priority,
                              order_found_by=found_by if order is not None else None,
                              no_order=found_by if order is None else None)
        ctx = with_review(ctx, review)
        assessment = assess(ctx, self.policy)
        rec = assessment.recommendation
        keep = ctx.return_request is not None and returnless(rec.action, rec.amount,
                                                              self.policy.returns.returnless_refund_up_to)
        draft = draft_for(ticket, ctx, assessment, classification, self.policy, self.claude, keep_items=keep)
        return with_review(ctx, review.model_copy(update={"draft": draft})), assessment

    def _refresh(self, case: CaseRecord, ctx: CaseContext, assessment: Assessment) -> TicketOutcome:
        """The customer wrote again: the case's snapshot and recommendation follow, the card
        is updated in place. A decided case keeps its decision (the audit log says), except
        a sent one (DONE) the customer answered: it reopens (bot/services/ticket_reopen.py)."""
        now = ctx.now
        rec = assessment.recommendation

        def snapshot_now(conn) -> None:
            new_snapshot(conn, case.id, ctx, assessment, at=now)

        columns = {"recommended_action": rec.action.value, "risk_score": rec.risk_score,
                   "amount_minor": rec.amount.to_minor(), "currency": rec.amount.currency, **ticket_columns(ctx)}
        if case.status is CaseStatus.DONE and wrote_again(self.cases.snapshot(case)[0].tickets[0], ctx.tickets[0]):
            result = reopen(self.cases, case, at=now, messages=len(ctx.tickets[0].messages), columns=columns,
                            within=snapshot_now)
            if result.ok:
                self.on_case_changed(result.case)
                return TicketOutcome("reopened", result.case)
            case = result.case  # someone else moved it: refreshed below as it now stands
        elif case.status in (CaseStatus.APPROVED, CaseStatus.EXECUTING) and \
                wrote_again(self.cases.snapshot(case)[0].tickets[0], ctx.tickets[0]):
            recheck_later(self.cases, case, ctx.tickets[0], now=now)  # the reply is going out: look again
        undecided = case.status in (CaseStatus.OPEN, CaseStatus.ESCALATED)
        result = self.cases.transition(
            case.id, expected=case.status, to=case.status, actor="returnsbot", at=now, event="case.ticket_updated",
            detail={"messages": len(ctx.tickets[0].messages)},
            extra=columns if undecided else None, within=snapshot_now if undecided else None)
        if result.ok:
            self.on_case_changed(result.case)
        return TicketOutcome("updated", result.case)
