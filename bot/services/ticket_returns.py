"""A return ticket decides the return (issue 12): a `return` ticket becomes — or joins — the
return's case, and one click decides the return and answers the customer.

JOIN: the ticket's order already has an undecided return case (a store return, a Loop
return): the ticket joins it instead of opening its own case. The case's snapshot gets the
ticket (`tickets[0]`) and a TicketReview whose draft is grounded in that case's
recommendation; its card shows the ticket and the ticket buttons; the link
(`case_tickets`) finds it again for the ticket's later messages (a webhook replay is a
refresh, never a second case).

BECOME: no store return: the ticket's own case (policy/ticket_case.py derives the return it
asks for). Approve & send runs what the decision names in the store, through the outbox,
before the reply (the case's jobs run in order: a step that fails holds the reply back, so
the customer is never told "refunded" for money that did not move):
- refund / store credit / exchange → `open_return`: the return opened in the store,
  approved, for the asked lines (the store checks before it acts: Shopify by our marker in
  the lines' notes). When it has run, `OpenedReturns.adopt` makes the case that return's
  case (kind, source and id of the store's return, the store's return in the snapshot) and
  links the ticket to it (`case_tickets`, as a joined ticket): the store's later events
  (label, receipt, dispositions) land on this case, the ticket's later messages too;
- then the money as for any store return, by `[returns] refund_on` for the case:
  "approval" → `refund_return` (its return id read from the case when it runs: only known
  once the return exists) or `issue_store_credit`; "receipt" → nothing more now, the
  decision records the money as pending and the lifecycle refunds on receipt;
- a returnless refund (`[returns] returnless_refund_up_to`, off by default): at or below it,
  `refund_order` (a refund on the order, keyed on the case) and the customer keeps the items;
- an order whose money a processor holds: nothing runs in the store (the note says what to do).

Each op is keyed `returnsbot:<system>:case-<id>:<operation>`, so Approve & send and Edit &
send, however often pressed, queue each once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import insert, select

from bot.jobs.errors import RetryLater
from bot.llm.drafting import draft_reply
from bot.services.effects import money_outcome
from bot.schema import case_tickets
from bot.store import CaseRecord, CaseRepo, OutboxOp
from bot.services.ticket_review import draft_for, priority_of
from bot.store.cases import new_snapshot
from policy.config import Policy, RefundOn, Segment
from policy.drafting import DraftContext
from policy.lifecycle_rules import refund_on_for
from policy.models import (Action, Assessment, CaseContext, CaseKind, CaseStatus, Order, SignalCode, Ticket)
from policy.ports import STORE, Operation
from policy.ticket_case import TicketReview, customer_text, draft_decision, returnless, review_of, with_review
from policy.triage import Classification, Intent

log = logging.getLogger(__name__)

UNDECIDED = (CaseStatus.OPEN, CaseStatus.ESCALATED)
# What Approve & send on a ticket's own case decides: the recommendation, when it is a
# return decision; otherwise (escalate, or no return) the reply is the decision.
RETURN_OUTCOMES = (Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE, Action.DENY)
# A store op's payload naming the case whose store return it acts on (the return opened by
# the case's OPEN_RETURN): `return_id` is filled in when the op runs (`resolve_payload`).
RETURN_OF_CASE = "return_of_case"


def ticket_outcome(case: CaseRecord, ctx: CaseContext) -> Action:
    """The decision Approve & send records on a TICKET case."""
    action = Action(case.recommended_action)
    if ctx.return_request is not None and action in RETURN_OUTCOMES:
        return action
    return Action.ACCEPT


def _key(case: CaseRecord, system: str, op: str) -> str:
    return f"returnsbot:{system}:case-{case.id}:{op}"


@dataclass(frozen=True)
class StoreStep:
    """What Approve & send does in the store for a ticket's own return: the ops (maybe
    none), the sentence for the internal note, and what the decision records (money pending
    receipt; a returnless refund)."""

    ops: tuple[OutboxOp, ...]
    note: str | None
    detail: dict = field(default_factory=dict)


def store_step(case: CaseRecord, ctx: CaseContext, assessment: Assessment, policy: Policy | None) -> StoreStep:
    """The store side of deciding a return asked for in a ticket (see the module docstring)."""
    if case.kind is not CaseKind.TICKET or ctx.return_request is None:
        return StoreStep((), None)
    rec = assessment.recommendation
    outcome = ticket_outcome(case, ctx)
    what = f"{outcome.label} of {rec.amount.format()}"
    asked = ctx.return_request
    items = ", ".join(f"{li.title} × {li.quantity}" for li in asked.line_items)
    if outcome is Action.DENY:
        return StoreStep((), "Decision: the return is declined (the reply says why).")
    if outcome not in (Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE):
        return StoreStep((), None)
    if outcome is Action.REFUND and ctx.money_held_by is not None:
        return StoreStep((), f"Decision: {what} — not carried out: the money is held by "
                             f"{ctx.money_held_by.system}; refund it there.")
    customer = ctx.customer.id if ctx.customer else ctx.order.customer_id
    if outcome is Action.STORE_CREDIT and not customer:
        return StoreStep((), f"Decision: {what} — not carried out: the order has no customer to credit.")
    if policy is not None and returnless(outcome, rec.amount, policy.returns.returnless_refund_up_to):
        op = OutboxOp(Operation.REFUND_ORDER,
                      {"order_id": ctx.order.id, "amount": str(rec.amount.amount), "currency": rec.amount.currency,
                       "notify_customer": True, "items": f"returnless, asked in ticket {ctx.tickets[0].id}: {items}"},
                      _key(case, case.source, Operation.REFUND_ORDER), system=STORE)
        return StoreStep((op,), f"Decision: returnless refund of {rec.amount.format()} — refunded in the store; the "
                                f"customer keeps the items ({items}).", {"returnless": True})
    opened = OutboxOp(Operation.OPEN_RETURN,
                      {"order_id": ctx.order.id, "reason_note": f"asked in ticket {ctx.tickets[0].id}",
                       "requested_at": asked.requested_at.isoformat() if asked.requested_at else None,
                       "lines": [{"line_item_id": li.line_item_id, "quantity": li.quantity}
                                 for li in asked.line_items]},
                      _key(case, case.source, Operation.OPEN_RETURN), system=STORE)
    where = f"the return is opened in the store ({items})"
    if outcome is Action.EXCHANGE:
        return StoreStep((opened,), f"Decision: exchange — {where}; add the exchange items to it in the store.")
    money = {"amount": str(rec.amount.amount), "currency": rec.amount.currency}
    if policy is not None and _refund_on(ctx, rec.amount, assessment, policy) is RefundOn.RECEIPT:
        pending = {"outcome": money_outcome(outcome), **money}
        return StoreStep((opened,), f"Decision: {what} — {where}; the {outcome.label.lower()} follows once the "
                                    "items are back.", {"refund_on": RefundOn.RECEIPT.value, "pending": pending})
    if outcome is Action.REFUND:
        # The return's id is known once OPEN_RETURN ran: read from the case when this runs.
        pay = OutboxOp(Operation.REFUND_RETURN, {"return_id": None, RETURN_OF_CASE: case.id,
                                                 "notify_customer": True, **money},
                       _key(case, case.source, Operation.REFUND_RETURN), system=STORE)
        return StoreStep((opened, pay), f"Decision: {what} — {where} and refunded.")
    pay = OutboxOp(Operation.ISSUE_STORE_CREDIT, {"customer_id": customer, **money},
                   _key(case, case.source, Operation.ISSUE_STORE_CREDIT), system=STORE)
    return StoreStep((opened, pay), f"Decision: {what} — {where}; the credit is issued in the store.")


def store_plan(case: CaseRecord, ctx: CaseContext, assessment: Assessment, policy: Policy | None) -> str | None:
    """The card's words for what Approve & send does in the store, before it is pressed."""
    if case.kind is not CaseKind.TICKET or ctx.return_request is None:
        return None
    step = store_step(case, ctx, assessment, policy)
    ops = [op.operation for op in step.ops]
    amount = assessment.recommendation.amount.format()
    items = ", ".join(f"{li.title} × {li.quantity}" for li in ctx.return_request.line_items)
    if Operation.REFUND_ORDER in ops:
        return (f"Returnless refund: Approve & send refunds {amount} on the order and the customer keeps the "
                f"items ({items}).")
    if Operation.OPEN_RETURN not in ops:
        return step.note
    if Operation.REFUND_RETURN in ops:
        then = f", then refunds {amount} on it"
    elif Operation.ISSUE_STORE_CREDIT in ops:
        then = f", then issues {amount} store credit"
    elif step.detail.get("refund_on") == RefundOn.RECEIPT.value:
        then = f"; {amount} is refunded once the items are back (refund on receipt)"
    else:
        then = "; add the exchange items to it in the store"
    return f"Approve & send opens the return in the store ({items}){then}. This card then follows that return."


