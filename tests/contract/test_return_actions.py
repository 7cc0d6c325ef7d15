"""Return actions contract: approve, decline, refund and store credit, each exactly once.

Every action carries an idempotency key. The contract, for each of them:
- it does its effect once (counted in the vendor's own record of what it applied);
- the same key and request again is a replay: nothing changes, the same result comes back;
- the same key for a different request (another target, other arguments) is refused, not
  replayed, and changes nothing;
- a call whose answer was lost after the vendor applied it, retried with its key, does not
  apply it again;
- approving or declining a return that is not REQUESTED is refused as a non-retryable
  `IntegrationError`; unknown targets are `NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import pytest

from policy.models import Money, ReturnStatus
from policy.ports import ActionResult, IntegrationError, NotFound
from tests.contract.checks import is_money
from tests.contract.worlds import DECIDED_STATUSES, Item, Line, Unsupported, require

# Each test that takes `act` runs once per action a world executes (conftest pairs them).
pytestmark = pytest.mark.capability("returns")

KEY = "contract:case-1:action"


def an_order(world, name: str):
    customer = world.add_customer(f"Customer {name}", email=f"c{name.lstrip('#')}@example.com",
                                  created_at=world.now - timedelta(days=400))
    return world.add_order(name=name, customer=customer, created_at=world.now - timedelta(days=20),
                           delivered_at=world.now - timedelta(days=17),
                           lines=[Line("Merino Sweater", "129.50", 1, "SW-M-01"), Line("Wool Socks", "12.25", 3, "SO-02")])


def a_return(world, name: str, status: str = "REQUESTED", items: list[Item] | None = None):
    return world.add_return(an_order(world, name), status=status, requested_at=world.now - timedelta(days=2),
                            items=items if items is not None else [Item(index=0)])  # the sweater: 129.50


def money(world, amount: str) -> Money:
    return Money.of(amount, world.currency)


@dataclass(frozen=True)
class Act:
    """One action, as the suites drive it: what it needs, how it is called, what it does."""

    name: str  # the StoreActions method
    effect: str  # the kind of write the vendor applies, as `world.effects()` counts it
    make: Callable[[Any, str], str]  # (world, label) -> a target in the state the action needs
    call: Callable[[Any, Any, str, str, bool], ActionResult]  # (world, actions, target, key, other_arguments)
    observe: Callable[[Any, str], Any]  # (world, target) -> what the action changes there
    done: Callable[[Any, str, ActionResult, bool], None]  # checks the effect happened (other_arguments?)


def _status(world, rid: str) -> ReturnStatus:
    return world.source.get_return(rid).status


def _refund_state(world, rid: str):
    order = world.source.get_order(world.source.get_return(rid).order_id)
    return (tuple(sorted((r.id, r.amount.amount) for r in order.refunds)), order.refunded)


def _approved(world, rid, result, other):
    assert result.ok and _status(world, rid) is ReturnStatus.APPROVED


def _declined(world, rid, result, other):
    assert result.ok and _status(world, rid) is ReturnStatus.DECLINED


def _refunded(world, rid, result, other):
    amount = "100.00" if other else "129.50"
    assert result.ok and result.external_id
    order = world.source.get_order(world.source.get_return(rid).order_id)
    [refund] = order.refunds
    assert refund.id == result.external_id
    assert is_money(refund.amount, amount, world.currency)
    assert is_money(order.refunded, amount, world.currency)
    assert is_money(world.source.get_refund(result.external_id).amount, amount, world.currency)


def _credited(world, cid, result, other):
    assert result.ok and result.external_id
    assert is_money(world.store_credit_balance(cid), "30.00" if other else "25.00", world.currency)


def _customer(world, label: str) -> str:
    return world.add_customer(f"Credit {label}", email=f"credit-{label}@example.com",
                              created_at=world.now - timedelta(days=90))


ACTS = [
    Act("approve_return", "approve",
        make=lambda w, label: a_return(w, label).id,
        call=lambda w, a, rid, key, other: a.approve_return(rid, notify_customer=not other, idempotency_key=key),
        observe=_status, done=_approved),
    Act("decline_return", "decline",
        make=lambda w, label: a_return(w, label).id,
        call=lambda w, a, rid, key, other: a.decline_return(
            rid, reason="OTHER" if other else "FINAL_SALE", note="Worn, tags removed" if other else None,
            notify_customer=True, idempotency_key=key),
        observe=_status, done=_declined),
    Act("refund_return", "refund",
        make=lambda w, label: a_return(w, label, status="OPEN").id,
        call=lambda w, a, rid, key, other: a.refund_return(
            rid, amount=money(w, "100.00" if other else "129.50"), notify_customer=True, idempotency_key=key),
        observe=_refund_state, done=_refunded),
    Act("issue_store_credit", "store_credit",
        make=_customer,
        call=lambda w, a, cid, key, other: a.issue_store_credit(cid, amount=money(w, "30.00" if other else "25.00"),
                                                                idempotency_key=key),
        observe=lambda w, cid: w.store_credit_balance(cid), done=_credited),
]


def only(effect: str) -> dict[str, int]:
    """What the vendor's record shows after one effect, however many calls it received."""
    return {effect: 1}


