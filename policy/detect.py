"""Risk signals: facts about a case that a person, and the recommendation, weigh.

Pure and deterministic: the same context and policy give the same signals, in SignalCode
order. Each signal carries its weight from `[risk.weights]`, one line for a person and
evidence as strings. Missing parts of the context (no customer, no history, no return)
mean "no signal", never an error.

Which signals are evaluated for which case kind:

| signal              | return | dispute | high-value refund | order review | delayed shipment |
|---------------------|:------:|:-------:|:-----------------:|:------------:|:----------------:|
| outside_window      |   x    |         |                   |              |                  |
| high_value          |   x    |    x    |         x         |      x       |        x         |
| final_sale          |   x    |         |                   |              |                  |
| serial_returner     |   x    |    x    |         x         |      x       |                  |
| vip_customer        |   x    |    x    |         x         |      x       |        x         |
| high_payment_risk   |   x    |    x    |         x         |      x       |                  |
| open_dispute        |   x    |    x    |         x         |      x       |                  |
| not_delivered       |   x    |    x    |                   |              |                  |
| refund_exceeds_paid |   x    |    x    |         x         |              |                  |
| repeat_claim        |   x    |    x    |                   |              |                  |
| shipment_delayed    |        |         |                   |              |        x         |

An early fraud warning is assessed like an order review, plus not_delivered.

Payment systems' facts: high_payment_risk also fires for an actionable early fraud warning
on this order or the customer's other orders (a warning case's own warning excluded);
open_dispute counts disputes on the customer's other orders too, and says so.

Decisions worth knowing:
- Return window: calendar days in the store's time zone from the latest delivery, else the
  latest shipment (fulfilment), else the order date. Each returned item gets its own
  window (the most generous matching tag override, else `window_days`); the signal fires
  when any item is past its window. Requested on day == window is still inside.
- Serial returner: canceled returns do not count (the customer withdrew); declined ones do
  (they were still attempts). The return being assessed never counts.
- Repeat claim: only other returns on the order that may pay out count (requested, open,
  closed); declined and canceled ones paid nothing, so they cannot be paid twice.
- Not delivered: fires when no shipment is delivered and something says it is not (no
  shipment at all, or one unfulfilled, in transit or failed). Shipments whose status is
  only UNKNOWN (no tracking) do not fire it. The carrier's truth (a shipment a shipping
  system reported with a carrier status) replaces the store's view of the same parcel:
  delivered by the carrier is delivered, whatever the store's fulfilment says.
- Currency: thresholds are in the shop's currency (the effective policy's `shop_currency`),
  and the stores report shop money. An amount in another currency is never converted or
  compared as if it were shop money: high_value and refund_exceeds_paid fire and say so
  (a person looks); lifetime spend in another currency does not make a VIP (the
  recommendation says why).
- Time zone: return windows count calendar days in the shop's time zone (`store.tz`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from policy.config import Policy
from policy.models import (
    CaseContext,
    CaseKind,
    DeliveryStatus,
    Dispute,
    Money,
    ParcelUpdate,
    PastReturn,
    PaymentRisk,
    ReturnStatus,
    Shipment,
    Signal,
    SignalCode,
)

SIGNAL_LABELS: dict[SignalCode, str] = {
    SignalCode.OUTSIDE_WINDOW: "outside window",
    SignalCode.HIGH_VALUE: "high value",
    SignalCode.FINAL_SALE: "final sale",
    SignalCode.SERIAL_RETURNER: "serial returner",
    SignalCode.VIP_CUSTOMER: "VIP customer",
    SignalCode.HIGH_PAYMENT_RISK: "high payment risk",
    SignalCode.OPEN_DISPUTE: "open dispute",
    SignalCode.NOT_DELIVERED: "not delivered",
    SignalCode.REFUND_EXCEEDS_PAID: "refund exceeds what was paid",
    SignalCode.REPEAT_CLAIM: "repeat claim",
    SignalCode.SHIPMENT_DELAYED: "shipment delayed",
}

_NOT_PAYING_OUT = {ReturnStatus.DECLINED, ReturnStatus.CANCELED}
_PENDING_DELIVERY = {DeliveryStatus.UNFULFILLED, DeliveryStatus.IN_TRANSIT, DeliveryStatus.FAILED}


@dataclass(frozen=True, slots=True)
class _Case:
    ctx: CaseContext
    policy: Policy
    amount: Money  # ctx.amount, computed once

    def signal(self, code: SignalCode, explanation: str, **evidence: str) -> Signal:
        weight = self.policy.risk.weights.of(code)
        return Signal(code=code, weight=weight, explanation=explanation, evidence=evidence)

    def shop_money(self, amount: object) -> Money:
        return Money.limit(amount, self.policy.shop_currency)  # type: ignore[arg-type]


def detect(ctx: CaseContext, policy: Policy, *, amount: Money | None = None) -> tuple[Signal, ...]:
    """`amount`: `ctx.amount` when the caller has it."""
    if ctx.order is None:
        # A ticket about no order we could find: no order, customer or history to read.
        return ()
    case = _Case(ctx=ctx, policy=policy, amount=amount if amount is not None else ctx.amount)
    found = (_CHECKS[code](case) for code in _APPLIES[ctx.kind])
    return tuple(signal for signal in found if signal is not None)


def redetect(ctx: CaseContext, policy: Policy, found: Iterable[Signal], rerun: frozenset[SignalCode], *,
             amount: Money | None = None, reweigh: bool = True) -> tuple[Signal, ...]:
    """What `detect(ctx, policy)` returns, given `found` = `detect(ctx, other)` for a policy
    `other` whose inputs differ from `policy`'s only for the checks in `rerun`
    (`inputs_changed(other, policy)`): those run again, every other check found what it
    found under `other`, re-weighted with `policy`'s weights (`reweigh` False: the weights
    are the same). The simulator replays a one-key change over every stored case; most
    checks cannot see that key."""
    if ctx.order is None:
        return ()
    again, rank = _plan(ctx.kind, rerun)
    kept = [s for s in found if s.code not in rerun] if again else list(found)
    if reweigh:
        weights = policy.risk.weights
        kept = [s if s.weight == weights.of(s.code) else s.model_copy(update={"weight": weights.of(s.code)})
                for s in kept]
    if not again:
        return tuple(kept)
    case = _Case(ctx=ctx, policy=policy, amount=amount if amount is not None else ctx.amount)
    new = [signal for signal in (_CHECKS[code](case) for code in again) if signal is not None]
    if not new:
        return tuple(kept)
    return tuple(sorted(kept + new, key=lambda s: rank[s.code]))  # detect's order


@lru_cache(maxsize=128)
def _plan(kind: CaseKind, rerun: frozenset[SignalCode]) -> tuple[tuple[SignalCode, ...], dict[SignalCode, int]]:
    """The checks of `kind` to run again, and each check's place in detect's order."""
    applies = _APPLIES[kind]
    return tuple(c for c in applies if c in rerun), {c: i for i, c in enumerate(applies)}


def inputs_changed(current: Policy, proposed: Policy) -> frozenset[SignalCode]:
    """The checks that read something of the policy (`_READS`) that differs between the two."""
    return frozenset(code for code, paths in _READS.items() if paths_differ(current, proposed, paths))


def applies_to(kind: CaseKind) -> tuple[SignalCode, ...]:
    """The checks evaluated for a case of `kind` (the table in the module docstring)."""
    return _APPLIES[kind]


def paths_differ(current: Policy, proposed: Policy, paths: Iterable[str]) -> bool:
    """Whether the two policies differ at any of these attribute paths ("risk.serial_returner")."""
    return any(_read_path(current, path) != _read_path(proposed, path) for path in paths)


def _read_path(policy: Policy, path: str) -> object:
    value: object = policy
    for name in path.split("."):
        value = getattr(value, name)
    return value


# --- helpers shared with the recommendation ---------------------------------------------


def counted_returns(ctx: CaseContext) -> tuple[PastReturn, ...]:
    """The customer's returns in the look-back period that count towards serial returning."""
    if ctx.history is None:
        return ()
    this_id = ctx.return_request.id if ctx.return_request else None
    return tuple(
        r for r in ctx.history.returns if r.status != ReturnStatus.CANCELED and r.return_id != this_id
    )


