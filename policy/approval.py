"""Who may decide a case, and where its card goes.

Tiers come from `[[approval_tiers]]` in order of `up_to`. A case needs the first tier whose
`up_to` covers its amount; above every tier it needs the last one. Limits are in the shop's
currency; an amount in another currency is not converted, so it cannot be placed and needs
the last (most senior) tier — the recommendation says so (`currency_notes`).

An approver is a Slack user id (U…/W…) or user-group id (S…). A tier with no approvers
authorises nobody; `may_decide` also lets people from higher tiers decide lower-tier
cases (what "escalated goes back to someone in a higher tier" needs).
"""

from __future__ import annotations

from collections.abc import Collection

from policy.config import Policy
from policy.models import CaseKind, Money, Tier


def required_tier(amount: Money, policy: Policy) -> Tier:
    tiers = policy.tiers
    if amount.currency != policy.shop_currency:
        return tiers[-1]
    for tier in tiers:
        if tier.up_to is None or amount.amount <= tier.up_to:
            return tier
    return tiers[-1]


def escalation_tier(tier: Tier, policy: Policy) -> Tier:
    """The next tier up, or the last tier when there is none above."""
    tiers = policy.tiers
    return tiers[min(tier.index + 1, len(tiers) - 1)]


def is_authorised(user_id: str, user_group_ids: Collection[str], tier: Tier) -> bool:
    """The user is listed on the tier directly, or belongs to a listed user group."""
    return user_id in tier.approvers or any(g in tier.approvers for g in user_group_ids)


def may_decide(user_id: str, user_group_ids: Collection[str], tier: Tier, policy: Policy) -> bool:
    """Authorised at `tier` or at any tier above it."""
    return any(
        is_authorised(user_id, user_group_ids, t) for t in policy.tiers[tier.index :]
    )


def channel_for(kind: CaseKind, policy: Policy) -> str | None:
    """The owner channel for a case kind: `[slack.routing]`, else the review channel."""
    return policy.slack.routing.of(kind) or policy.slack.review_channel