def _refund_on(ctx: CaseContext, amount, assessment: Assessment, policy: Policy) -> RefundOn:
    codes = {s.code for s in assessment.signals}
    segments = [seg for code, seg in ((SignalCode.VIP_CUSTOMER, Segment.VIP),
                                      (SignalCode.SERIAL_RETURNER, Segment.SERIAL_RETURNER)) if code in codes]
    tags = [t for li in ctx.return_request.line_items for t in li.product_tags]
    return refund_on_for(policy.returns, tags=tags, amount=amount, segments=segments)


# --- JOIN: a return ticket about a return already open --------------------------------------


def linked_case(cases: CaseRepo, source: str, ticket_id: str) -> CaseRecord | None:
    """The case a ticket joined, if it joined one."""
    with cases.engine.connect() as conn:
        case_id = conn.execute(select(case_tickets.c.case_id).where(
            case_tickets.c.source == source, case_tickets.c.ticket_id == ticket_id)).scalar()
    return cases.get(case_id) if case_id is not None else None


def open_return_case(cases: CaseRepo, order: Order) -> CaseRecord | None:
    """The order's undecided return case (newest first), if any."""
    for case in cases.for_order(order.id, limit=20):
        if case.kind is CaseKind.RETURN_REQUEST and case.status in UNDECIDED:
            return case
    return None