def history_days(ctx: CaseContext) -> int | None:
    """How many days the customer history covers (None without history)."""
    if ctx.history is None:
        return None
    return max(0, (ctx.now - ctx.history.since).days)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _shipments(ctx: CaseContext) -> list[Shipment]:
    # Later integrations (ShipStation) may send the same shipment with better tracking:
    # the carrier's truth (a shipment with a carrier status) wins over the store's, matched
    # by id or by tracking number.
    by_id = {s.id: s for s in ctx.order.shipments}
    if not ctx.shipments and all(s.carrier_status is None for s in by_id.values()):
        return list(by_id.values())  # the store's view only: nothing to replace
    by_id.update({s.id: s for s in ctx.shipments})
    carrier = {s.tracking_number: s for s in by_id.values() if s.carrier_status is not None and s.tracking_number}
    out = []
    for s in by_id.values():
        better = carrier.get(s.tracking_number) if s.carrier_status is None and s.tracking_number else None
        if better is not None:
            continue  # the carrier's own report of this parcel is in the list already
        out.append(s)
    return out


def _item_tags(ctx: CaseContext) -> dict[str, tuple[str, ...]]:
    return {li.id: li.product_tags for li in ctx.order.line_items}


def _quoted(titles: Iterable[str]) -> str:
    return ", ".join(f"'{t}'" for t in titles)


