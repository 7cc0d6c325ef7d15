"""The order context a ticket case puts on its ticket as an internal note, before anyone
reads the ticket (issue 12): the order (number, date, total, items), its tracking, the
customer's returns, lifetime value and order count, and the payment risk.

Nothing more: no card numbers, payment or customer ids, addresses, emails, risk facts or
processor messages — the note is read by every agent of the helpdesk and kept there.
Pure: a CaseContext in, plain text out (None for a case about no order).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from policy.models import CaseContext, Shipment

MAX_ITEMS = 10
_STATUS = {"UNFULFILLED": "not shipped", "IN_TRANSIT": "in transit", "DELIVERED": "delivered", "FAILED": "failed",
           "UNKNOWN": "status unknown"}


def _day(at, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d")


def _tracking(s: Shipment, tz: ZoneInfo) -> str:
    parts = [s.carrier or "carrier unknown"]
    if s.tracking_number:
        parts.append(s.tracking_number)
    status = s.carrier_status.name.replace("_", " ").lower() if s.carrier_status else _STATUS.get(s.status.value,
                                                                                                  s.status.value)
    if s.delivered_at:
        status = f"delivered {_day(s.delivered_at, tz)}"
    line = " ".join(parts) + f": {status}"
    if not s.delivered_at and s.estimated_delivery_at:
        line += f", expected {_day(s.estimated_delivery_at, tz)}"
    if s.last_scan_at:
        line += f", last scan {_day(s.last_scan_at, tz)}"
    return line


def context_note(ctx: CaseContext, tz: ZoneInfo) -> str | None:
    order = ctx.order
    if order is None:
        return None
    lines = [f"returnsbot — order context for this ticket (as of {_day(ctx.now, tz)})",
             f"Order {order.name}, placed {_day(order.created_at, tz)}, total {order.total.format()}"
             + (f" (refunded {order.refunded.format()})" if order.refunded.amount > 0 else "")]
    items = order.line_items[:MAX_ITEMS]
    lines += [f"- {li.quantity} × {li.title}" + (f" ({li.variant_title})" if li.variant_title else "")
              + f" at {li.unit_price.format()}" for li in items]
    if len(order.line_items) > MAX_ITEMS:
        lines.append(f"- and {len(order.line_items) - MAX_ITEMS} more")
    shipments = ctx.shipments or order.shipments
    lines.append("Tracking: " + ("; ".join(_tracking(s, tz) for s in shipments) if shipments else "no shipment yet"))
    if ctx.history is not None:
        returns = [r for r in ctx.history.returns if r.status.value != "CANCELED"]
        lines.append(f"Returns since {_day(ctx.history.since, tz)}: {len(returns)}"
                     + (f" ({len(ctx.prior_returns_on_order)} on this order)" if ctx.prior_returns_on_order else ""))
    elif ctx.prior_returns_on_order:
        lines.append(f"Returns on this order: {len(ctx.prior_returns_on_order)}")
    c = ctx.customer
    if c is not None:
        lines.append(f"Customer: {c.orders_count} order(s), lifetime value {c.lifetime_spend.format()}")
    else:
        lines.append("Customer: no customer record (a guest order)")
    risks = [r for r in (order.risk, *ctx.payments) if r is not None]
    lines.append("Payment risk: " + (", ".join(
        f"{r.level.value.lower()}" + (f" {r.score}/100" if r.score is not None else "") + f" ({r.source})"
        for r in risks) if risks else "not assessed"))
    return "\n".join(lines)