@dataclass
class TicketJoins:
    """Joining a ticket to its return's case; `intake` is the TicketIntake (its classifier
    and drafting setup: claude, policy, clock, on_case_changed)."""

    intake: object

    def ingest(self, ticket: Ticket, classification: Classification, order: Order | None,
               found_by: str | None):
        """The ticket's outcome when it belongs to another case (joined before, or joining
        now); None: it is a ticket case of its own (the caller goes on)."""
        from bot.services.tickets import TicketOutcome

        cases: CaseRepo = self.intake.cases
        linked = linked_case(cases, ticket.source, ticket.id)
        if linked is not None:
            return TicketOutcome("updated", self._attach(linked, ticket, classification, found_by, link=False))
        if classification.intent is not Intent.RETURN or order is None:
            return None
        target = open_return_case(cases, order)
        if target is None:
            return None
        joined = self._attach(target, ticket, classification, found_by or "the order's open return", link=True)
        log.info("ticket.joined case_id=%s ticket=%s", target.id, ticket.id,
                 extra={"case_id": target.id, "ticket": ticket.id, "source": ticket.source})
        return TicketOutcome("joined", joined)

    def _attach(self, case: CaseRecord, ticket: Ticket, classification: Classification, found_by: str | None, *,
                link: bool) -> CaseRecord:
        """The ticket (its latest state) and a review grounded in the case's own
        recommendation, as a new snapshot; the link in the same transaction. A decided case
        keeps its snapshot (the audit log records the message)."""
        cases: CaseRepo = self.intake.cases
        now = self.intake.clock()
        ctx, assessment = cases.snapshot(case)
        undecided = case.status in UNDECIDED
        if undecided:
            others = tuple(t for t in ctx.tickets if t.id != ticket.id)
            ctx = ctx.model_copy(update={"tickets": (ticket, *others)})
            ctx = with_review(ctx, review_for(self.intake, ticket, ctx, assessment, classification, found_by))

        def within(conn) -> None:
            if link:
                conn.execute(insert(case_tickets).values(source=ticket.source, ticket_id=ticket.id, case_id=case.id,
                                                         joined_at=now))
            if undecided:
                new_snapshot(conn, case.id, ctx, assessment, at=now)

        result = cases.transition(case.id, expected=case.status, expected_version=case.version, to=case.status,
                                  actor="returnsbot", at=now,
                                  event="case.ticket_joined" if link else "case.ticket_updated",
                                  detail={"ticket": ticket.id, "helpdesk": ticket.source,
                                          "messages": len(ticket.messages)}, within=within)
        if not result.ok:
            # Decided (or changed) between our read and our write: a retry of the ingest
            # sees the new state; nothing was written.
            raise RetryLater(f"case {case.id} changed while ticket {ticket.id} joined it; retrying")
        self.intake.on_case_changed(result.case)
        return result.case


