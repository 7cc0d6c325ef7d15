"""Money and time in the shop's terms (issue 8, finding 2).

A shop that does not price in US dollars, run with the default policy, must behave exactly
as a dollar shop does: the thresholds are numbers in the shop's currency, which comes from
the shop (`Policy.for_shop`). Before, the default policy was in USD, so for a EUR shop a
€12 order was "high value", every return needed the last tier, nothing auto-approved and
VIP-by-spend never fired.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from policy.approval import required_tier
from policy.assess import assess
from policy.config import Policy, ShopMismatch, ShopUnknown, parse_policy
from policy.detect import detect
from policy.models import Action, CaseContext, CaseKind, Money, ShopFacts, SignalCode
from tests.policy.factories import (
    customer,
    delivered,
    line_item,
    order,
    return_ctx,
    return_item,
    ctx_of,
)

S = SignalCode
CURRENCIES = ["USD", "EUR", "GBP"]


def shop(currency: str, timezone: str = "Europe/Berlin") -> ShopFacts:
    return ShopFacts(currency=currency, timezone=timezone)


def in_currency(ctx: CaseContext, currency: str) -> CaseContext:
    """The same case with every amount in `currency` (the factories build dollars)."""

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (currency if k == "currency" else swap(v)) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [swap(v) for v in node]
        return node

    return CaseContext.model_validate(swap(ctx.model_dump()))


def effective(currency: str, toml: str = "") -> Policy:
    return parse_policy(toml).for_shop(shop(currency))


# --- the default policy, in the shop's currency -----------------------------------------------


@pytest.mark.parametrize("currency", CURRENCIES)
def test_tier_one_approves_a_64_50_return_with_the_default_policy(currency):
    ctx = in_currency(return_ctx(return_item(price="64.50")), currency)
    policy = effective(currency)
    assert ctx.amount == Money.of("64.50", currency)
    assert required_tier(ctx.amount, policy).index == 0
    assert assess(ctx, policy).recommendation.tier.index == 0


@pytest.mark.parametrize("currency", CURRENCIES)
def test_a_12_order_is_not_high_value(currency):
    ctx = in_currency(ctx_of(CaseKind.ORDER_REVIEW, order=order(received="12.00", items=(line_item(price="12.00"),))),
                      currency)
    policy = effective(currency)
    assert S.HIGH_VALUE not in {s.code for s in detect(ctx, policy)}
    assert required_tier(ctx.amount, policy).index == 0


@pytest.mark.parametrize("currency", CURRENCIES)
def test_auto_approve_behaves_as_for_dollars(currency):
    policy = effective(currency)
    small = assess(in_currency(return_ctx(return_item(price="49.00", reason="DEFECTIVE")), currency), policy)
    assert small.recommendation.action is Action.REFUND and small.recommendation.auto_approve
    big = assess(in_currency(return_ctx(return_item(price="80.00", reason="DEFECTIVE")), currency), policy)
    assert not big.recommendation.auto_approve
    limit = Money.of("75", currency)
    assert f"A person decides: {Money.of('80.00', currency)} is above the {limit} auto-approve limit." \
        in big.recommendation.reasons


@pytest.mark.parametrize("currency", CURRENCIES)
def test_vip_by_spend_fires_as_for_dollars(currency):
    policy = effective(currency)
    spender = in_currency(return_ctx(customer=customer(spend="2500.00")), currency)
    [vip] = [s for s in detect(spender, policy) if s.code is S.VIP_CUSTOMER]
    assert vip.explanation == f"VIP customer: lifetime spend {Money.of('2500.00', currency)}"
    modest = in_currency(return_ctx(customer=customer(spend="1999.99")), currency)
    assert S.VIP_CUSTOMER not in {s.code for s in detect(modest, policy)}


def test_a_eur_shop_was_broken_by_a_dollar_policy():
    """What finding 2 saw, and why the fix is the shop's currency, not a default: a policy
    in USD cannot compare euros (it says so rather than guess a rate)."""
    ctx = in_currency(return_ctx(return_item(price="64.50")), "EUR")
    dollars = parse_policy('[store]\ncurrency = "USD"\ntimezone = "UTC"\n')
    assert required_tier(ctx.amount, dollars).index == len(dollars.tiers) - 1
    assert required_tier(ctx.amount, effective("EUR")).index == 0


# --- another currency than the shop's: never compared, always said --------------------------


def test_an_amount_in_another_currency_needs_the_last_tier_and_the_reasons_say_why():
    policy = effective("EUR")
    ctx = in_currency(return_ctx(return_item(price="20.00", reason="DEFECTIVE")), "GBP")
    a = assess(ctx, policy)
    assert a.recommendation.tier.index == len(policy.tiers) - 1
    assert not a.recommendation.auto_approve
    assert ("Needs the last approval tier: the amount is in GBP and the approval limits are in EUR, "
            "which returnsbot does not convert.") in a.recommendation.reasons
    [high] = [s for s in a.signals if s.code is S.HIGH_VALUE]
    assert "is in GBP; the high-value threshold is in EUR" in high.explanation


def test_lifetime_spend_in_another_currency_is_not_a_vip_and_says_so():
    policy = effective("EUR")
    ctx = in_currency(return_ctx(), "EUR").model_copy(update={"customer": customer(spend="9000.00", currency="USD")})
    a = assess(ctx, policy)
    assert S.VIP_CUSTOMER not in {s.code for s in a.signals}
    assert "Lifetime spend $9,000.00 is not in EUR, so it is not compared with the VIP threshold." \
        in a.recommendation.reasons


def test_money_of_two_currencies_refuses_to_compare():
    from policy.models import CurrencyMismatch

    with pytest.raises(CurrencyMismatch):
        assert Money.of("1", "EUR") < Money.of("2", "GBP")


def test_an_unresolved_policy_refuses_instead_of_assuming_dollars():
    ctx = return_ctx()
    with pytest.raises(ShopUnknown, match="currency is not known"):
        required_tier(ctx.amount, Policy.default())
    with pytest.raises(ShopUnknown, match="is not known"):
        detect(ctx, Policy.default())
    with pytest.raises(ShopUnknown, match="time zone is not known"):
        Policy.default().store.tz


# --- the effective policy --------------------------------------------------------------------


def test_the_shop_fills_what_the_policy_leaves_out():
    p = Policy.default().for_shop(shop("EUR"))
    assert (p.store.currency, p.store.timezone) == ("EUR", "Europe/Berlin")
    assert p.shop_currency == "EUR" and p.store.tz == ZoneInfo("Europe/Berlin")
    assert Policy.default().store.currency is None  # the default itself is untouched


def test_a_policy_that_agrees_with_the_shop_is_used_as_it_is():
    stated = parse_policy('[store]\ncurrency = "eur"\ntimezone = "Europe/Berlin"\n')
    assert stated.for_shop(shop("EUR")) == stated


@pytest.mark.parametrize("toml, line", [
    ('[store]\ncurrency = "USD"\n',
     "policy [store] currency is USD but the shop prices in EUR (leave it out to use the shop's)"),
    ('[store]\ntimezone = "UTC"\n',
     "policy [store] timezone is UTC but the shop's time zone is Europe/Berlin (leave it out to use the shop's)"),
])
def test_a_policy_that_disagrees_with_the_shop_is_refused_naming_both(toml, line):
    with pytest.raises(ShopMismatch) as caught:
        parse_policy(toml).for_shop(shop("EUR"))
    assert caught.value.problems == (line,)


def test_both_disagreeing_are_two_lines():
    with pytest.raises(ShopMismatch) as caught:
        parse_policy('[store]\ncurrency = "USD"\ntimezone = "UTC"\n').for_shop(shop("EUR"))
    assert len(str(caught.value).splitlines()) == 2


def test_shop_facts_refuse_what_cannot_be_a_currency_or_a_zone():
    with pytest.raises(ValueError):
        ShopFacts(currency="EU", timezone="UTC")
    with pytest.raises(ValueError):
        ShopFacts(currency="EUR", timezone="Mars/Olympus_Mons")


# --- return windows in the shop's time zone ---------------------------------------------------


def _window_case(delivered_local: datetime, requested_local: datetime) -> CaseContext:
    return return_ctx(requested_at=requested_local, order=order(shipments=(delivered(delivered_local),)))


@pytest.mark.parametrize("zone, delivered_local, requested_local", [
    # New York: delivered 09:00 on 1 June (13:00 UTC); requested 23:00 on 1 July, already
    # 2 July in UTC. 30 calendar days in the shop, 31 in UTC.
    ("America/New_York", datetime(2026, 6, 1, 9, 0), datetime(2026, 7, 1, 23, 0)),
    # Berlin: delivered 00:30 on 1 June, still 31 May in UTC; requested 23:00 on 1 July.
    ("Europe/Berlin", datetime(2026, 6, 1, 0, 30), datetime(2026, 7, 1, 23, 0)),
])
def test_return_windows_count_days_in_the_shops_time_zone(zone, delivered_local, requested_local):
    tz = ZoneInfo(zone)
    ctx = _window_case(delivered_local.replace(tzinfo=tz), requested_local.replace(tzinfo=tz))
    in_the_shop = Policy.default().for_shop(ShopFacts(currency="USD", timezone=zone))
    assert S.OUTSIDE_WINDOW not in {s.code for s in detect(ctx, in_the_shop)}  # day 30 of 30: inside
    in_utc = Policy.default().for_shop(ShopFacts(currency="USD", timezone="UTC"))
    [late] = [s for s in detect(ctx, in_utc) if s.code is S.OUTSIDE_WINDOW]  # UTC would have refused it
    assert late.evidence["days"] == "31"
