"""`/order` answers: the order context card, a pick-list, and the usage line (pure renderers).

    render_order_answer(answer) -> {"blocks": [...], "text": "..."}

`answer` is what `bot.services.lookup.OrderLookup.lookup` returns: an `OrderContextView`
(one order), an `OrderChoicesView` (several matched: newest first, at most 10, each with a
Show button and the `/order #NNNN` to type), or a `UsageView` (empty, malformed or
unknown text, the store unreachable, or our own failure with a reference).

The order context card, top to bottom:
  header      "Order #1034 · $549.00"
  context     payment status · fulfilment status · placed when · risk score
  customer    fields: name (VIP) + email, lifetime spend + orders, the look-back window
              (orders, returns), payment (received, refunded, left to refund)
  items       one line per item (capped, "…and 7 more items")
  delivery    shipments: status, carrier, tracking link, delivered / expected
  returns     returns on the order, refunds, disputes
  signals     the policy's risk signals for the order (as an order review)
  cases       the cases on the order, each with a link to its card
  playbook    up to 3 notes the team left on similar cases
  notes       parts that could not be read (the rest is still shown)
  links       Shopify admin

Outside text (names, emails, titles, tags, notes, what the person typed) is escaped with
`escape.escape_mrkdwn` / `escape.plain`; mrkdwn objects are `verbatim`. Every Block Kit limit
holds however large the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from blocks.escape import escape_mrkdwn, link, one_line, plain, truncate
from blocks.format import DATE, ago, carrier_facts, kind_label, reason_label, signal_label, slack_date
from blocks.ids import ActionId
from blocks.parts import (
    SAMPLE_STORE,
    SECTION_TEXT,
    context,
    fit,
    md,
    playbook_section,
    plural,
    sample_store_context,
    section,
)
from blocks.stages import StagesView, stages_compact, status_line
from blocks.views import PlatformView, PlaybookEntry
from policy.models import (
    CaseKind,
    CaseStatus,
    Customer,
    CustomerHistory,
    DeliveryStatus,
    Dispute,
    Money,
    Order,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    Signal,
)

# The pick-list's Show buttons: `order-open-1` … `order-open-10` (action ids must be
# unique in a message); the handler matches ORDER_OPEN_PATTERN (both in blocks/ids.py).

COMMAND = "/order"
USAGE = (f"`{COMMAND} 1001`, `{COMMAND} #1001`, `{COMMAND} customer@example.com` or "
         f"`{COMMAND} gid://shopify/Order/…`")

# Slack's limits (reference/slack/block-kit-limits.md).
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
# Our budgets, well inside them.
MAX_CHOICES = 10
MAX_ITEMS_SHOWN = 20
MAX_SHIPMENTS_SHOWN = 3
MAX_RETURNS_SHOWN = 5
MAX_REFUNDS_SHOWN = 5
MAX_DISPUTES_SHOWN = 3
MAX_CASES_SHOWN = 3
NOTE_CHARS = 300
TITLE_CHARS = 150
FALLBACK_CHARS = 3000


# --- what the renderers take -------------------------------------------------------------


def _require_aware(obj: object) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{type(obj).__name__}.{f.name} must be timezone-aware")


@dataclass(frozen=True)
class CaseLink:
    """A case on the order, and where its card is."""

    case_id: int
    kind: CaseKind
    status: CaseStatus
    amount: Money
    opened_at: datetime
    card_url: str | None = None  # permalink of the owner-channel card
    escalation_url: str | None = None  # permalink of the escalation-tier card
    auto_approved: bool = False
    stages: StagesView | None = None  # the return's progress after approval (issue 9)
    # A return a returns platform (Loop) owns: how it holds it (review, flagged, open,
    # processing, processed, closed, cancelled) and the link to it in the platform's admin.
    platform: PlatformView | None = None

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True)
class OrderContextView:
    """One order and everything around it, as the store and the database say now."""

    order: Order
    now: datetime
    customer: Customer | None = None  # None: guest checkout (or the customer is gone)
    history: CustomerHistory | None = None
    lookback_days: int = 365
    returns: tuple[ReturnRequest, ...] = ()
    disputes: tuple[Dispute, ...] = ()
    signals: tuple[Signal, ...] = ()
    risk_score: int | None = None
    cases: tuple[CaseLink, ...] = ()
    playbook: tuple[PlaybookEntry, ...] = ()
    order_url: str | None = None  # Shopify admin
    unavailable: tuple[str, ...] = ()  # parts that could not be read: "customer history"
    sample_store: bool = False  # looked up in the bundled sample store: the answer says so
    payments: Any = None  # blocks.views.PaymentsView: what payment systems say (risk, warnings, disputes)
    # The parcels with what shipping systems add (the carrier's status, last scan, dates);
    # None: the store's own view (`order.shipments`).
    shipments: tuple[Shipment, ...] | None = None

    def __post_init__(self) -> None:
        _require_aware(self)

    @property
    def vip(self) -> bool:
        return any(s.code.value == "vip_customer" for s in self.signals)


@dataclass(frozen=True)
class OrderChoicesView:
    """Several orders matched (an email with many orders): newest first."""

    query: str  # what was looked up, as shown to the person ("d.okafor@example.net")
    orders: tuple[Order, ...]
    now: datetime
    maybe_more: bool = False  # the store returned as many as we asked for
    sample_store: bool = False

    def __post_init__(self) -> None:
        _require_aware(self)


class Problem(StrEnum):
    EMPTY = "empty"  # no text, or "help"
    MALFORMED = "malformed"  # not a number, email or order gid
    NOT_FOUND = "not_found"  # well-formed, but no order matches
    UNAVAILABLE = "unavailable"  # the store could not be asked
    FAILED = "failed"  # our own error; `reference` is in the log


@dataclass(frozen=True)
class UsageView:
    problem: Problem
    text: str = ""  # what the person typed (raw), or the normalised query
    reference: str | None = None  # correlation id for FAILED
    sample_store: bool = False


OrderAnswer = OrderContextView | OrderChoicesView | UsageView


# --- public ------------------------------------------------------------------------------


def render_order_answer(answer: OrderAnswer) -> dict:
    if isinstance(answer, OrderContextView):
        return render_order_context(answer)
    if isinstance(answer, OrderChoicesView):
        return render_order_choices(answer)
    return render_usage(answer)


def _sample(payload: dict, sample_store: bool) -> dict:
    """An answer from the bundled sample store says so, in the blocks and the text."""
    if not sample_store:
        return payload
    blocks = payload["blocks"]
    return {"blocks": [*blocks[:1], sample_store_context().to_dict(), *blocks[1:]],
            "text": fit(f"[{SAMPLE_STORE}] {payload['text']}", FALLBACK_CHARS)}


def render_order_context(view: OrderContextView) -> dict:
    return _sample(_order_context(view), view.sample_store)


def _order_context(view: OrderContextView) -> dict:
    blocks: list[Block] = [_header(view), _status_context(view), _customer(view)]
    blocks.append(_items(view))
    blocks.append(_delivery(view))
    blocks.append(_returns_and_refunds(view))
    if view.payments is not None:
        from blocks.payments import payments_text

        text = payments_text(view.payments)
        if text:
            blocks.append(section(fit(text, SECTION_TEXT)))
    blocks.append(_signals(view))
    blocks.append(_cases(view))
    for optional in (playbook_section(view.playbook, view.now, note_chars=NOTE_CHARS), _unavailable(view), _links(view)):
        if optional is not None:
            blocks.append(optional)
    return {"blocks": [b.to_dict() for b in blocks], "text": context_fallback(view)}


def render_order_choices(view: OrderChoicesView) -> dict:
    return _sample(_order_choices(view), view.sample_store)


def _order_choices(view: OrderChoicesView) -> dict:
    orders = view.orders[:MAX_CHOICES]
    query = escape_mrkdwn(one_line(view.query), 200)
    blocks: list[Block] = [section(f"*{plural(len(orders), 'order')}* for {query}, newest first:")]
    for i, order in enumerate(orders, start=1):
        name = one_line(order.name)
        line = (f"*{escape_mrkdwn(name, 60)}* · {order.total.format()} · placed {slack_date(order.created_at, DATE)}"
                f" · {_payment_label(order)} · {_fulfilment_label(order)}")
        if order.email:
            line += f"\n{escape_mrkdwn(one_line(order.email), 200)}"
        line += f"\nor type `{COMMAND} {escape_mrkdwn(_typeable(name), 60)}`"
        button = ButtonElement(
            text=PlainTextObject(text=plain(f"Show {name}", BUTTON_TEXT), emoji=True),
            action_id=f"{ActionId.ORDER_OPEN.value}-{i}",
            value=order.id[:BUTTON_VALUE],
        )
        blocks.append(SectionBlock(text=md(fit(line, SECTION_TEXT)), accessory=button))
    if view.maybe_more:
        blocks.append(context(f"Showing the newest {len(orders)}; for an older order, "
                               f"type its number: `{COMMAND} 1001`."))
    head = f"{plural(len(orders), 'order')} for {truncate(one_line(view.query), 200)}: "
    names = ", ".join(truncate(one_line(o.name), 30) for o in orders)
    return {"blocks": [b.to_dict() for b in blocks],
            "text": escape_mrkdwn(head + names + f". Pick one, or type {COMMAND} and its number.", FALLBACK_CHARS)}


def render_usage(view: UsageView) -> dict:
    return _sample(_usage(view), view.sample_store)


def _usage(view: UsageView) -> dict:
    typed = escape_mrkdwn(one_line(view.text), 100)
    usage = f"Look an order up with {USAGE}. Only you see the answer."
    if view.problem is Problem.EMPTY:
        lines = [usage]
    elif view.problem is Problem.MALFORMED:
        lines = [f":thinking_face: “{typed}” isn't an order number, an email or an order gid.", usage]
    elif view.problem is Problem.NOT_FOUND:
        lines = [f":mag: No order matches “{typed}”.", usage]
    elif view.problem is Problem.UNAVAILABLE:
        lines = [f":warning: Couldn't reach the store to look up “{typed}”. Nothing changed; try again in a minute."]
    else:
        ref = escape_mrkdwn(one_line(view.reference or "none"), 40)
        lines = [f":warning: Something went wrong on our side looking that up. Reference: `{ref}`."]
    text = fit("\n".join(lines), SECTION_TEXT)
    return {"blocks": [section(text).to_dict()], "text": fit(" ".join(lines), FALLBACK_CHARS)}


def render_refused(line: str) -> dict:
    """The private one-liner for someone who may not use /order (our own text: it names
    who can, with mentions)."""
    return {"blocks": [section(f":lock: {line}").to_dict()], "text": fit(line, FALLBACK_CHARS)}


def context_fallback(view: OrderContextView) -> str:
    """The message `text`: one escaped line, no mentions, no tokens."""
    o = view.order
    head = f"Order {truncate(one_line(o.name), 60)} · {o.total.format()}"
    if view.customer is not None:
        head += f" · {truncate(one_line(view.customer.display_name), 80)}"
    parts = [f"{_payment_label(o)}, {_fulfilment_label(o)}", plural(sum(li.quantity for li in o.line_items), "item")]
    if view.customer is not None:
        parts.append(f"lifetime spend {view.customer.lifetime_spend.format()}")
    parts.append(f"{plural(len(view.returns), 'return')}, {o.refunded.format()} refunded")
    if view.signals:
        parts.append("signals: " + ", ".join(signal_label(s.code) for s in view.signals))
    for case in view.cases[:1]:
        parts.append(f"case {case.case_id}: {_case_status(case).lower()}"
                     + (f" ({case.platform.label}: {case.platform.state})" if case.platform else ""))
    return escape_mrkdwn(f"{head}: " + "; ".join(parts), FALLBACK_CHARS)


# --- building blocks ---------------------------------------------------------------------










def _capped(head: str, lines: Sequence[str], shown: int, more: Callable[[int], str]) -> str:
    """`head` and up to `shown` lines, within the section limit; the rest become `more(n)`."""
    out = [head]
    used = len(head)
    for i, line in enumerate(lines):
        left = len(lines) - i
        if i >= shown or used + 1 + len(line) + 1 + len(more(left)) > SECTION_TEXT:
            out.append(more(left))
            break
        out.append(line)
        used += 1 + len(line)
    return "\n".join(out)




def _label(status: str | None, unknown: str = "unknown") -> str:
    """Shopify's enum values in words: PARTIALLY_REFUNDED → "Partially refunded"."""
    if not status:
        return unknown.capitalize()
    return one_line(status.replace("_", " ")).capitalize()[:40]


