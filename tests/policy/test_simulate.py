"""The pure simulator: changes from → to with money, auto-approval and tiers per policy,
agreement with people's decisions, the biggest disagreements, and merging partial runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from policy.models import Action, CaseKind
from policy.simulate import PastCase, agrees, simulate, simulate_many, to_json
from tests.policy.factories import NOW, ctx_of, policy, return_ctx, return_item

LATE = NOW + timedelta(days=30)  # 40 days after delivery


def late(case_id: int, price: str, decided: Action | None = None, reason: str = "DEFECTIVE") -> PastCase:
    ctx = return_ctx(return_item(price=price, reason=reason), requested_at=LATE)
    return PastCase(case_id=case_id, label=f"#{case_id}", context=ctx, decided=decided, decided_by="U1" if decided else None)


def clean(case_id: int, price: str, decided: Action | None = None) -> PastCase:
    ctx = return_ctx(return_item(price=price, reason="DEFECTIVE"))
    return PastCase(case_id=case_id, label=f"#{case_id}", context=ctx, decided=decided, decided_by="U1" if decided else None)


def test_a_longer_window_turns_late_denies_into_refunds_with_their_money():
    cases = [late(1, "40.00", Action.REFUND), late(2, "60.00", Action.DENY), clean(3, "20.00", Action.REFUND)]
    sim = simulate(cases, policy(), policy("[returns]\nwindow_days = 45"))
    assert sim.cases == 3 and sim.changed == 2
    (change,) = sim.changes.values()
    assert (change.before, change.after, change.count) == (Action.DENY, Action.REFUND, 2)
    assert change.money.in_("USD").amount == Decimal("100.00")
    assert [e.case_id for e in change.examples] == [1, 2]
    assert change.matches_people == 1 and change.matched_people == 1  # #1 refunded, #2 denied by people
    # money per recommendation, per policy
    assert sim.current.money[Action.DENY].in_("USD").amount == Decimal("100.00")
    assert Action.DENY not in sim.proposed.money
    assert sim.proposed.money[Action.REFUND].in_("USD").amount == Decimal("120.00")
    # agreement: #3 agrees under both; #1 only under the new policy; #2 only under the old
    assert sim.decided == 3 and sim.current.agrees == 2 and sim.proposed.agrees == 2
    (worst,) = sim.disagreements
    assert (worst.case_id, worst.decided, worst.current, worst.proposed) == (2, Action.DENY, Action.DENY, Action.REFUND)


def test_auto_approval_and_tiers_are_counted_per_policy():
    cases = [clean(1, "60.00"), clean(2, "90.00"), clean(3, "300.00")]
    proposed = policy("[auto_approve]\nmax_amount = 100\n\n[[approval_tiers]]\nup_to = 50\napprovers = []\n\n"
                      "[[approval_tiers]]\nup_to = 250\napprovers = []\n\n[[approval_tiers]]\napprovers = []\n")
    sim = simulate(cases, policy(), proposed)
    assert sim.current.auto_approved == 1 and sim.proposed.auto_approved == 2  # $90 is now under the limit
    assert sim.became_auto == 1 and sim.stopped_auto == 0
    # default tiers 250/1000: $60, $90 tier 1, $300 tier 2; proposed 50/250: tier 2, 2, 3
    assert sim.higher_tier == 3 and sim.lower_tier == 0
    assert dict(sim.current.tiers) == {0: 2, 1: 1} and dict(sim.proposed.tiers) == {1: 2, 2: 1}
    assert sim.changed == 0  # the recommendation (refund) is the same


def test_escalate_agrees_only_when_the_case_went_up_a_tier():
    ctx = return_ctx()
    person = PastCase(1, "#1", ctx, decided=Action.REFUND)
    assert agrees(person, Action.ESCALATE) is False
    assert agrees(PastCase(1, "#1", ctx, decided=Action.REFUND, escalated=True), Action.ESCALATE) is True
    assert agrees(person, Action.REFUND) is True and agrees(person, Action.DENY) is False
    assert agrees(PastCase(1, "#1", ctx), Action.REFUND) is None  # nobody decided
    ticket = PastCase(2, "#2", ctx_of(CaseKind.TICKET), decided=Action.ACCEPT)
    assert agrees(ticket, Action.REFUND) is True  # the drafted reply sent is what was recommended


def test_the_biggest_disagreements_are_listed_first_and_capped():
    cases = [late(i, f"{10 * i}.00", Action.DENY) for i in range(1, 9)]
    sim = simulate(cases, policy(), policy("[returns]\nwindow_days = 45"), disagreements=3)
    assert [d.case_id for d in sim.disagreements] == [8, 7, 6]


def test_merging_partial_runs_gives_the_single_run():
    cases = [late(i, f"{i}.00", Action.REFUND if i % 2 else Action.DENY) for i in range(1, 11)] + \
            [clean(i, f"{i}.00", Action.REFUND) for i in range(11, 16)]
    current, proposed = policy(), policy("[returns]\nwindow_days = 45")
    whole = simulate(cases, current, proposed)
    first, second = simulate(cases[:6], current, proposed), simulate(cases[6:], current, proposed)
    first.merge(second)
    assert to_json(first) == to_json(whole)


def test_several_proposals_in_one_pass_and_the_focus_cases():
    cases = [late(1, "40.00", Action.REFUND), late(2, "60.00", Action.DENY), clean(3, "20.00", Action.REFUND)]
    a, b = simulate_many(cases, policy(), [policy("[returns]\nwindow_days = 45"), policy()],
                         focus=[frozenset({1}), frozenset({1})])
    assert a.changed == 2 and b.changed == 0
    assert (a.focus_cases, a.focus_agrees) == (1, 1) and (b.focus_cases, b.focus_agrees) == (1, 0)


def test_policies_for_different_currencies_are_refused():
    from policy.models import ShopFacts

    eur = policy(shop=ShopFacts(currency="EUR", timezone="UTC"))
    with pytest.raises(ValueError, match="different currencies"):
        simulate([], policy(), eur)


def test_json_has_decimal_strings_not_floats():
    sim = simulate([late(1, "40.10", Action.REFUND)], policy(), policy("[returns]\nwindow_days = 45"))
    data = to_json(sim)
    assert data["changes"][0]["money"] == {"USD": "40.10"}
    assert data["proposed"]["agreement_pct"] == 100.0 and data["current"]["agreement_pct"] == 0.0
