"""The sample store's Loop (integrations/sample/loop.py): its returns are real sample orders'
(so they read as a real Loop's would), its actions keep Loop's state rules once per key,
processing completes at once, and the closed return's event follows. Every call the
in-memory Loop received is counted."""

from __future__ import annotations

import pytest

from bot.settings import load_settings
from integrations.loop import mapping
from integrations.loop.client import LoopRefused
from integrations.registry import build_registry
from integrations.sample import SampleStore
from integrations.sample.loop import NAME, SampleLoop, connector_for
from policy.lifecycle import ReturnStage
from policy.models import EventKind, ReturnOutcome
from policy.ports import IntegrationError, Operation
from tests.sample.helpers import NOW, StepClock

OPERATIONS = {Operation.PROCESS_RETURN, Operation.CANCEL_RETURN, Operation.CLOSE_RETURN, Operation.FLAG_RETURN,
              Operation.NOTE_RETURN}


@pytest.fixture
def clock():
    return StepClock()


@pytest.fixture
def store(clock):
    return SampleStore.load(now=NOW, clock=clock)


@pytest.fixture
def loop(store, clock):
    return SampleLoop(store, clock=clock)


def by_order(loop: SampleLoop, name: str) -> str:
    (rid,) = [rid for rid, body in loop.api.returns.items() if body["order_name"] == name]
    return rid


def calls(loop: SampleLoop, call: str, rid: str) -> int:
    return sum(1 for c in loop.api.calls if c == (call, rid))


def test_every_return_is_of_a_sample_order_with_its_shopify_ids(loop, store):
    events = loop.events()
    assert len(events) == 7
    for event in events:
        assert event.kind is EventKind.RETURN_REQUESTED and event.source == "loop"
        order = store.get_order(event.order_id)  # the Shopify order gid: correlation works
        request = mapping.return_request(mapping.loop_return(loop.api.returns[event.resource_id.removeprefix("loop:")]))
        ids = {li.id for li in order.line_items}
        assert {li.line_item_id for li in request.line_items} <= ids
        assert request.id == event.resource_id


def test_states_exchange_and_flag_are_loops(loop):
    states = {body["order_name"]: (body["state"], body["flagged"]) for body in loop.api.returns.values()}
    assert [o for o, (state, _) in states.items() if state == "review"] == ["#1022", "#1045", "#1032", "#1020", "#1050"]
    assert states["#1033"] == ("open", False) and states["#1038"] == ("open", True)
    exchange = loop.returned(by_order(loop, "#1033"))
    assert {li.outcome for li in exchange.lines} == {ReturnOutcome.EXCHANGE}
    assert exchange.lines[0].exchange_title == "Enamel Camp Mug - Large"


def test_the_connector_has_the_real_loops_operations_and_admin_link(store):
    c = connector_for(store)
    assert c.name == NAME and c.handles == frozenset({"loop"}) and set(c.actions) == OPERATIONS
    assert c.admin_url("loop:880001") == "https://admin.loopreturns.com/returns/880001"
    assert not c.sample  # the sample *store* flag stays the store's


def test_process_completes_at_once_once_per_key_and_the_closed_return_follows(loop, clock):
    rid = by_order(loop, "#1033")  # open, not flagged
    process = loop.action_table()[Operation.PROCESS_RETURN]
    result = process({"return_id": f"loop:{rid}"}, "k-process")
    assert result.ok and result.summary == "processed in Loop"
    again = process({"return_id": f"loop:{rid}"}, "k-process")  # a replay: Loop is not asked again
    assert again.ok
    assert calls(loop, "process", rid) == 1
    assert loop.api.returns[rid]["state"] == "closed" and loop.api.returns[rid]["exchange_order_id"]
    [stage] = loop.stage_events()
    assert stage.kind is EventKind.RETURN_STAGE and stage.stage.stage is ReturnStage.PROCESSED
    assert stage.stage.exchange_released
    assert any("processing requested" in n["content"] for n in loop.api.notes_by_return[rid])


def test_a_refund_return_processed_carries_its_refund(loop):
    rid = by_order(loop, "#1022")
    loop.api.returns[rid]["state"] = "open"  # accepted in Loop's admin
    loop.action_table()[Operation.PROCESS_RETURN]({"return_id": rid}, "k")
    [stage] = loop.stage_events()
    assert stage.stage.stage is ReturnStage.PROCESSED and stage.stage.refund.format() == "$98.00"


