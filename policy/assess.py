"""One call for the pipeline: detect the signals, recommend, and say whether a case is due.

When a case is opened:

| kind              | opens a case when                                       |
|-------------------|---------------------------------------------------------|
| return request    | always (Shopify holds it until someone or the policy decides) |
| dispute           | always                                                  |
| order review      | a VIP, high-value or high-payment-risk signal           |
| high-value refund | a high-value or refund-exceeds-paid signal              |
| early fraud warning | always (one per actionable warning)                   |
| delayed shipment  | a shipment-delayed signal (policy/shipping.py)          |
| ticket            | always (a customer waits for an answer)                 |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from policy.config import Policy
from policy.detect import applies_to, detect, inputs_changed, paths_differ, redetect
from policy.models import Action, Assessment, CaseContext, CaseKind, Recommendation, Signal, SignalCode
from policy.recommend import AUTO_APPROVE_READS, may_auto_approve, recommend, recommendation_inputs_changed

_OPENS_CASE: dict[CaseKind, frozenset[SignalCode] | None] = {
    CaseKind.RETURN_REQUEST: None,  # None: always
    CaseKind.DISPUTE: None,
    CaseKind.EARLY_FRAUD_WARNING: None,
    CaseKind.TICKET: None,
    CaseKind.ORDER_REVIEW: frozenset(
        {SignalCode.VIP_CUSTOMER, SignalCode.HIGH_VALUE, SignalCode.HIGH_PAYMENT_RISK}
    ),
    CaseKind.HIGH_VALUE_REFUND: frozenset({SignalCode.HIGH_VALUE, SignalCode.REFUND_EXCEEDS_PAID}),
    CaseKind.DELAYED_SHIPMENT: frozenset({SignalCode.SHIPMENT_DELAYED}),
}


def assess(ctx: CaseContext, policy: Policy) -> Assessment:
    amount = ctx.at_stake(policy.shop_currency)  # summed over a return's lines: once
    signals = detect(ctx, policy, amount=amount)
    return Assessment(kind=ctx.kind, signals=signals, recommendation=recommend(ctx, signals, policy, amount=amount))


@dataclass(frozen=True)
class Changes:
    """What a proposed policy changes that assessing a case reads, against the current one:
    the detection checks whose inputs differ (`policy.detect`), and the case kinds whose
    recommendation reads something that differs (`policy.recommend`)."""

    checks: frozenset[SignalCode]
    kinds: frozenset[CaseKind]
    weights: bool  # `[risk.weights]` differ: any signal found weighs differently
    auto_approve: bool  # `[auto_approve]` differs: read for a return recommended as refund or exchange

    @classmethod
    def between(cls, current: Policy, proposed: Policy) -> Changes:
        return cls(checks=inputs_changed(current, proposed), kinds=recommendation_inputs_changed(current, proposed),
                   weights=current.risk.weights != proposed.risk.weights,
                   auto_approve=paths_differ(current, proposed, AUTO_APPROVE_READS))

    def reach(self, kind: CaseKind) -> bool:
        """Whether a case of `kind` can be assessed differently at all."""
        return (self.weights or kind in self.kinds or not self.checks.isdisjoint(applies_to(kind))
                or (self.auto_approve and kind is CaseKind.RETURN_REQUEST))

    def recommendation_reached(self, kind: CaseKind, action: Action) -> bool:
        """Whether the recommendation for `kind`, which recommended `action` from the same
        signals, reads something that changed."""
        return kind in self.kinds or (self.auto_approve and may_auto_approve(kind, action))


def reassess(ctx: CaseContext, policy: Policy, before: Assessment, changes: Changes) -> Assessment:
    """`assess(ctx, policy)`, given `before` = `assess(ctx, current)` and `changes` =
    `Changes.between(current, policy)`: only the checks the changes reach run again
    (`policy.detect.redetect`), and the recommendation is `before`'s when the signals came
    out the same and it reads nothing that changed — its kind's inputs, and `[auto_approve]`
    only for a refund or an exchange (the same signals give the same action)."""
    if not changes.reach(before.kind):
        return before  # `ctx` is not read (the simulator may not have read it)
    amount = ctx.at_stake(policy.shop_currency)
    signals = redetect(ctx, policy, before.signals, changes.checks, amount=amount, reweigh=changes.weights)
    if signals == before.signals and not changes.recommendation_reached(ctx.kind, before.recommendation.action):
        return before
    return Assessment(kind=ctx.kind, signals=signals, recommendation=recommend(ctx, signals, policy, amount=amount))


def needs_case(kind: CaseKind, signals: Iterable[Signal], recommendation: Recommendation, *,
               in_review: bool = False) -> bool:
    """Whether this event deserves a case (a card and an owner). A return a returns
    platform put in its review queue (`in_review`) always does: it waits for a person.

    `recommendation` is part of the contract for later rules; today only signals matter.
    """
    if in_review:
        return True
    triggers = _OPENS_CASE[kind]
    return triggers is None or any(s.code in triggers for s in signals)