def _payment_label(order: Order) -> str:
    return escape_mrkdwn(_label(order.financial_status), 40)


def _fulfilment_label(order: Order) -> str:
    if order.cancelled_at is not None:
        return "Cancelled"
    return escape_mrkdwn(_label(order.fulfillment_status, "not fulfilled"), 40)


def _typeable(name: str) -> str:
    """What to type after /order: the name as in Shopify ("#1042")."""
    return name if name.startswith("#") else f"#{name}"




# --- the order card ----------------------------------------------------------------------


def _header(view: OrderContextView) -> HeaderBlock:
    text = plain(f"Order {plain(view.order.name, 60)} · {view.order.total.format()}", HEADER_TEXT)
    return HeaderBlock(text=PlainTextObject(text=text, emoji=True))


def _status_context(view: OrderContextView) -> ContextBlock:
    o = view.order
    parts = [f"*{_payment_label(o)}*", f"*{_fulfilment_label(o)}*",
             f"placed {slack_date(o.created_at)} ({ago(o.created_at, view.now)})"]
    if o.cancelled_at is not None:
        parts.append(f"cancelled {slack_date(o.cancelled_at, DATE)}")
    if view.risk_score is not None:
        parts.append(f"risk {view.risk_score}/100")
    if o.tags:
        parts.append("tags " + escape_mrkdwn(", ".join(one_line(t) for t in o.tags), 300))
    return context(" · ".join(parts))


