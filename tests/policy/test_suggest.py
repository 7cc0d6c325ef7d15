"""Overrides → candidate policy edits with their evidence; every key suggested exists, and
applying it makes the policy recommend what the people decided."""

from __future__ import annotations

from datetime import timedelta

from policy.assess import assess
from policy.config import parse_policy
from policy.edit import with_values
from policy.models import Action
from policy.simulate import PastCase
from policy.suggest import Overrides
from tests.policy.factories import NOW, TEST_SHOP, customer, history, line_item, order, policy, return_ctx, return_item

PERIOD = "in the last 90d"


def _fed(cases: list[PastCase], p=None):
    p = p or policy()
    o = Overrides(p)
    for case in cases:
        a = assess(case.context, p)
        assert a.recommendation.action is not case.decided, "only overrides are fed"
        o.add(case, a)
    return o.suggestions(PERIOD)


def _applied(s, case: PastCase) -> Action:
    edited = parse_policy(with_values("", {s.dotted: s.value})).for_shop(TEST_SHOP)
    return assess(case.context, edited).recommendation.action


def test_late_returns_granted_suggest_windows_that_cover_them():
    cases = [PastCase(i, f"#{i}", return_ctx(return_item(reason="DEFECTIVE"),
                                             requested_at=NOW + timedelta(days=days)), decided=Action.REFUND)
             for i, days in enumerate((25, 30, 35, 50), start=1)]  # 35, 40, 45, 60 days after delivery
    found = [s for s in _fed(cases) if s.dotted == "returns.window_days"]
    assert [s.value for s in found] == ["40", "45", "60"]
    assert found[0].evidence == ("People granted 4 times in the last 90d a return the policy denied as outside "
                                 "the 30-day window (asked 35–60 days after delivery or shipment).")
    assert all(_applied(found[-1], c) is Action.REFUND for c in cases)


def test_store_credit_for_non_vips_suggests_a_lower_vip_threshold():
    cases = [PastCase(i, f"#{i}", return_ctx(return_item(reason="DEFECTIVE"), requested_at=NOW + timedelta(days=30),
                                             customer=customer(spend=spend)), decided=Action.STORE_CREDIT)
             for i, spend in enumerate(("1200.50", "1500.00"), start=1)]
    vip = [s for s in _fed(cases) if s.dotted == "vip.lifetime_spend"]
    assert [s.value for s in vip] == ["1500", "1200"]
    assert "lifetime spend $1,200.50–$1,500.00; the VIP threshold is $2,000.00" in vip[0].evidence
    assert all(_applied(vip[1], c) is Action.STORE_CREDIT for c in cases)


def test_refunds_for_serial_returners_suggest_a_higher_count():
    case = PastCase(1, "#1", return_ctx(return_item(reason="DEFECTIVE"), history=history(returns=5, orders=20)),
                    decided=Action.REFUND)
    (s,) = _fed([case])
    assert (s.dotted, s.value) == ("risk.serial_returner.min_returns", "6")
    assert _applied(s, case) is Action.REFUND


def test_exchanges_chosen_over_refunds_add_the_reason():
    case = PastCase(1, "#1", return_ctx(return_item(reason="DEFECTIVE")), decided=Action.EXCHANGE)
    (s,) = _fed([case])
    assert s.dotted == "returns.exchange_reasons"
    assert s.value == '["SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "COLOR", "STYLE", "DEFECTIVE"]'
    assert _applied(s, case) is Action.EXCHANGE


def test_granted_final_sale_returns_suggest_dropping_the_tag():
    items = (line_item(tags=("clearance",)), line_item("li-2", "Wool Socks", "100.00"))
    case = PastCase(1, "#1", return_ctx(return_item(reason="DEFECTIVE"), order=order(items=items)),
                    decided=Action.REFUND)
    (s,) = _fed([case])
    assert (s.dotted, s.value) == ("returns.final_sale_tags", '["final-sale"]')
    assert _applied(s, case) is Action.REFUND


def test_nothing_to_suggest_without_a_pattern():
    case = PastCase(1, "#1", return_ctx(return_item(reason="DEFECTIVE")), decided=Action.DENY)
    assert _fed([case]) == []
