"""Release-exchange contract (issue 9): approving an exchange releases its items, once.

- releasing an approved return's exchange in stock releases every unit;
- releasing it again (same key, or a new one after a restart) is a success that releases nothing more;
- an exchange item out of stock raises `ExchangeOutOfStock` naming it, permanently, with nothing
  released (not even the items in stock);
- untracked stock never runs out; units of one variant across lines must all be in stock;
- a return not yet approved is refused retryably (approval comes first); one with no exchange
  items (the customer chose none in the store) releases nothing and says so;
- the outbox operation (`store_actions`) calls it.

Remove-exchange: the exchange lines not released come off the return (once; again is a
repeat), so nothing is left to release — not even by a refund processing the return later.
"""

from __future__ import annotations

import pytest

from policy.ports import ExchangeOutOfStock, IntegrationError, Operation, store_actions
from tests.contract.test_return_actions import a_return, money

pytestmark = pytest.mark.capability("returns")


def an_exchange(world, name: str, *stocks: int | None, quantity: int = 1, approve: bool = True):
    ret = a_return(world, name)
    lines = [world.add_exchange(ret, title=f"Sweater {i}", stock=s, quantity=quantity) for i, s in enumerate(stocks)]
    if approve:
        world.actions.approve_return(ret.id, notify_customer=False, idempotency_key=f"contract:approve:{name}")
    return ret.id, lines


def test_an_exchange_in_stock_is_released(world):
    rid, _ = an_exchange(world, "#X101", 3, 1)
    result = world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:1")
    assert result.ok
    assert world.exchange_released(rid) == 2


def test_releasing_again_releases_nothing_more(world):
    rid, _ = an_exchange(world, "#X102", 5, quantity=2)
    first = world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:2")
    again = world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:2")
    other_key = world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:2b")
    assert first.ok and again.ok and other_key.ok
    assert world.exchange_released(rid) == 2


def test_an_item_out_of_stock_is_a_typed_refusal_and_nothing_is_released(world):
    rid, lines = an_exchange(world, "#X103", 4, 0)
    with pytest.raises(ExchangeOutOfStock) as err:
        world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:3")
    assert not err.value.retryable
    assert len(err.value.items) == 1 and err.value.items[0].title.startswith("Sweater 1")
    assert err.value.items[0].id == lines[1] and err.value.items[0].in_stock is False
    assert world.exchange_released(rid) == 0


def test_one_variant_must_cover_every_unit_wanted(world):
    rid, _ = an_exchange(world, "#X104", 1, quantity=2)
    with pytest.raises(ExchangeOutOfStock):
        world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:4")
    assert world.exchange_released(rid) == 0


def test_untracked_stock_never_runs_out(world):
    rid, _ = an_exchange(world, "#X105", None, quantity=3)
    assert world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:5").ok
    assert world.exchange_released(rid) == 3


def test_a_requested_return_waits_for_its_approval(world):
    rid, _ = an_exchange(world, "#X106", 2, approve=False)
    with pytest.raises(IntegrationError) as err:
        world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:6")
    assert err.value.retryable and not isinstance(err.value, ExchangeOutOfStock)
    assert world.exchange_released(rid) == 0


def test_a_return_without_exchange_items_releases_nothing_and_says_so(world):
    ret = a_return(world, "#X107")
    world.actions.approve_return(ret.id, notify_customer=False, idempotency_key="contract:approve:#X107")
    result = world.actions.release_exchange(ret.id, notify_customer=False, idempotency_key="contract:release:7")
    assert result.ok and "no exchange items" in result.summary
    assert world.exchange_released(ret.id) == 0


def test_the_outbox_operation_calls_release_exchange(world):
    rid, _ = an_exchange(world, "#X108", 2)
    run = store_actions(world.actions)[Operation.RELEASE_EXCHANGE]
    assert run({"return_id": rid, "notify_customer": True}, "contract:release:8").ok
    assert world.exchange_released(rid) == 1


# --- an exchange that won't ship: its items come off the return ------------------------------------


def test_removing_an_exchange_out_of_stock_leaves_nothing_to_release(world):
    rid, _ = an_exchange(world, "#X109", 0)
    with pytest.raises(ExchangeOutOfStock):
        world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:9")
    assert world.actions.remove_exchange(rid, idempotency_key="contract:remove:9").ok
    again = world.actions.remove_exchange(rid, idempotency_key="contract:remove:9b")  # a repeat, any key
    assert again.ok
    world.set_stock_of_exchanges(rid, 10)  # restocked since: still nothing to release
    assert world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:9c").ok
    assert world.exchange_released(rid) == 0


def test_a_refund_after_the_exchange_was_removed_releases_nothing(world):
    rid, _ = an_exchange(world, "#X110", 0)
    world.actions.remove_exchange(rid, idempotency_key="contract:remove:10")
    refund = world.actions.refund_return(rid, amount=money(world, "129.50"), notify_customer=False,
                                         idempotency_key="contract:refund:10")
    assert refund.ok
    assert world.exchange_released(rid) == 0


def test_the_outbox_operation_calls_remove_exchange(world):
    rid, _ = an_exchange(world, "#X111", 0)
    run = store_actions(world.actions)[Operation.REMOVE_EXCHANGE]
    assert run({"return_id": rid}, "contract:remove:11").ok
    world.set_stock_of_exchanges(rid, 10)
    world.actions.release_exchange(rid, notify_customer=False, idempotency_key="contract:release:11")
    assert world.exchange_released(rid) == 0