@pytest.mark.parametrize(("order", "words"), [
    ("#1038", "flagged in Loop: unflag it there"),  # flagged
    ("#1020", "in Loop's review queue"),  # review: the API can't accept it
])
def test_process_refuses_what_loop_refuses_without_calling_it(loop, order, words):
    rid = by_order(loop, order)
    with pytest.raises(IntegrationError) as exc:
        loop.action_table()[Operation.PROCESS_RETURN]({"return_id": rid}, "k")
    assert words in str(exc.value) and not exc.value.retryable
    assert calls(loop, "process", rid) == 0 and loop.stage_events() == []


def test_the_in_memory_loop_refuses_as_loop_does_when_asked_directly(loop):
    flagged = by_order(loop, "#1038")
    with pytest.raises(LoopRefused) as exc:
        loop.api.process(flagged)
    assert exc.value.code == "flagged"
    with pytest.raises(LoopRefused) as exc:
        loop.api.cancel(flagged)  # Loop: a flagged return can't be cancelled
    assert exc.value.code == "flagged"
    with pytest.raises(LoopRefused) as exc:
        loop.api.details("999")
    assert exc.value.code == "not_found"


def test_close_and_cancel_once_each_with_the_state_rules(loop):
    closing, cancelling = by_order(loop, "#1022"), by_order(loop, "#1045")
    actions = loop.action_table()
    assert "closed in Loop" in actions[Operation.CLOSE_RETURN]({"return_id": closing}, "deny-1").summary
    assert "already closed" in actions[Operation.CLOSE_RETURN]({"return_id": closing}, "deny-1").summary
    assert calls(loop, "close", closing) == 1
    with pytest.raises(IntegrationError, match="closed in Loop: it can't be cancelled"):
        actions[Operation.CANCEL_RETURN]({"return_id": closing}, "deny-2")
    assert calls(loop, "cancel", closing) == 0
    assert "cancelled in Loop" in actions[Operation.CANCEL_RETURN]({"return_id": cancelling}, "deny-3").summary
    actions[Operation.CANCEL_RETURN]({"return_id": cancelling}, "deny-3")
    assert calls(loop, "cancel", cancelling) == 1
    stages = {e.resource_id: e.stage.stage for e in loop.stage_events()}
    assert stages == {f"loop:{closing}": ReturnStage.CLOSED, f"loop:{cancelling}": ReturnStage.CANCELLED}


def test_flag_and_note_once_per_key(loop):
    rid = by_order(loop, "#1033")
    actions = loop.action_table()
    actions[Operation.FLAG_RETURN]({"return_id": rid, "text": "Escalated in Slack: serial returner"}, "esc-1")
    actions[Operation.FLAG_RETURN]({"return_id": rid, "text": "Escalated in Slack: serial returner"}, "esc-1")
    assert calls(loop, "flag", rid) == 1 and calls(loop, "note", rid) == 1
    assert loop.api.returns[rid]["state"] == "review" and loop.api.returns[rid]["flagged"]  # Loop: flag → review
    [event] = loop.stage_events()  # how Loop holds it now: in review, flagged
    assert event.kind is EventKind.RETURN_REQUESTED and '"in_review":true' in event.detail["platform"]
    actions[Operation.NOTE_RETURN]({"return_id": rid, "text": "Approved in Slack by U1"}, "note-1")
    actions[Operation.NOTE_RETURN]({"return_id": rid, "text": "Approved in Slack by U1"}, "note-1")
    assert calls(loop, "note", rid) == 2  # the flag's note and this one, each once


def test_registered_with_the_sample_store_only_without_a_real_loop():
    sample = build_registry(load_settings(_env_file=None), clock=lambda: NOW)
    assert sample.get(NAME) is not None and sample.for_system("loop").name == NAME
    real = build_registry(load_settings(_env_file=None, loop_api_key="loop_key_123"), clock=lambda: NOW)
    assert real.get(NAME) is None and real.for_system("loop").name == "loop"
    shop = build_registry(load_settings(_env_file=None, shopify_shop="x.myshopify.com", shopify_access_token="shpat_1",
                                        shopify_api_secret="s"), clock=lambda: NOW)
    assert shop.get(NAME) is None and shop.for_system("loop") is None