# --- the checks, one per signal ---------------------------------------------------------


def _outside_window(case: _Case) -> Signal | None:
    ctx, returns = case.ctx, case.policy.returns
    request = ctx.return_request
    if request is None:
        return None
    counted_from, since = _window_start(ctx)
    tz = case.policy.store.tz
    days = (request.requested_at.astimezone(tz).date() - since.astimezone(tz).date()).days
    tags = _item_tags(ctx)
    late: dict[int, list[str]] = {}  # window -> titles past it
    for item in request.line_items:
        window = returns.window_for((*item.product_tags, *tags.get(item.line_item_id, ())))
        if days > window:
            late.setdefault(window, []).append(item.title)
    if not late:
        return None
    titles = [t for group in late.values() for t in group]
    if len(late) == 1 and len(titles) == len(request.line_items):
        windows = f"window is {plural(next(iter(late)), 'day')}"
    else:  # not every item is late, or they have different windows: say which is which
        windows = "; ".join(f"window is {plural(w, 'day')} for {_quoted(t)}" for w, t in sorted(late.items()))
    return case.signal(
        SignalCode.OUTSIDE_WINDOW,
        f"Requested {plural(days, 'day')} after {counted_from}; {windows}",
        days=str(days),
        counted_from=counted_from,
        counted_from_at=since.isoformat(),
        window_days=", ".join(str(w) for w in sorted(late)),
        items=", ".join(titles),
    )


def _window_start(ctx: CaseContext) -> tuple[str, datetime]:
    shipments = _shipments(ctx)
    delivered = [s.delivered_at for s in shipments if s.delivered_at]
    if delivered:
        return "delivery", max(delivered)
    shipped = [s.shipped_at for s in shipments if s.shipped_at]
    if shipped:
        return "fulfilment", max(shipped)
    return "order date", ctx.order.created_at


def _high_value(case: _Case) -> Signal | None:
    threshold = case.shop_money(case.policy.risk.high_value_threshold)
    amount = case.amount
    if amount.currency == threshold.currency and amount < threshold:
        return None
    if amount.currency != threshold.currency:
        text = (
            f"{amount} is in {amount.currency}; the high-value threshold is in "
            f"{threshold.currency}, so a person checks it"
        )
    else:
        text = f"{amount} is at or above the {threshold} high-value threshold"
    return case.signal(SignalCode.HIGH_VALUE, text, amount=str(amount), threshold=str(threshold))


def _final_sale(case: _Case) -> Signal | None:
    request = case.ctx.return_request
    if request is None:
        return None
    final = case.policy.returns.final_sale_folded
    tags = _item_tags(case.ctx)
    hits: dict[str, str] = {}  # item title -> the final-sale tag it carries
    for item in request.line_items:
        for tag in (*item.product_tags, *tags.get(item.line_item_id, ())):
            if tag.casefold() in final:
                hits.setdefault(item.title, tag)
                break
    if not hits:
        return None
    text = "; ".join(f"'{title}' is tagged {tag}" for title, tag in hits.items())
    return case.signal(
        SignalCode.FINAL_SALE,
        f"Final sale: {text}",
        items=", ".join(hits),
        tags=", ".join(dict.fromkeys(hits.values())),
    )


def _serial_returner(case: _Case) -> Signal | None:
    history = case.ctx.history
    if history is None:
        return None
    rules = case.policy.risk.serial_returner
    returns, orders = len(counted_returns(case.ctx)), history.orders_count
    by_count = returns >= rules.min_returns
    by_rate = orders >= rules.min_orders and returns >= rules.min_return_rate * orders
    if returns == 0 or not (by_count or by_rate):
        return None
    rate = f" (rate {returns * 100 // orders}%)" if orders else ""
    return case.signal(
        SignalCode.SERIAL_RETURNER,
        f"{plural(returns, 'return')} in the last {history_days(case.ctx)} days{rate}",
        returns=str(returns),
        orders=str(orders),
        since=history.since.isoformat(),
        rule="count" if by_count else "rate",
    )