def _customer(view: OrderContextView) -> SectionBlock:
    o, c, h = view.order, view.customer, view.history
    if c is None:
        who = "Guest checkout" if not o.customer_id else "Customer not found"
        if o.email:
            who += f"\n{escape_mrkdwn(one_line(o.email), 200)}"
        fields = [f"*Customer*\n{who}"]
    else:
        name = escape_mrkdwn(one_line(c.display_name), 200) or "(no name)"
        if view.vip:
            name += " :star: VIP"
        email = c.email or o.email
        if email:
            name += f"\n{escape_mrkdwn(one_line(email), 200)}"
        fields = [f"*Customer*\n{name}",
                  f"*Lifetime spend*\n{c.lifetime_spend.format()} · {plural(c.orders_count, 'order')}"]
        if h is not None:
            fields.append(f"*Last {view.lookback_days} days*\n{plural(h.orders_count, 'order')} · "
                          f"{plural(len(h.returns), 'return')}")
        if c.tags:
            fields.append(f"*Customer tags*\n{escape_mrkdwn(', '.join(one_line(t) for t in c.tags), 500)}")
    left = o.received - o.refunded if o.received.currency == o.refunded.currency else None
    payment = f"{o.received.format()} received · {o.refunded.format()} refunded"
    if left is not None and o.refunded.amount:
        payment += f"\n{left.format()} left to refund"
    fields.append(f"*Payment*\n{payment}")
    return SectionBlock(fields=[md(fit(f, FIELD_TEXT)) for f in fields])


