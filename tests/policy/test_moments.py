"""`[[moments]]`: the rules as the policy file states them (a typo is the usual clear error)
and which rules a context triggers (policy/moments.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from policy.config import PolicyError, parse_policy
from policy.models import CaseContext, CaseKind, Customer, LineItem, Money, Order, ReturnRequest
from policy.moments import Trigger, moments_for

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)

RULES = """
[store]
currency = "USD"
timezone = "UTC"

[[moments]]
name = "big-order"
trigger = "order_over"
amount = 1000
owner = "C0VIPS0001"
order_tags = ["big-order"]

[[moments]]
name = "big-first"
trigger = "first_order_over"
amount = "500"
owner = "U0OWNER001"
customer_tags = ["vip-prospect"]
[moments.followup]
text = "Say thank you"
due_in_days = 2

[[moments]]
name = "new-vip"
trigger = "became_vip"
lifetime_spend = 2000
orders_count = 5
owner = "C0VIPS0001"
customer_tags = ["VIP"]

[[moments]]
name = "vip-late"
trigger = "vip_order_delayed"
owner = "C0VIPS0001"

[[moments]]
name = "vip-return"
trigger = "vip_order_returned"
owner = "C0VIPS0001"
"""


def policy(text: str = RULES):
    return parse_policy(text)


def usd(v: str) -> Money:
    return Money.of(v, "USD")


def ctx(total: str = "740.00", *, orders: int = 1, spend: str | None = None, tags=(), kind=CaseKind.ORDER_REVIEW,
        currency: str = "USD", guest: bool = False, returned: str | None = None) -> CaseContext:
    money = Money.of(total, currency)
    order = Order(id="gid://shopify/Order/1", name="#1001", created_at=NOW, currency=currency, total=money,
                  received=money, refunded=Money.zero(currency), customer_id=None if guest else "gid://shopify/Customer/7",
                  line_items=(LineItem(id="li1", title="Parka", quantity=1, unit_price=money),))
    customer = None if guest else Customer(id="gid://shopify/Customer/7", display_name="Grace Hopper", tags=tuple(tags),
                                           orders_count=orders, lifetime_spend=Money.of(spend or total, currency))
    rr = None
    if returned is not None:
        rr = ReturnRequest.model_validate({
            "id": "gid://shopify/Return/1", "order_id": order.id, "status": "REQUESTED", "requested_at": NOW,
            "line_items": [{"id": "rli1", "line_item_id": "li1", "title": "Parka", "quantity": 1,
                            "unit_price": {"amount": returned, "currency": currency}, "reason": "UNWANTED"}]})
    return CaseContext(kind=kind, now=NOW, order=order, customer=customer, return_request=rr)


def names(c: CaseContext, p=None) -> list[str]:
    return [h.rule.name for h in moments_for(c, p or policy())]


def test_the_rules_read_from_the_file():
    rules = policy().moments
    assert [r.trigger for r in rules] == list(Trigger)
    big_first = rules[1]
    assert big_first.amount == Decimal("500") and big_first.followup.due_in == timedelta(days=2)
    assert big_first.task_owner == "U0OWNER001"  # the owner is a person: the task is theirs
    assert rules[0].task_owner is None


def test_a_first_order_over_the_amount():
    assert names(ctx("740.00", orders=1)) == ["big-first"]
    assert names(ctx("740.00", orders=2, spend="900.00")) == []  # not their first
    assert names(ctx("499.99", orders=1)) == []
    assert names(ctx("500.00", orders=1)) == ["big-first"]  # inclusive


def test_an_order_over_the_amount_guests_included():
    assert names(ctx("1200.00", orders=3, spend="1500.00")) == ["big-order"]
    assert names(ctx("1200.00", guest=True)) == ["big-order"]


def test_crossing_the_lifetime_spend_or_orders_count_mark():
    crossed = moments_for(ctx("300.00", orders=3, spend="2100.00"), policy())
    assert [h.rule.name for h in crossed] == ["new-vip"]
    assert "lifetime spend reached $2,100.00 (mark $2,000.00)" in crossed[0].why
    assert names(ctx("300.00", orders=3, spend="2400.00")) == []  # already past it before this order
    assert names(ctx("100.00", orders=5, spend="600.00")) == ["new-vip"]  # the fifth order
    assert names(ctx("100.00", orders=6, spend="700.00")) == []


def test_money_in_another_currency_never_fires_an_amount_rule():
    assert names(ctx("5000.00", orders=1, currency="EUR")) == []


def test_a_vips_delayed_order_and_return():
    vip = dict(orders=4, spend="300.00", tags=("vip",))  # [vip] customer_tags match without case
    assert names(ctx(kind=CaseKind.DELAYED_SHIPMENT, **vip)) == ["vip-late"]
    assert names(ctx(kind=CaseKind.DELAYED_SHIPMENT, orders=4, spend="300.00")) == []
    returned = moments_for(ctx(kind=CaseKind.RETURN_REQUEST, returned="120.00", **vip), policy())
    assert [h.rule.name for h in returned] == ["vip-return"] and "$120.00" in returned[0].why
    by_spend = ctx(kind=CaseKind.RETURN_REQUEST, returned="50.00", orders=9, spend="2500.00")
    assert names(by_spend) == ["vip-return"]  # [vip] lifetime_spend 2000


def test_no_rules_no_moments():
    assert moments_for(ctx("9999.00"), parse_policy('[store]\ncurrency = "USD"\ntimezone = "UTC"\n')) == ()


@pytest.mark.parametrize("change, message", [
    (('trigger = "first_order_over"', 'trigger = "first_order"'),
     "moments[1].trigger: expected one of 'order_over', 'first_order_over'"),
    (('amount = "500"', ''), "moments[1].amount: trigger first_order_over needs an amount"),
    (('customer_tags = ["vip-prospect"]', 'customr_tags = ["vip-prospect"]'),
     "unknown key 'customr_tags' in moments[1] (did you mean 'customer_tags'?)"),
    (('due_in_days = 2', ''), "moments[1].followup.due_in_hours: give exactly one of due_in_hours or due_in_days"),
    (('owner = "U0OWNER001"', 'owner = "#vips"'), "moments[1].owner: expected a Slack channel id (C…/G…) or user id"),
    (('name = "vip-late"', 'name = "big-order"'), "moments[3].name: name big-order is used by an earlier moment"),
    (('orders_count = 5', ''), None),  # lifetime_spend alone is enough
    (('lifetime_spend = 2000\norders_count = 5', ''), "moments[2].lifetime_spend: trigger became_vip needs"),
])
def test_a_mistake_is_the_clear_policy_error(change, message):
    text = RULES.replace(*change, 1)
    if message is None:
        assert parse_policy(text).moments
        return
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert message in str(err.value), str(err.value)
    assert str(err.value).startswith("policy.toml:")