def _vip_customer(case: _Case) -> Signal | None:
    customer, vip = case.ctx.customer, case.policy.vip
    if customer is None:
        return None
    tags = [t for t in customer.tags if t.casefold() in vip.tags_folded]
    spend = customer.lifetime_spend
    by_spend = spend.currency == case.policy.shop_currency and spend.amount >= vip.lifetime_spend
    if not tags and not by_spend:
        return None
    parts = [f"tagged {', '.join(tags)}"] if tags else []
    if by_spend:
        parts.append(f"lifetime spend {spend}")
    return case.signal(
        SignalCode.VIP_CUSTOMER,
        f"VIP customer: {'; '.join(parts)}",
        customer_id=customer.id,
        tags=", ".join(tags),
        lifetime_spend=str(spend),
    )


def _high_payment_risk(case: _Case) -> Signal | None:
    levels = case.policy.risk.high_payment_risk_levels
    risks = [r for r in (case.ctx.order.risk, *case.ctx.payments) if r is not None and r.level in levels]
    warnings = [w for w in case.ctx.fraud_warnings if w.actionable]
    if not risks:
        return _fraud_warned(case, warnings) if warnings else None
    first = risks[0]
    text = f"{first.source.capitalize()} rates the payment risk {first.level}"
    if first.facts:
        text += f": {first.facts[0]}"
    if len(risks) > 1:
        text += f" (and {len(risks) - 1} more)"
    evidence = _risk_evidence(risks)
    if warnings:
        text += f"; {_warnings_phrase(case, warnings)}"
        evidence.update(_warning_evidence(warnings))
    return case.signal(SignalCode.HIGH_PAYMENT_RISK, text, **evidence)


def _fraud_warned(case: _Case, warnings: list) -> Signal:
    """A card issuer's early fraud warning on this order or the customer's other orders is
    high payment risk in itself (the issuer says the card holder did not pay)."""
    text = _warnings_phrase(case, warnings)
    return case.signal(SignalCode.HIGH_PAYMENT_RISK, text[:1].upper() + text[1:], **_warning_evidence(warnings))


def _warnings_phrase(case: _Case, warnings: list) -> str:
    here = [w for w in warnings if w.order_id == case.ctx.order.id]
    where = "this order" if len(here) == len(warnings) else (
        "the customer's other orders" if not here else "this and the customer's other orders")
    kinds = ", ".join(dict.fromkeys(w.fraud_label for w in warnings))
    count = "an early fraud warning" if len(warnings) == 1 else f"{len(warnings)} early fraud warnings"
    return f"the card issuer sent {count} on {where} ({kinds})"


def _warning_evidence(warnings: list) -> dict[str, str]:
    return {"fraud_warnings": ", ".join(w.id for w in warnings),
            "fraud_warning_orders": ", ".join(dict.fromkeys(w.order_id or "unlinked" for w in warnings))}


def _risk_evidence(risks: list[PaymentRisk]) -> dict[str, str]:
    evidence: dict[str, str] = {}
    for risk in risks:
        key, n = risk.source, 1
        while f"{key}.level" in evidence:  # two assessments from one source stay apart
            n += 1
            key = f"{risk.source}#{n}"
        evidence[f"{key}.level"] = risk.level.value
        if risk.score is not None:
            evidence[f"{key}.score"] = str(risk.score)
        if risk.facts:
            evidence[f"{key}.facts"] = "; ".join(risk.facts)
    return evidence


