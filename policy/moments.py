"""Moments: a high-value order or a VIP event that an owner should hear about, with the
tags it earns and a follow-up task that someone has to do (`[[moments]]` in the policy).

Pure: the rules are read from the policy file here, and `moments_for(ctx, policy)` says
which rules a case context triggers. Recording, tagging, the alert and the follow-up's
reminders are bot/services/moments.py.

Triggers (what `trigger =` names):

| trigger              | fires when                                                        | context           |
|----------------------|-------------------------------------------------------------------|-------------------|
| `order_over`         | a new order's total is at least `amount`                           | new order         |
| `first_order_over`   | the customer's first order (orders count 1) is at least `amount`   | new order         |
| `became_vip`         | this order carries the customer's lifetime spend to `lifetime_spend` or their orders count to `orders_count` (it was below before) | new order |
| `vip_order_delayed`  | a VIP's shipment is delayed (a delayed-shipment case opens)        | delayed shipment  |
| `vip_order_returned` | a VIP asks for a return (a return case opens)                      | return request    |

A VIP is who `[vip]` says (a VIP tag, or lifetime spend at least `[vip] lifetime_spend`).
Amounts are in the shop's currency; an order in another currency never fires an amount
rule (it is never converted). A guest order (no customer) fires only `order_over`, and
only order tags are added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from policy.fields import Amount, OwnerId, Section, StoreTag, UserId
from policy.models import CaseContext, CaseKind, Customer, Money

if TYPE_CHECKING:
    from policy.config import Policy


class Trigger(StrEnum):
    ORDER_OVER = "order_over"
    FIRST_ORDER_OVER = "first_order_over"
    BECAME_VIP = "became_vip"
    VIP_ORDER_DELAYED = "vip_order_delayed"
    VIP_ORDER_RETURNED = "vip_order_returned"


# Which case kind's context each trigger is judged on.
_KIND_OF: dict[Trigger, CaseKind] = {
    Trigger.ORDER_OVER: CaseKind.ORDER_REVIEW,
    Trigger.FIRST_ORDER_OVER: CaseKind.ORDER_REVIEW,
    Trigger.BECAME_VIP: CaseKind.ORDER_REVIEW,
    Trigger.VIP_ORDER_DELAYED: CaseKind.DELAYED_SHIPMENT,
    Trigger.VIP_ORDER_RETURNED: CaseKind.RETURN_REQUEST,
}
_NEEDS_AMOUNT = (Trigger.ORDER_OVER, Trigger.FIRST_ORDER_OVER)


_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("expected a short name of lower-case letters, digits, '-' or '_' such as \"big-first-order\"")
    return value


Name = Annotated[str, AfterValidator(_name)]
Owner = OwnerId
Person = UserId
Tag = StoreTag


class FollowUpRule(Section):
    """The task a moment creates: what to do, who does it (default: the moment's owner when
    that is a person; a channel owner leaves it to whoever takes it), and when it is due."""

    text: Annotated[str, Field(min_length=1, max_length=300)]
    owner: Person | None = None
    due_in_hours: Annotated[StrictInt, Field(ge=1, le=24 * 90)] | None = None
    due_in_days: Annotated[StrictInt, Field(ge=1, le=90)] | None = None
    # When due: a reminder in the alert's thread; still open this many hours later, the
    # owner by DM too (0: both at once).
    dm_after_hours: Annotated[StrictInt, Field(ge=0, le=24 * 7)] = 4

    @model_validator(mode="after")
    def _one_due(self) -> FollowUpRule:
        if (self.due_in_hours is None) == (self.due_in_days is None):
            raise PydanticCustomError("moment_rule", "give exactly one of due_in_hours or due_in_days",
                                      {"at": ("due_in_hours",)})
        return self

    @property
    def due_in(self) -> timedelta:
        return timedelta(hours=self.due_in_hours) if self.due_in_hours else timedelta(days=self.due_in_days or 0)


class MomentRule(Section):
    name: Name
    trigger: Trigger
    amount: Amount | None = None  # order_over, first_order_over: the order total, inclusive
    lifetime_spend: Amount | None = None  # became_vip: the lifetime-spend mark
    orders_count: Annotated[StrictInt, Field(ge=1)] | None = None  # became_vip: the orders-count mark
    owner: Owner  # who hears: the alert goes to this channel, or to this person by DM
    customer_tags: tuple[Tag, ...] = ()
    order_tags: tuple[Tag, ...] = ()
    followup: None | FollowUpRule = None  # (None first: the policy tests read X | None as a list of tables)

    @model_validator(mode="after")
    def _trigger_needs(self) -> MomentRule:
        if self.trigger in _NEEDS_AMOUNT and self.amount is None:
            raise PydanticCustomError("moment_rule", "trigger {trigger} needs an amount",
                                      {"trigger": self.trigger.value, "at": ("amount",)})
        if self.trigger is Trigger.BECAME_VIP and self.lifetime_spend is None and self.orders_count is None:
            raise PydanticCustomError("moment_rule", "trigger became_vip needs lifetime_spend or orders_count",
                                      {"at": ("lifetime_spend",)})
        return self

    @property
    def kind(self) -> CaseKind:
        return _KIND_OF[self.trigger]

    @property
    def owner_is_person(self) -> bool:
        return self.owner[:1] in ("U", "W")  # a user id, not a channel (policy.fields.OwnerId)

    @property
    def task_owner(self) -> str | None:
        if self.followup is None:
            return None
        return self.followup.owner or (self.owner if self.owner_is_person else None)


def _unique_names(rules: tuple[MomentRule, ...]) -> tuple[MomentRule, ...]:
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise PydanticCustomError("moment_rule", "name {name} is used by an earlier moment",
                                      {"name": rule.name, "at": (i, "name")})
        seen.add(rule.name)
    return rules


Moments = Annotated[tuple[MomentRule, ...], AfterValidator(_unique_names)]


# --- which rules a context triggers -----------------------------------------------------


@dataclass(frozen=True)
class MomentHit:
    rule: MomentRule
    why: str  # one line for the card: "First order, $740.00 (at least $500.00)"
    amount: Money  # the order's total: the revenue this moment touches


def is_vip(customer: Customer | None, policy: Policy) -> bool:
    """`[vip]`: a VIP tag, or lifetime spend (shop money) at least the mark."""
    if customer is None:
        return False
    if any(t.casefold() in policy.vip.tags_folded for t in customer.tags):
        return True
    spend = customer.lifetime_spend
    return spend.currency == policy.shop_currency and spend.amount >= policy.vip.lifetime_spend


def moments_for(ctx: CaseContext, policy: Policy) -> tuple[MomentHit, ...]:
    """The rules of `policy.moments` this context triggers, in the file's order."""
    hits = []
    for rule in policy.moments:
        if rule.kind is not ctx.kind:
            continue
        why = _CHECKS[rule.trigger](ctx, rule, policy)
        if why is not None:
            hits.append(MomentHit(rule=rule, why=why, amount=ctx.order.total))
    return tuple(hits)


