"""Tiers at their boundaries, escalation, authorisation by user and group, routing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policy.approval import channel_for, escalation_tier, is_authorised, may_decide, required_tier
from policy.models import CaseKind, Money

from tests.policy.factories import policy, usd

TWO_TIERS = policy(
    """
[[approval_tiers]]
up_to = 250
approvers = ["U0AGENT001", "S0SUPPORT1"]
[[approval_tiers]]
up_to = 1000
approvers = ["U0LEAD0001"]
"""
)


@pytest.mark.parametrize(
    ("amount", "index"),
    [("0.00", 0), ("250.00", 0), ("250.01", 1), ("1000", 1), ("1000.01", 1), ("99999", 1)],
)
def test_first_tier_covering_the_amount_else_the_last(amount, index):
    assert required_tier(usd(amount), TWO_TIERS).index == index


def test_default_tiers_end_with_an_unlimited_one():
    tier = required_tier(usd("5000"), policy())
    assert (tier.index, tier.up_to) == (2, None)
    assert required_tier(usd("1000"), policy()).up_to == Decimal("1000")


def test_an_amount_in_another_currency_needs_the_last_tier():
    assert required_tier(Money.of("1.00", "EUR"), TWO_TIERS).index == 1


def test_escalation_goes_one_tier_up_and_stops_at_the_last():
    first, last = TWO_TIERS.tiers
    assert escalation_tier(first, TWO_TIERS) == last
    assert escalation_tier(last, TWO_TIERS) == last


def test_authorised_as_a_listed_user():
    tier = TWO_TIERS.tiers[0]
    assert is_authorised("U0AGENT001", set(), tier)
    assert not is_authorised("U0STRANGER", set(), tier)


def test_authorised_through_a_listed_user_group():
    tier = TWO_TIERS.tiers[0]
    assert is_authorised("U0NEWHIRE1", {"S0OTHER001", "S0SUPPORT1"}, tier)
    assert not is_authorised("U0NEWHIRE1", {"S0OTHER001"}, tier)


def test_a_tier_without_approvers_authorises_nobody():
    assert not is_authorised("U0ANYONE01", {"S0ANY00001"}, policy().tiers[0])


def test_higher_tiers_may_decide_lower_tier_cases_but_not_the_reverse():
    first, last = TWO_TIERS.tiers
    assert may_decide("U0LEAD0001", set(), first, TWO_TIERS)
    assert not is_authorised("U0LEAD0001", set(), first)
    assert not may_decide("U0AGENT001", set(), last, TWO_TIERS)


def test_channel_routing_falls_back_to_the_review_channel():
    p = policy('[slack]\nreview_channel = "C0REVIEW01"\n[slack.routing]\ndispute = "C0DISPUTES"\n')
    assert channel_for(CaseKind.DISPUTE, p) == "C0DISPUTES"
    assert channel_for(CaseKind.RETURN_REQUEST, p) == "C0REVIEW01"
    assert channel_for(CaseKind.RETURN_REQUEST, policy()) is None
