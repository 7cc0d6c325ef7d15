"""Early fraud warnings: refund proactively, or have a person review.

A warning stays actionable until the charge is fully refunded or disputed, so the
proactive refund is always of everything left on the charge. Under `[fraud]
proactive_refund_below` (shop currency) that is recommended: a dispute costs the shop the
`dispute_fee` on top of the amount, and fraud disputes are usually lost (the issuer has
already said the card holder did not authorise it). At or above the threshold a person
reviews (the money may be worth fighting for, e.g. proof of delivery to the card holder).
"""

from __future__ import annotations

from policy.config import Policy
from policy.models import Action, CaseContext, Money


def proactive_refund(ctx: CaseContext, policy: Policy) -> tuple[Action, tuple[str, ...]]:
    warning = ctx.fraud_warning
    if warning is None:
        return Action.ESCALATE, ("Review: the fraud warning itself could not be read.",)
    left = warning.left_to_refund
    currency = policy.shop_currency
    issuer = f"The card issuer reported this payment as fraud ({warning.fraud_label})."
    if left.amount <= 0:
        return Action.ESCALATE, (issuer, "Review: nothing is left to refund on the payment.")
    if left.currency != currency:
        return Action.ESCALATE, (issuer, f"Review: the payment is in {left.currency} and `[fraud] "
                                         f"proactive_refund_below` is in {currency}, which returnsbot does not convert.")
    below = Money.limit(policy.fraud.proactive_refund_below, currency)
    fee = Money.limit(policy.fraud.dispute_fee, currency)
    at_stake = left + fee
    if left < below:
        return Action.REFUND, (
            f"Refund {left} now, in full: it is below the {below} proactive-refund limit.",
            issuer,
            f"A dispute would most likely be lost and cost {at_stake} ({left} plus the {fee} dispute fee); "
            f"refunding costs {left}.",
        )
    return Action.ESCALATE, (
        f"Review: {left} is at or above the {below} proactive-refund limit.",
        issuer,
        f"Refunding costs {left}; a lost dispute would cost {at_stake} (with the {fee} dispute fee). "
        f"Refund unless there is proof the card holder received the order.",
    )