def review_for(intake, ticket: Ticket, ctx: CaseContext, assessment: Assessment, classification: Classification,
               found_by: str | None) -> TicketReview:
    """Priority and a guardrail-checked draft for `ticket`, grounded in the case's decision
    (the same steps as a ticket case's own, bot.services.tickets)."""
    priority = priority_of(ticket, ctx, classification, intake.policy, intake.clock())
    draft = draft_for(ticket, ctx, assessment, classification, intake.policy, intake.claude)
    return TicketReview(classification=classification, priority=priority, order_found_by=found_by, draft=draft)


def joined_ticket(ctx: CaseContext) -> Ticket | None:
    """The ticket a return case carries (it joined the case), else None."""
    return ctx.tickets[0] if ctx.kind is not CaseKind.TICKET and ctx.tickets and review_of(ctx) is not None else None


# --- a return case whose customer has a ticket open (it did not join) ------------------------


def with_open_ticket_replies(intake, ctx: CaseContext, assessment: Assessment) -> CaseContext:
    """A return case about to open, whose customer has a ticket open (the helpdesk
    contributor's `ctx.tickets`): the drafted approval and deny messages for that ticket, so
    the deny modal is prefilled and approving answers the ticket (policy.ticket_case.TicketReplies)."""
    from policy.models import approve_outcome
    from policy.ticket_case import TicketReplies, open_ticket

    if ctx.kind is not CaseKind.RETURN_REQUEST or ctx.ticket_review:
        return ctx
    ticket = open_ticket(ctx.tickets)
    if ticket is None:
        return ctx
    policy: Policy = intake.policy
    rec = assessment.recommendation
    returned = [li.title for li in ctx.return_request.line_items] if ctx.return_request is not None else None
    draft_ctx = DraftContext.for_order(ctx.order, ctx.customer, language=ticket.language or "en", intent=Intent.RETURN,
                                       message=customer_text(ticket), tz=policy.store.tz, return_items=returned)
    catalog = [li.title for li in ctx.order.line_items]

    def draft(action: Action):
        return draft_reply(draft_ctx, draft_decision(action, rec.amount, assessment.signals), policy.voice,
                           claude=intake.claude, catalog=catalog)

    outcome = approve_outcome(ctx.kind, rec.action)
    replies = TicketReplies(source=ticket.source, ticket_id=ticket.id, subject=ticket.subject, url=ticket.url,
                            approve=draft(outcome) if outcome is not Action.DENY else None, deny=draft(Action.DENY))
    return ctx.model_copy(update={"ticket_replies": replies.model_dump(mode="json")})