def _open_dispute(case: _Case) -> Signal | None:
    disputes: dict[str, Dispute] = {}
    for d in (case.ctx.dispute, *case.ctx.open_disputes):
        if d is not None and d.is_open:
            disputes.setdefault(d.id, d)
    if not disputes:
        return None
    if len(disputes) == 1:
        d = next(iter(disputes.values()))
        detail = ", ".join(x for x in (d.status, d.reason) if x)
        text = f"Open dispute for {d.amount} ({detail})"
    else:
        text = f"{len(disputes)} open disputes on this order"
    elsewhere = [d for d in disputes.values() if d.order_id and d.order_id != case.ctx.order.id]
    if elsewhere:
        text += f" ({len(elsewhere)} on the customer's other orders)" if len(elsewhere) < len(disputes) else \
            " on the customer's other orders"
    evidence = {
        "disputes": ", ".join(disputes),
        "statuses": ", ".join(d.status for d in disputes.values()),
    }
    codes = [d.network_reason_code for d in disputes.values() if d.network_reason_code]
    if codes:
        evidence["network_reason_codes"] = ", ".join(codes)
    due = [d.evidence_due_by for d in disputes.values() if d.evidence_due_by]
    if due:
        evidence["evidence_due_by"] = min(due).isoformat()
    return case.signal(SignalCode.OPEN_DISPUTE, text, **evidence)


_DELIVERY_WORDS = {
    DeliveryStatus.UNFULFILLED: "not shipped",
    DeliveryStatus.IN_TRANSIT: "in transit",
    DeliveryStatus.FAILED: "delivery failed",
}


def _not_delivered(case: _Case) -> Signal | None:
    shipments = _shipments(case.ctx)
    if any(s.status == DeliveryStatus.DELIVERED or s.delivered_at for s in shipments):
        return None
    if not shipments:
        return case.signal(
            SignalCode.NOT_DELIVERED, "Nothing has shipped: the order is unfulfilled", shipments="none"
        )
    pending = [s for s in shipments if s.status in _PENDING_DELIVERY]
    if not pending:
        return None  # only UNKNOWN statuses: no evidence either way
    first = pending[0]
    text = f"Not delivered: shipment {_DELIVERY_WORDS[first.status]}"
    if first.carrier_status is not None:
        text += f" (carrier: {first.carrier_status.label})"
    if first.carrier:
        text += f" with {first.carrier}"
    if first.tracking_number:
        text += f" ({first.tracking_number})"
    evidence = {"shipments": ", ".join(f"{s.id}: {s.status.value}" for s in shipments)}
    if first.tracking_url:
        evidence["tracking_url"] = first.tracking_url
    return case.signal(SignalCode.NOT_DELIVERED, text, **evidence)


_CLAIM_VERBS = {CaseKind.DISPUTE: "disputed", CaseKind.HIGH_VALUE_REFUND: "refunded"}


def _refund_exceeds_paid(case: _Case) -> Signal | None:
    order, amount, refund = case.ctx.order, case.amount, case.ctx.refund
    # A refund that already happened is inside order.refunded: do not count it twice.
    already = refund if refund is not None and any(r.id == refund.id for r in order.refunds) else None
    moneys = [amount, order.received, order.refunded] + ([already.amount] if already else [])
    if len({m.currency for m in moneys}) > 1:
        return case.signal(
            SignalCode.REFUND_EXCEEDS_PAID,
            f"{amount} cannot be compared with what was paid ({order.received}): "
            "different currencies",
            amount=str(amount),
            received=str(order.received),
            refunded=str(order.refunded),
        )
    refunded = order.refunded - already.amount if already else order.refunded
    left = order.received - refunded
    if amount <= left:
        return None
    verb = _CLAIM_VERBS.get(case.ctx.kind, "requested")
    return case.signal(
        SignalCode.REFUND_EXCEEDS_PAID,
        f"{amount} {verb} but only {left} is left to refund "
        f"({order.received} received, {refunded} already refunded)",
        amount=str(amount),
        received=str(order.received),
        refunded=str(refunded),
        left=str(left),
    )


def _repeat_claim(case: _Case) -> Signal | None:
    request = case.ctx.return_request
    this_id = request.id if request else None
    prior = [
        r
        for r in case.ctx.prior_returns_on_order
        if r.status not in _NOT_PAYING_OUT and r.return_id != this_id
    ]
    if not prior:
        return None
    detail = ", ".join(f"{r.status.value} {r.amount}" for r in prior)
    return case.signal(
        SignalCode.REPEAT_CLAIM,
        f"{plural(len(prior), 'other return')} already filed on this order ({detail})",
        returns=", ".join(r.return_id for r in prior),
        statuses=", ".join(r.status.value for r in prior),
    )