def _items(view: OrderContextView) -> SectionBlock:
    items = view.order.line_items
    if not items:
        return section("*Items*\nNo line items.")
    lines = []
    for li in items:
        title = escape_mrkdwn(one_line(li.title), TITLE_CHARS) or "(untitled item)"
        if li.variant_title and li.variant_title.strip():
            title += f" ({escape_mrkdwn(one_line(li.variant_title), 80)})"
        line = f"• {li.quantity} × {title} — {(li.unit_price * li.quantity).format()}"
        if li.sku:
            line += f" · SKU {escape_mrkdwn(one_line(li.sku), 60)}"
        lines.append(line)
    head = f"*{plural(sum(li.quantity for li in items), 'item')}*"
    return section(_capped(head, lines, MAX_ITEMS_SHOWN, lambda n: f"…and {plural(n, 'more item')}"))


_DELIVERY_LABELS = {
    DeliveryStatus.UNFULFILLED: "Not shipped yet",
    DeliveryStatus.IN_TRANSIT: "In transit",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.FAILED: "Delivery failed",
    DeliveryStatus.UNKNOWN: "No tracking",
}


def _delivery(view: OrderContextView) -> SectionBlock:
    shipments = view.order.shipments if view.shipments is None else view.shipments
    if not shipments:
        return section(":package: *Delivery*\nNot shipped yet.")
    lines = []
    for s in shipments:
        icon = ":white_check_mark:" if s.status is DeliveryStatus.DELIVERED else ":truck:"
        parts = [f"{icon} *{_DELIVERY_LABELS.get(s.status, 'Unknown')}*"]
        if s.carrier:
            parts.append(escape_mrkdwn(one_line(s.carrier), 60))
        if s.tracking_url or s.tracking_number:
            label = f"Track {one_line(s.tracking_number)}" if s.tracking_number else "Track"
            parts.append(link(s.tracking_url, label, limit=120))
        if s.delivered_at is not None:
            parts.append(f"delivered {slack_date(s.delivered_at, DATE)} ({ago(s.delivered_at, view.now)})")
        elif s.estimated_delivery_at is not None:
            parts.append(f"expected {slack_date(s.estimated_delivery_at, DATE)}")
        elif s.shipped_at is not None:
            parts.append(f"shipped {slack_date(s.shipped_at, DATE)}")
        lines.append(" · ".join(parts) + _carrier_line(s, view.now))
    return section(_capped(":package: *Delivery*", lines, MAX_SHIPMENTS_SHOWN,
                            lambda n: f"…and {plural(n, 'more shipment')}"))