def _shop(ctx: CaseContext, policy: Policy, value: Decimal) -> Money | None:
    """The mark as shop money, or None when the order is in another currency."""
    mark = Money.of(value, policy.shop_currency)
    return mark if ctx.order.total.currency == mark.currency else None


def _order_over(ctx: CaseContext, rule: MomentRule, policy: Policy) -> str | None:
    mark = _shop(ctx, policy, rule.amount or Decimal(0))
    if mark is None or ctx.order.total < mark:
        return None
    return f"Order {ctx.order.name} for {ctx.order.total} (at least {mark})"


def _first_order_over(ctx: CaseContext, rule: MomentRule, policy: Policy) -> str | None:
    customer = ctx.customer
    if customer is None or customer.orders_count != 1:
        return None
    mark = _shop(ctx, policy, rule.amount or Decimal(0))
    if mark is None or ctx.order.total < mark:
        return None
    return f"First order, {ctx.order.total} (at least {mark})"


def _became_vip(ctx: CaseContext, rule: MomentRule, policy: Policy) -> str | None:
    customer = ctx.customer
    if customer is None:
        return None
    reasons = []
    if rule.lifetime_spend is not None:
        spend, total = customer.lifetime_spend, ctx.order.total
        mark = Money.of(rule.lifetime_spend, policy.shop_currency)
        if spend.currency == mark.currency == total.currency and spend >= mark and spend - total < mark:
            reasons.append(f"lifetime spend reached {spend} (mark {mark})")
    if rule.orders_count is not None and customer.orders_count == rule.orders_count:
        reasons.append(f"order number {customer.orders_count} (mark {rule.orders_count})")
    return "Became a VIP: " + "; ".join(reasons) if reasons else None


def _vip_delayed(ctx: CaseContext, rule: MomentRule, policy: Policy) -> str | None:
    if not is_vip(ctx.customer, policy):
        return None
    return f"A VIP's order {ctx.order.name} is delayed"


def _vip_returned(ctx: CaseContext, rule: MomentRule, policy: Policy) -> str | None:
    if not is_vip(ctx.customer, policy):
        return None
    amount = ctx.return_request.amount if ctx.return_request is not None else ctx.order.total
    return f"A VIP asks to return {amount} from order {ctx.order.name}"


_CHECKS = {
    Trigger.ORDER_OVER: _order_over,
    Trigger.FIRST_ORDER_OVER: _first_order_over,
    Trigger.BECAME_VIP: _became_vip,
    Trigger.VIP_ORDER_DELAYED: _vip_delayed,
    Trigger.VIP_ORDER_RETURNED: _vip_returned,
}