def _shipment_delayed(case: _Case) -> Signal | None:
    from policy.shipping import delay_of

    order = case.ctx.order
    for s in case.ctx.shipments:
        parcel = ParcelUpdate(order_ref=order.id, shipment=s, ordered_at=order.created_at)
        delay = delay_of(parcel, case.policy.shipping, now=case.ctx.now)
        if delay is not None:
            evidence = {"reason": delay.reason.value, "parcel": s.tracking_number or s.id}
            if s.carrier_status is not None:
                evidence["carrier_status"] = s.carrier_status.value
            if s.estimated_delivery_at is not None:
                evidence["estimated_delivery"] = s.estimated_delivery_at.isoformat()
            return case.signal(SignalCode.SHIPMENT_DELAYED, delay.explanation, **evidence)
    return None


_CHECKS: dict[SignalCode, Callable[[_Case], Signal | None]] = {
    SignalCode.OUTSIDE_WINDOW: _outside_window,
    SignalCode.HIGH_VALUE: _high_value,
    SignalCode.FINAL_SALE: _final_sale,
    SignalCode.SERIAL_RETURNER: _serial_returner,
    SignalCode.VIP_CUSTOMER: _vip_customer,
    SignalCode.HIGH_PAYMENT_RISK: _high_payment_risk,
    SignalCode.OPEN_DISPUTE: _open_dispute,
    SignalCode.NOT_DELIVERED: _not_delivered,
    SignalCode.REFUND_EXCEEDS_PAID: _refund_exceeds_paid,
    SignalCode.REPEAT_CLAIM: _repeat_claim,
    SignalCode.SHIPMENT_DELAYED: _shipment_delayed,
}


# What each check reads of the policy, besides its signal's weight (`risk.weights`, which
# `redetect` applies itself): attribute paths from the Policy to the fields it reads,
# through the properties and methods it calls (`store.tz` reads `store.timezone`).
# tests/policy/test_detect_reads.py records every read each check makes and fails on one
# that is not covered here (a path covers the paths under it).
_READS: dict[SignalCode, tuple[str, ...]] = {
    SignalCode.OUTSIDE_WINDOW: ("returns.window_days", "returns.window_overrides", "store.timezone"),
    SignalCode.HIGH_VALUE: ("risk.high_value_threshold", "store.currency"),
    SignalCode.FINAL_SALE: ("returns.final_sale_tags",),
    SignalCode.SERIAL_RETURNER: ("risk.serial_returner",),
    SignalCode.VIP_CUSTOMER: ("vip.customer_tags", "vip.lifetime_spend", "store.currency"),
    SignalCode.HIGH_PAYMENT_RISK: ("risk.high_payment_risk_levels",),
    SignalCode.OPEN_DISPUTE: (),
    SignalCode.NOT_DELIVERED: (),
    SignalCode.REFUND_EXCEEDS_PAID: (),
    SignalCode.REPEAT_CLAIM: (),
    SignalCode.SHIPMENT_DELAYED: ("shipping",),
}


def _in_code_order(*codes: SignalCode) -> tuple[SignalCode, ...]:
    return tuple(code for code in SignalCode if code in codes)


_EVERY_KIND = (
    SignalCode.HIGH_VALUE,
    SignalCode.SERIAL_RETURNER,
    SignalCode.VIP_CUSTOMER,
    SignalCode.HIGH_PAYMENT_RISK,
    SignalCode.OPEN_DISPUTE,
)

# The table in the module docstring.
_APPLIES: dict[CaseKind, tuple[SignalCode, ...]] = {
    CaseKind.RETURN_REQUEST: tuple(c for c in SignalCode if c is not SignalCode.SHIPMENT_DELAYED),
    CaseKind.DISPUTE: _in_code_order(
        *_EVERY_KIND, SignalCode.NOT_DELIVERED, SignalCode.REFUND_EXCEEDS_PAID, SignalCode.REPEAT_CLAIM
    ),
    CaseKind.HIGH_VALUE_REFUND: _in_code_order(*_EVERY_KIND, SignalCode.REFUND_EXCEEDS_PAID),
    CaseKind.ORDER_REVIEW: _in_code_order(*_EVERY_KIND),
    CaseKind.EARLY_FRAUD_WARNING: _in_code_order(*_EVERY_KIND, SignalCode.NOT_DELIVERED),
    # A ticket asking for a return is judged as one (policy/ticket_case.py); others by who asks.
    CaseKind.TICKET: tuple(c for c in SignalCode if c is not SignalCode.SHIPMENT_DELAYED),
    CaseKind.DELAYED_SHIPMENT: _in_code_order(SignalCode.HIGH_VALUE, SignalCode.VIP_CUSTOMER,
                                              SignalCode.SHIPMENT_DELAYED),
}