def _carrier_line(s: Shipment, now: datetime) -> str:
    """The carrier's own words under the parcel's line; empty without a report."""
    carrier = carrier_facts(s, now)
    return "\n    " + " · ".join(carrier) if carrier else ""


_RETURN_LABELS = {
    ReturnStatus.REQUESTED: "Requested, awaiting a decision",
    ReturnStatus.APPROVED: "Approved, open",
    ReturnStatus.DECLINED: "Declined",
    ReturnStatus.CLOSED: "Closed",
    ReturnStatus.CANCELED: "Canceled",
}


def _returns_and_refunds(view: OrderContextView) -> SectionBlock:
    o = view.order
    head = ":leftwards_arrow_with_hook: *Returns, refunds and disputes*"
    if not view.returns and not o.refunds and not view.disputes:
        return section(f"{head}\nNone so far.")
    lines: list[str] = []
    for r in view.returns[:MAX_RETURNS_SHOWN]:
        name = escape_mrkdwn(one_line(r.name), 60) if r.name else "Return"
        what = ", ".join(
            f"{li.quantity} × {escape_mrkdwn(one_line(li.title), 80)} ({escape_mrkdwn(reason_label(li.reason), 60)})"
            for li in r.line_items[:3])
        if len(r.line_items) > 3:
            what += f", and {plural(len(r.line_items) - 3, 'more item')}"
        lines.append(f"• Return *{name}* · {_RETURN_LABELS.get(r.status, _label(r.status))} · {r.amount.format()}"
                     f" · requested {slack_date(r.requested_at, DATE)} — {what}")
    if len(view.returns) > MAX_RETURNS_SHOWN:
        lines.append(f"…and {plural(len(view.returns) - MAX_RETURNS_SHOWN, 'more return')}")
    refunds = sorted(o.refunds, key=lambda r: r.created_at, reverse=True)
    for ref in refunds[:MAX_REFUNDS_SHOWN]:
        line = f"• Refund *{ref.amount.format()}* · {slack_date(ref.created_at, DATE)}"
        if ref.note and ref.note.strip():
            line += f" — “{escape_mrkdwn(one_line(ref.note), NOTE_CHARS)}”"
        lines.append(line)
    if len(refunds) > MAX_REFUNDS_SHOWN:
        lines.append(f"…and {plural(len(refunds) - MAX_REFUNDS_SHOWN, 'more refund')}")
    if o.refunds:
        lines.append(f"Refunded so far: *{o.refunded.format()}* of {o.received.format()}")
    for d in view.disputes[:MAX_DISPUTES_SHOWN]:
        icon = ":rotating_light:" if d.is_open else ":white_circle:"
        line = f"• {icon} Dispute · {escape_mrkdwn(_label(d.status), 40)} · {d.amount.format()}"
        if d.reason:
            line += f" · {escape_mrkdwn(_label(d.reason), 60)}"
        line += f" · opened {slack_date(d.initiated_at, DATE)}"
        if d.is_open and d.evidence_due_by is not None:
            line += f" · evidence due {slack_date(d.evidence_due_by, DATE)}"
        lines.append(line)
    if len(view.disputes) > MAX_DISPUTES_SHOWN:
        lines.append(f"…and {plural(len(view.disputes) - MAX_DISPUTES_SHOWN, 'more dispute')}")
    return section(_capped(head, lines, len(lines), lambda n: f"…and {n} more"))


