"""Close-return contract (issue 9): an approved return never shipped is closed once, by policy.

- closing an approved return makes it CLOSED;
- closing it again (same key, or a new one after a restart) is a success that changes nothing;
- a return that is not approved (requested, declined) is refused as a non-retryable IntegrationError.
"""

from __future__ import annotations

import pytest

from policy.models import ReturnStatus
from policy.ports import IntegrationError, Operation, store_actions
from tests.contract.test_return_actions import a_return

pytestmark = pytest.mark.capability("returns")


def an_approved_return(world, name: str) -> str:
    rid = a_return(world, name).id
    world.actions.approve_return(rid, notify_customer=False, idempotency_key=f"contract:approve:{name}")
    return rid


def test_an_approved_return_is_closed(world):
    rid = an_approved_return(world, "#C101")
    result = world.actions.close_return(rid, note="never shipped", idempotency_key="contract:close:1")
    assert result.ok
    assert world.source.get_return(rid).status is ReturnStatus.CLOSED


def test_closing_a_closed_return_again_changes_nothing(world):
    rid = an_approved_return(world, "#C102")
    world.actions.close_return(rid, note=None, idempotency_key="contract:close:2")
    again = world.actions.close_return(rid, note=None, idempotency_key="contract:close:2")
    other_key = world.actions.close_return(rid, note=None, idempotency_key="contract:close:2b")
    assert again.ok and other_key.ok
    assert world.source.get_return(rid).status is ReturnStatus.CLOSED


def test_the_outbox_operation_calls_close_return(world):
    rid = an_approved_return(world, "#C103")
    run = store_actions(world.actions)[Operation.CLOSE_RETURN]
    assert run({"return_id": rid, "note": "expired"}, "contract:close:3").ok
    assert world.source.get_return(rid).status is ReturnStatus.CLOSED


def test_a_requested_return_cannot_be_closed(world):
    rid = a_return(world, "#C104", status="REQUESTED").id
    with pytest.raises(IntegrationError) as err:
        world.actions.close_return(rid, note=None, idempotency_key="contract:close:4")
    assert not err.value.retryable
    assert world.source.get_return(rid).status is ReturnStatus.REQUESTED