def test_an_action_does_its_effect_once(world, act):
    target = act.make(world, "#1001")
    bystander = act.make(world, "#1002")
    untouched = act.observe(world, bystander)

    result = act.call(world, world.actions, target, KEY, False)

    act.done(world, target, result, False)
    assert world.effects() == only(act.effect)
    assert act.observe(world, bystander) == untouched


def test_the_same_key_again_is_a_replay_that_changes_nothing(world, act):
    target = act.make(world, "#1001")
    first = act.call(world, world.actions, target, KEY, False)
    after_first = act.observe(world, target)

    again = act.call(world, world.actions, target, KEY, False)
    third = act.call(world, world.actions, target, KEY, False)

    assert (again.ok, again.external_id) == (third.ok, third.external_id) == (first.ok, first.external_id)
    assert act.observe(world, target) == after_first
    assert world.effects() == only(act.effect)  # three calls received, one effect applied
    act.done(world, target, again, False)


def test_a_replay_returns_the_same_result(world, act):
    require(world, "actions.replay_same_result")
    target = act.make(world, "#1001")
    first = act.call(world, world.actions, target, KEY, False)
    assert act.call(world, world.actions, target, KEY, False) == first


@pytest.mark.parametrize("variant", ["other_target", "other_arguments"])
def test_the_same_key_for_a_different_request_is_refused(world, act, variant):
    require(world, f"actions.key_reuse.{act.name}.{variant}")
    target = act.make(world, "#1001")
    other = act.make(world, "#1002")
    first = act.call(world, world.actions, target, KEY, False)
    before = (act.observe(world, target), act.observe(world, other))

    with pytest.raises(IntegrationError) as refused:
        if variant == "other_target":
            act.call(world, world.actions, other, KEY, False)
        else:
            act.call(world, world.actions, target, KEY, True)

    assert refused.value.retryable is False
    assert (act.observe(world, target), act.observe(world, other)) == before
    assert world.effects() == only(act.effect)
    # The key still names the first request: replaying that one is fine.
    assert act.call(world, world.actions, target, KEY, False).external_id == first.external_id


def test_a_call_whose_answer_was_lost_is_not_applied_twice_on_retry(world, act):
    target = act.make(world, "#1001")
    try:
        world.lose_next_answer(act.name)
    except Unsupported as why:
        pytest.skip(f"{world.name}: {why}")
    with pytest.raises(IntegrationError) as lost:
        act.call(world, world.actions, target, KEY, False)
    assert lost.value.retryable is True  # the caller must try again…
    assert world.effects() == only(act.effect)  # …although the vendor did it

    result = act.call(world, world.actions, target, KEY, False)

    act.done(world, target, result, False)
    assert world.effects() == only(act.effect)


