"""When the money moves, and what the warehouse's dispositions mean for it. Pure functions.

`refund_on_for` picks "approval" or "receipt" for a case from `[returns]` and its overrides;
`evaluate_receipt` turns the approved lines, the dispositions and what is left to refund into
either "refund automatically" or a follow-up decision with a recommendation that says why;
`STAGE_WAITS` is the one map of how long a return may wait in a stage (the stall rules and
the card's "what happens next" both read it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from policy.config import RefundOn, ReturnsSettings, Segment
from policy.models import Money, Order  # first: policy.lifecycle imported on its own is circular with policy.models
from policy.lifecycle import DisposedLine, Disposition, ReturnStage  # noqa: I001


def refund_on_for(settings: ReturnsSettings, *, tags: Iterable[str], amount: Money,
                  segments: Iterable[Segment | str] = ()) -> RefundOn:
    """The first `[[returns.refund_on_rule]]` whose every condition holds, else `refund_on`.
    `amount` is in shop money (the case amount)."""
    folded = {t.casefold() for t in tags}
    have = {Segment(s) for s in segments}
    for rule in settings.refund_on_rule:
        if rule.tag is not None and rule.tag.casefold() not in folded:
            continue
        if rule.min_amount is not None and amount.amount < rule.min_amount:
            continue
        if rule.max_amount is not None and amount.amount >= rule.max_amount:
            continue
        if rule.segment is not None and rule.segment not in have:
            continue
        return rule.refund_on
    return settings.refund_on


@dataclass(frozen=True)
class StageWait:
    """A stage a return should not stay in for long: the `[returns]` key giving the days,
    what the return waits for there (the card's next step; None where the tracking says
    it) and how the stall reminder names a return stuck in it."""

    limit_key: str
    waiting_for: str | None
    stalled_as: str


# The watched stages, in pipeline order.
STAGE_WAITS: Mapping[ReturnStage, StageWait] = MappingProxyType({
    ReturnStage.APPROVED: StageWait("label_within_days", "waiting for a label", "approved but no label attached"),
    ReturnStage.LABEL_SENT: StageWait("stalled_after_days", None, "labelled but not moving"),
    ReturnStage.IN_TRANSIT: StageWait("stalled_after_days", None, "in transit but not moving"),
    ReturnStage.DELIVERED_BACK: StageWait("inspect_within_days", "waiting for inspection",
                                          "delivered back but not inspected"),
})


def stage_limit_days(returns: ReturnsSettings, stage: ReturnStage) -> int | None:
    """Days a return may stay in `stage` before it has stalled; None: no rule for it.
    `returns`: the `[returns]` settings, or anything carrying their day keys (StallRules)."""
    wait = STAGE_WAITS.get(stage)
    return None if wait is None else int(getattr(returns, wait.limit_key))


def left_to_refund(order: Order) -> Money:
    """What the store can still refund on the order (shop money): received - refunded, never below 0."""
    left = order.received - order.refunded
    return left if left.amount > 0 else Money.zero(left.currency)


@dataclass(frozen=True)
class ApprovedLine:
    return_line_id: str
    quantity: int
    unit_price: Money
    title: str = ""


@dataclass(frozen=True)
class AutoRefund:
    amount: Money  # what runs: the amount decided


@dataclass(frozen=True)
class FollowUp:
    reason: str  # missing | not_restocked | fewer_received | exceeds_refundable
    summary: str  # "1 of 2 items missing → partial refund €32.25"
    recommended: str  # partial_refund | refund | store_credit | no_refund
    suggested_amount: Money  # value of the accepted lines, capped at what is left to refund
    refundable: Money

    def as_column(self, *, opened_at: str) -> dict:
        return {"reason": self.reason, "summary": self.summary, "recommended": self.recommended,
                "suggested_amount": str(self.suggested_amount.amount), "currency": self.suggested_amount.currency,
                "refundable": str(self.refundable.amount), "opened_at": opened_at}


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def format_money(m: Money) -> str:
    q = m.amount.quantize(Decimal(1).scaleb(-m.exponent))
    sym = _SYMBOLS.get(m.currency)
    return f"{sym}{q}" if sym else f"{q} {m.currency}"


def _plural(n: int) -> str:
    return "item" if n == 1 else "items"


def merge_dispositions(facts: Iterable[Iterable[DisposedLine]]) -> tuple[DisposedLine, ...]:
    """What the warehouse has said so far, from every receipt fact of a return: per (line,
    disposition) the largest quantity any fact gave. A Shopify dispose body is the whole reverse
    fulfillment order so far (quantities only grow), so the largest is the latest; a warehouse
    that scans item by item sends one line per fact, and the union keeps each."""
    best: dict[tuple[str, Disposition], DisposedLine] = {}
    for fact in facts:
        for d in fact:
            key = (d.return_line_id, d.disposition)
            if key not in best or d.quantity > best[key].quantity:
                best[key] = d
    return tuple(best.values())


def evaluate_receipt(lines: Iterable[ApprovedLine], dispositions: Iterable[DisposedLine], *,
                     decided: Money, refundable: Money,
                     accepted: Iterable[Disposition | str] = (Disposition.RESTOCKED,)) -> AutoRefund | FollowUp:
    """Every approved item disposed as accepted and the decided amount still refundable →
    refund automatically; otherwise a follow-up naming the first thing wrong (missing, not
    restocked, fewer received, exceeds refundable), recommending a partial refund of the
    accepted lines' value (capped at what is left) or, with nothing accepted, no refund."""
    lines = list(lines)
    ok = {Disposition(a) for a in accepted}
    approved_qty = sum(li.quantity for li in lines)
    by_line: dict[str, dict[Disposition, int]] = {}
    for d in dispositions:
        by_line.setdefault(d.return_line_id, {}).setdefault(d.disposition, 0)
        by_line[d.return_line_id][d.disposition] += d.quantity
    accepted_value = Money.zero(decided.currency)
    counts: dict[str, int] = {"missing": 0, "not_restocked": 0, "received": 0, "accepted": 0}
    for li in lines:
        got = by_line.get(li.return_line_id, {})
        acc = min(li.quantity, sum(q for disp, q in got.items() if disp in ok))
        missing = sum(q for disp, q in got.items() if disp is Disposition.MISSING and disp not in ok)
        received = min(li.quantity, sum(q for disp, q in got.items() if disp is not Disposition.MISSING))
        counts["accepted"] += acc
        counts["missing"] += missing
        counts["received"] += received
        accepted_value = accepted_value + li.unit_price * acc
    counts["not_restocked"] = max(0, counts["received"] - counts["accepted"])
    capped = min(accepted_value, refundable, decided, key=lambda m: m.amount)

    def follow(reason: str, what: str) -> FollowUp:
        if capped.amount <= 0:
            return FollowUp(reason, f"{what} → no refund", "no_refund", capped, refundable)
        return FollowUp(reason, f"{what} → partial refund {format_money(capped)}", "partial_refund", capped,
                        refundable)

    if counts["accepted"] >= approved_qty:
        if decided > refundable:
            return FollowUp("exceeds_refundable",
                            f"refund {format_money(decided)} exceeds the {format_money(refundable)} left to refund "
                            f"→ refund {format_money(refundable)}", "partial_refund" if refundable.amount > 0
                            else "no_refund", refundable, refundable)
        return AutoRefund(decided)
    if counts["missing"]:
        n = counts["missing"]
        return follow("missing", f"{n} of {approved_qty} {_plural(approved_qty)} missing")
    if counts["not_restocked"]:
        n = counts["not_restocked"]
        return follow("not_restocked", f"{n} of {approved_qty} {_plural(approved_qty)} not restocked")
    return follow("fewer_received", f"{counts['received']} of {approved_qty} {_plural(approved_qty)} received")
