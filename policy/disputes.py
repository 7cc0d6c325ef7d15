"""A dispute's evidence packet, what to do about it, and when it is due.

Pure: the case context and the policy in; out come the packet a person reads on the card
(facts grouped as the card issuer will weigh them, and the gaps), a recommendation with
its reasons — submit the evidence (CONTEST) or accept the loss (CONCEDE) — and the
submission in our own evidence terms, which each payment system's connector maps to its
fields (Stripe's `evidence[...]`, Shopify Payments' dispute evidence input).

What answers a dispute depends on its reason (the card networks' categories, as Stripe
and Shopify Payments both name them):

| reason                          | what answers it                                           |
|---------------------------------|-----------------------------------------------------------|
| fraudulent, unrecognized        | the card holder ordered: 3D Secure, CVC/address checks,   |
|                                 | delivery to the billing address, earlier undisputed orders |
| product_not_received            | carrier tracking with a delivery date (a signer: better)  |
| credit_not_processed            | the refund already made, or the refund policy and why not |
| product_unacceptable            | the refund policy, and the return the customer didn't use |
| subscription_canceled           | the cancellation policy                                   |
| anything else                   | delivery and the store's policies                         |

Customer data in the packet is what the evidence needs (name, email, IP, addresses); it
goes to the payment system that already holds it, and nowhere else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from policy.config import Policy
from policy.models import Action, CaseContext, CheckResult, Frozen, Money, Shipment

FRAUD = frozenset({"fraudulent", "unrecognized"})
NOT_RECEIVED = frozenset({"product_not_received"})
CREDIT = frozenset({"credit_not_processed"})
UNACCEPTABLE = frozenset({"product_unacceptable"})
SUBSCRIPTION = frozenset({"subscription_canceled"})


class EvidenceField(StrEnum):
    """The evidence we submit, in our terms (connectors map them to their system's fields)."""

    CUSTOMER_NAME = "customer_name"
    CUSTOMER_EMAIL = "customer_email"
    PURCHASE_IP = "purchase_ip"
    BILLING_ADDRESS = "billing_address"
    SHIPPING_ADDRESS = "shipping_address"
    SHIPPING_CARRIER = "shipping_carrier"
    SHIPPING_TRACKING = "shipping_tracking"
    SHIPPING_DATE = "shipping_date"  # YYYY-MM-DD
    PRODUCT_DESCRIPTION = "product_description"
    REFUND_POLICY = "refund_policy"
    CANCELLATION_POLICY = "cancellation_policy"
    REFUND_REFUSAL = "refund_refusal"
    SUMMARY = "summary"  # the narrative: every fact above, in sentences


class Section(Frozen):
    title: str
    lines: tuple[str, ...]  # facts as text (customer and carrier words inside: escape to render)


class EvidencePacket(Frozen):
    reason: str  # lower-case network category
    due_by: datetime | None
    sections: tuple[Section, ...]
    gaps: tuple[str, ...]  # what this reason usually needs and the packet lacks
    strengths: tuple[str, ...]  # what speaks for the shop
    answered: bool  # whether the evidence answers the reason (the recommendation follows it)
    submission: tuple[tuple[EvidenceField, str], ...]

    @property
    def fields(self) -> dict[EvidenceField, str]:
        return dict(self.submission)


def reason_of(ctx: CaseContext) -> str:
    d = ctx.dispute
    return (d.reason or "general").strip().lower() if d is not None else "general"


def _day(value: datetime | None) -> str | None:
    return f"{value:%Y-%m-%d}" if value is not None else None


def _delivered(ctx: CaseContext) -> list[Shipment]:
    return [s for s in ctx.shipments if s.delivered_at is not None]


def _shipment_line(s: Shipment) -> str:
    parts = [s.carrier or "carrier unknown"]
    if s.tracking_number:
        parts.append(f"tracking {s.tracking_number}")
    if s.shipped_at:
        parts.append(f"shipped {_day(s.shipped_at)}")
    if s.delivered_at:
        parts.append(f"delivered {_day(s.delivered_at)}")
    elif s.estimated_delivery_at:
        parts.append(f"not delivered (expected {_day(s.estimated_delivery_at)})")
    else:
        parts.append("not delivered")
    if s.signed_by:
        parts.append(f"signed by {s.signed_by}")
    return ", ".join(parts)


def _checks(ctx: CaseContext) -> list[str]:
    out = []
    for risk in ctx.payments:
        if risk.authenticated:
            out.append("3D Secure: the card holder authenticated the payment")
        if risk.cvc_check is not None and risk.cvc_check is not CheckResult.UNAVAILABLE:
            out.append(f"CVC check: {risk.cvc_check.value}")
        if risk.address_check is not None and risk.address_check is not CheckResult.UNAVAILABLE:
            out.append(f"billing address check: {risk.address_check.value}")
    return out


def _passed(ctx: CaseContext) -> bool:
    return any(r.cvc_check is CheckResult.PASS or r.address_check is CheckResult.PASS for r in ctx.payments)


def _authenticated(ctx: CaseContext) -> bool:
    return any(r.authenticated for r in ctx.payments)


def _earlier_orders(ctx: CaseContext) -> int:
    """Orders this customer placed before the disputed one (the history counts it too)."""
    if ctx.customer is None:
        return 0
    return max(ctx.customer.orders_count - 1, 0)


def _refunded(ctx: CaseContext) -> Money:
    return ctx.order.refunded


def build_packet(ctx: CaseContext, policy: Policy) -> EvidencePacket:
    """The packet for a dispute case's context (its `dispute` set)."""
    reason = reason_of(ctx)
    dispute = ctx.dispute
    order, customer, facts = ctx.order, ctx.customer, ctx.order_facts
    sections: list[Section] = []

    items = ", ".join(f"{li.quantity} × {li.title}" + (f" ({li.variant_title})" if li.variant_title else "")
                      for li in order.line_items) or "no line items"
    sections.append(Section(title="Order", lines=(
        f"{order.name} placed {_day(order.created_at)}, {order.total}: {items}",)))

    who: list[str] = []
    name = customer.display_name if customer else None
    email = (customer.email if customer else None) or order.email
    if name or email:
        who.append(" · ".join(x for x in (name, email) if x))
    if customer is not None:
        since = f"customer since {_day(customer.created_at)}, " if customer.created_at else ""
        who.append(f"{since}{customer.orders_count} orders, {customer.lifetime_spend} spent")
    if facts is not None and facts.client_ip:
        who.append(f"ordered from IP {facts.client_ip}")
    if facts is not None and facts.billing_address is not None:
        who.append(f"billing: {facts.billing_address.one_line()}")
    if facts is not None and facts.shipping_address is not None:
        match = {True: " (same as billing)", False: " (differs from billing)", None: ""}[facts.billing_matches_shipping]
        who.append(f"shipping: {facts.shipping_address.one_line()}{match}")
    sections.append(Section(title="Customer", lines=tuple(who) or ("guest checkout: no customer record",)))

    checks = _checks(ctx)
    sections.append(Section(title="Payment checks", lines=tuple(checks) or ("the payment system reports no card checks",)))
    sections.append(Section(title="Fulfilment and tracking",
                            lines=tuple(_shipment_line(s) for s in ctx.shipments) or ("not shipped",)))
    sections.append(Section(title="Customer messages",
                            lines=tuple(f"{t.subject} ({t.status})" for t in ctx.tickets)
                            or ("no helpdesk connected: none attached",)))

    history = [f"{r.amount} refunded {_day(r.created_at)}" for r in order.refunds]
    history += [f"return {'requested' if p.status.value == 'REQUESTED' else p.status.value.lower()} "
                f"{_day(p.requested_at)} for {p.amount}" for p in ctx.prior_returns_on_order]
    if ctx.history is not None:
        history += [f"return on another order {_day(p.requested_at)} ({p.status.value.lower()})"
                    for p in ctx.history.returns if p.order_id != order.id]
    sections.append(Section(title="Refunds and returns", lines=tuple(history) or ("no refund, no return requested",)))

    texts = [(label, text) for label, text in (("Refund policy", policy.disputes.refund_policy),
                                                ("Shipping policy", policy.disputes.shipping_policy),
                                                ("Cancellation policy", policy.disputes.cancellation_policy)) if text]
    sections.append(Section(title="Store policy", lines=tuple(f"{label}: {text}" for label, text in texts)
                            or ("no policy text set ([disputes] refund_policy …)",)))

    strengths, gaps, answered = _weigh(ctx, reason, policy)
    return EvidencePacket(reason=reason, due_by=dispute.evidence_due_by if dispute else None,
                          sections=tuple(sections), gaps=tuple(gaps), strengths=tuple(strengths), answered=answered,
                          submission=tuple(_submission(ctx, policy, reason, sections, strengths)))


def _weigh(ctx: CaseContext, reason: str, policy: Policy) -> tuple[list[str], list[str], bool]:
    """(what speaks for the shop, what is missing, whether the evidence answers the reason)."""
    strengths: list[str] = []
    gaps: list[str] = []
    delivered = _delivered(ctx)
    signed = [s for s in delivered if s.signed_by]
    facts = ctx.order_facts
    if reason in FRAUD:
        if _authenticated(ctx):
            strengths.append("the card holder passed 3D Secure")
        if _passed(ctx):
            strengths.append("the card's CVC or billing address matched")
        if delivered and facts is not None and facts.billing_matches_shipping:
            strengths.append("delivered to the billing address")
        if _earlier_orders(ctx) >= 1:
            strengths.append(f"{_earlier_orders(ctx)} earlier orders from this customer")
        if not (_authenticated(ctx) or _passed(ctx)):
            gaps.append("no card check passed and no 3D Secure")
        if not delivered:
            gaps.append("no delivery confirmation")
        answered = _authenticated(ctx) or (bool(delivered) and (_passed(ctx) or _earlier_orders(ctx) >= 1))
    elif reason in NOT_RECEIVED:
        if signed:
            strengths.append(f"delivered {_day(signed[0].delivered_at)}, signed by {signed[0].signed_by}")
        elif delivered:
            strengths.append(f"the carrier confirms delivery on {_day(delivered[0].delivered_at)}")
        else:
            gaps.append("no delivery confirmation from the carrier")
        if not any(s.tracking_number for s in ctx.shipments):
            gaps.append("no tracking number")
        answered = bool(delivered)
    elif reason in CREDIT:
        if ctx.order.refunds:
            strengths.append(f"{_refunded(ctx)} already refunded")
        elif policy.disputes.refund_policy:
            strengths.append("the refund policy explains why no refund is due")
        else:
            gaps.append("no refund made and no refund policy text")
        if any(p.status.value in ("APPROVED", "REQUESTED") for p in ctx.prior_returns_on_order) and not ctx.order.refunds:
            gaps.append("a return is open or approved on this order: the customer is owed a decision")
        answered = bool(strengths) and len(gaps) == 0
    elif reason in UNACCEPTABLE:
        if policy.disputes.refund_policy:
            strengths.append("the refund policy offered a return")
        else:
            gaps.append("no refund policy text")
        if not ctx.prior_returns_on_order:
            strengths.append("the customer never asked to return it")
        answered = bool(policy.disputes.refund_policy)
    elif reason in SUBSCRIPTION:
        if policy.disputes.cancellation_policy:
            strengths.append("the cancellation policy")
        else:
            gaps.append("no cancellation policy text")
        answered = bool(policy.disputes.cancellation_policy)
    else:
        if delivered:
            strengths.append("delivery confirmed by the carrier")
        else:
            gaps.append("no delivery confirmation")
        answered = bool(delivered)
    return strengths, gaps, answered


def _submission(ctx, policy, reason, sections, strengths) -> list[tuple[EvidenceField, str]]:
    F = EvidenceField
    out: list[tuple[EvidenceField, str]] = []
    customer, facts = ctx.customer, ctx.order_facts
    if customer is not None and customer.display_name:
        out.append((F.CUSTOMER_NAME, customer.display_name))
    email = (customer.email if customer else None) or ctx.order.email
    if email:
        out.append((F.CUSTOMER_EMAIL, email))
    if facts is not None:
        if facts.client_ip:
            out.append((F.PURCHASE_IP, facts.client_ip))
        if facts.billing_address is not None:
            out.append((F.BILLING_ADDRESS, facts.billing_address.one_line()))
        if facts.shipping_address is not None:
            out.append((F.SHIPPING_ADDRESS, facts.shipping_address.one_line()))
    shipped = next((s for s in ctx.shipments if s.tracking_number), None)
    if shipped is not None:
        if shipped.carrier:
            out.append((F.SHIPPING_CARRIER, shipped.carrier))
        out.append((F.SHIPPING_TRACKING, shipped.tracking_number))
        if shipped.shipped_at:
            out.append((F.SHIPPING_DATE, _day(shipped.shipped_at)))
    items = "; ".join(f"{li.quantity} × {li.title}" for li in ctx.order.line_items)
    if items:
        out.append((F.PRODUCT_DESCRIPTION, items))
    if policy.disputes.refund_policy:
        out.append((F.REFUND_POLICY, policy.disputes.refund_policy))
    if policy.disputes.cancellation_policy:
        out.append((F.CANCELLATION_POLICY, policy.disputes.cancellation_policy))
    if reason in CREDIT and not ctx.order.refunds and policy.disputes.refund_policy:
        out.append((F.REFUND_REFUSAL, "No refund was due under the refund policy above."))
    summary = [f"{s.title}: " + "; ".join(s.lines) for s in sections if s.title != "Customer messages" or ctx.tickets]
    if strengths:
        summary.insert(0, "In short: " + "; ".join(strengths) + ".")
    out.append((F.SUMMARY, "\n".join(summary)))
    return out


def recommend(ctx: CaseContext, packet: EvidencePacket, policy: Policy) -> tuple[Action, tuple[str, ...]]:
    """Submit the evidence when it answers the dispute's reason; accept the loss when it
    can't (or evidence is past due). Either way the reasons say what decided it."""
    fee = Money.limit(policy.fraud.dispute_fee, ctx.order.currency)
    due = packet.due_by
    if due is not None and due <= ctx.now:
        return Action.CONCEDE, (f"Accept the loss: evidence was due {_day(due)}; it can't be submitted now.",)
    what = packet.reason.replace("_", " ")
    if packet.answered:
        return Action.CONTEST, (f"Submit the evidence: it answers a {what} dispute — " + "; ".join(packet.strengths) + ".",
                                *(f"Missing: {g}." for g in packet.gaps))
    return Action.CONCEDE, (
        f"Accept the loss: the packet doesn't answer a {what} dispute ({'; '.join(packet.gaps) or 'nothing answers it'}); "
        f"contesting it would most likely lose {ctx.amount} and the {fee} fee anyway.",)


def reminders_due(due_by: datetime | None, now: datetime, before_hours: tuple[int, ...]) -> list[int]:
    """The `[disputes] remind_before_hours` marks passed by now, evidence still not due:
    each is one reminder (the caller's ledger says which were sent)."""
    if due_by is None or now >= due_by:
        return []
    return sorted((h for h in set(before_hours) if now >= due_by - timedelta(hours=h)), reverse=True)