def test_an_action_without_an_idempotency_key_is_refused(world, act):
    require(world, f"actions.key_required.{act.name}")
    target = act.make(world, "#1001")
    before = act.observe(world, target)
    with pytest.raises((ValueError, IntegrationError)):
        act.call(world, world.actions, target, "", False)
    assert act.observe(world, target) == before
    assert world.effects() == {}


def test_an_unknown_target_is_not_found(world, act):
    act.make(world, "#1001")
    kind = "customer" if act.name == "issue_store_credit" else "return"
    with pytest.raises(NotFound):
        act.call(world, world.actions, world.unknown_id(kind), KEY, False)
    assert world.effects() == {}


def refused_when_not_requested(world, verb: str, status: str, call) -> None:
    require(world, f"actions.{verb}_not_requested.{status}")
    rid = a_return(world, "#1001", status=status).id
    with pytest.raises(IntegrationError) as refused:
        call(rid)
    assert refused.value.retryable is False
    assert _status(world, rid) is ReturnStatus(status)
    assert world.effects() == {}


@pytest.mark.operations("approve_return")
@pytest.mark.parametrize("status", DECIDED_STATUSES)
def test_approving_a_return_that_is_not_requested_is_refused(world, status):
    refused_when_not_requested(world, "approve", status, lambda rid: world.actions.approve_return(
        rid, notify_customer=True, idempotency_key=KEY))


@pytest.mark.operations("decline_return")
@pytest.mark.parametrize("status", DECIDED_STATUSES)
def test_declining_a_return_that_is_not_requested_is_refused(world, status):
    refused_when_not_requested(world, "decline", status, lambda rid: world.actions.decline_return(
        rid, reason="FINAL_SALE", note=None, notify_customer=True, idempotency_key=KEY))


@pytest.mark.operations("approve_return", "refund_return")
def test_a_return_is_refunded_only_once_it_is_approved(world):
    ret = a_return(world, "#1001")
    with pytest.raises(IntegrationError):
        world.actions.refund_return(ret.id, amount=money(world, "129.50"), notify_customer=True, idempotency_key=KEY)
    assert world.effects() == {}
    assert world.source.get_order(ret.order.id).refunds == ()

    world.actions.approve_return(ret.id, notify_customer=True, idempotency_key="contract:approve")
    result = world.actions.refund_return(ret.id, amount=money(world, "129.50"), notify_customer=True,
                                         idempotency_key="contract:refund")
    _refunded(world, ret.id, result, False)
    assert world.effects() == {"approve": 1, "refund": 1}


@pytest.mark.operations("refund_return")
def test_a_refund_worth_more_than_the_return_is_refused(world):
    require(world, "actions.refund_over_return")
    ret = a_return(world, "#1001", status="OPEN", items=[Item(index=1, quantity=1)])  # one pair of socks: 12.25
    with pytest.raises(IntegrationError) as refused:
        world.actions.refund_return(ret.id, amount=money(world, "50.00"), notify_customer=True, idempotency_key=KEY)
    assert refused.value.retryable is False
    assert world.effects() == {}
    assert world.source.get_order(ret.order.id).refunds == ()


@pytest.mark.operations("refund_return")
def test_a_refund_in_another_currency_than_the_order_is_refused(world):
    ret = a_return(world, "#1001", status="OPEN")
    other = "JPY" if world.currency != "JPY" else "USD"
    with pytest.raises(IntegrationError) as refused:
        world.actions.refund_return(ret.id, amount=Money.of("130", other), notify_customer=True, idempotency_key=KEY)
    assert refused.value.retryable is False
    assert world.effects() == {}
    assert world.source.get_order(ret.order.id).refunds == ()