def _signals(view: OrderContextView) -> Block:
    if not view.signals:
        return context(":white_circle: No risk signals for this order.")
    lines = []
    for s in view.signals:
        icon = ":small_red_triangle:" if s.weight > 0 else ":small_blue_diamond:"
        weight = f"+{s.weight}" if s.weight > 0 else f"−{abs(s.weight)}" if s.weight < 0 else "0"
        lines.append(f"{icon} *{escape_mrkdwn(signal_label(s.code), 60)}* ({weight}) — "
                     f"{escape_mrkdwn(one_line(s.explanation), 400)}")
    head = f"*{plural(len(view.signals), 'risk signal')}*"
    return section(_capped(head, lines, len(lines), lambda n: f"…and {plural(n, 'more signal')}"))


_CASE_STATUS = {
    CaseStatus.OPEN: "Needs a decision",
    CaseStatus.ESCALATED: "Escalated",
    CaseStatus.APPROVED: "Approved",
    CaseStatus.DENIED: "Denied",
    CaseStatus.EXECUTING: "Executing",
    CaseStatus.DONE: "Done",
    CaseStatus.FAILED: "Failed",
    CaseStatus.CLOSED: "Closed in store",
}


def _case_status(case: CaseLink) -> str:
    if case.auto_approved and case.status in (CaseStatus.APPROVED, CaseStatus.EXECUTING, CaseStatus.DONE):
        return "Auto-approved"
    return _CASE_STATUS.get(case.status, str(case.status))


def _cases(view: OrderContextView) -> Block:
    if not view.cases:
        return context(":file_folder: No case on this order.")
    lines = []
    for case in view.cases[:MAX_CASES_SHOWN]:
        line = (f"• *Case {case.case_id}* · {kind_label(case.kind)} · {case.amount.format()} · "
                f"*{_case_status(case)}* · opened {ago(case.opened_at, view.now)}")
        links = []
        if case.card_url:
            links.append(link(case.card_url, "open the card"))
        if case.escalation_url:
            links.append(link(case.escalation_url, "escalation card"))
        if links:
            line += " · " + " · ".join(links)
        if case.platform is not None:
            line += f"\n    {_platform_line(case.platform)}"
        stage = status_line(case.stages, view.now) if case.stages else None
        if stage:
            line += f"\n    {stage}"
            compact = stages_compact(case.stages)
            if compact:
                line += f"\n    {compact}"
        lines.append(line)
    if len(view.cases) > MAX_CASES_SHOWN:
        lines.append(f"…and {plural(len(view.cases) - MAX_CASES_SHOWN, 'older case')}")
    head = f":file_folder: *{'Case' if len(view.cases) == 1 else 'Cases'} on this order*"
    return section(_capped(head, lines, len(lines), lambda n: f"…and {n} more"))




_PLATFORM_STATES = {
    "review": "in its review queue", "flagged": "flagged (it won't process until unflagged there)",
    "open": "open", "processing": "processing (queued there)", "processed": "processed and closed",
    "closed": "closed without its outcomes", "cancelled": "cancelled",
}


def _platform_line(p: PlatformView) -> str:
    """":arrows_counterclockwise: In Loop: *in its review queue* · <…|open it in Loop admin>"."""
    name = escape_mrkdwn(p.label, 40)
    state = _PLATFORM_STATES.get(p.state, escape_mrkdwn(p.state.replace("_", " "), 40))
    line = f":arrows_counterclockwise: {name} owns this return: *{state}*"
    if p.admin_url:
        line += " · " + link(p.admin_url, f"open it in {p.label}", limit=80)
    return line


def _unavailable(view: OrderContextView) -> Block | None:
    if not view.unavailable:
        return None
    parts = escape_mrkdwn(", ".join(one_line(p) for p in view.unavailable), 300)
    return context(f":warning: Couldn't load {parts} just now; the rest is current.")


def _links(view: OrderContextView) -> Block | None:
    if not view.order_url:
        return None
    return context(":link: " + link(view.order_url, f"Order {one_line(view.order.name)} in Shopify admin"))


__all__ = [
    "CaseLink", "OrderAnswer", "OrderChoicesView", "OrderContextView", "Problem", "UsageView",
    "render_order_answer", "render_order_choices",
    "render_order_context", "render_refused", "render_usage", "context_fallback",
]
