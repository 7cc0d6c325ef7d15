"""The Loop adapter's returns contract (why its own file: docs/DECISIONS.md, "Loop and the
contract suites").

The store-oriented returns suite (test_returns.py) asks a world for orders, customers and
`StoreSource.get_return`; Loop provides none of those (it is a returns platform over the
store, not a store), so it cannot be a world there. What the core relies on from Loop is
checked here instead, in process (FakeLoop behind an httpx MockTransport: no network):

1. one case per return across systems: a Loop return of a store return's order and units
   has the store return's correlation key (run against every store world);
2. every Loop state becomes the event the core expects, read from Loop, never the body;
3. the raw actions keep Loop's state rules as refusals in our words, never retried, and
   each call is made exactly once (every request the fake received is counted);
4. a poll parks what it cannot map and goes on.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from integrations.loop import client as lc
from integrations.loop import mapping
from integrations.loop.client import LoopAPI, LoopRefused
from integrations.loop.connector import LoopConnector
from integrations.loop.poller import ReturnsPoller
from policy.lifecycle import ReturnStage
from policy.models import CaseContext, CaseKind, EventKind, ReturnRequest, ReturnStatus
from tests.contract.worlds import Item, Line
from tests.fakes.loop import FakeLoop

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def in_process(fake: FakeLoop) -> LoopAPI:
    fake.base_url = "https://api.loopreturns.test/api/v1"

    def handler(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        status, body, headers = fake.handle(request.method, target, dict(request.headers), request.content)
        return httpx.Response(status, json=body, headers=headers)

    return LoopAPI(fake.api_key, fake.base_url, http=httpx.Client(transport=httpx.MockTransport(handler)))


@pytest.fixture
def fake():
    return FakeLoop(now=lambda: NOW)


def _number(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


# --- 1. one case per return across systems --------------------------------------------------


@pytest.mark.capability("returns")
def test_a_loop_return_of_a_store_returns_units_is_the_same_case(world, fake):
    customer = world.add_customer("Ada", email="ada@example.com", created_at=world.now - timedelta(days=400))
    order = world.add_order(name="#1001", customer=customer, created_at=world.now - timedelta(days=20),
                            delivered_at=world.now - timedelta(days=17),
                            lines=[Line("Merino Sweater", "129.50", 1, "SW-M-01"), Line("Wool Socks", "12.25", 3, "SO-02")])
    ref = world.add_return(order, requested_at=world.now - timedelta(days=1),
                           items=[Item(index=0), Item(index=1, quantity=2)])
    store_return = world.source.get_return(ref.id)
    # Loop lists one line per unit: the sweater once, the socks twice.
    units = [order.line_ids[0], order.line_ids[1], order.line_ids[1]]
    loop_body = fake.add_return(order_id=_number(order.id), lines=[
        {"provider_line_item_id": _number(gid), "title": t, "price": p}
        for gid, t, p in zip(units, ("Merino Sweater", "Wool Socks", "Wool Socks"), ("129.50", "12.25", "12.25"))])
    event = LoopConnector(in_process(fake), webhook_secret=None, clock=lambda: NOW).decode(
        "return", fake.webhook("return.created", loop_body["id"]))
    loop_return = ReturnRequest.model_validate_json(event.detail["return"])

    store_order = world.source.get_order(order.id)
    keys = [CaseContext(kind=CaseKind.RETURN_REQUEST, now=NOW, order=store_order, return_request=r).correlation_key
            for r in (store_return, loop_return)]
    assert keys[0] == keys[1] and keys[0] is not None
    assert loop_return.id != store_return.id  # each system's own id; only the key joins them
    assert event.order_id == order.id


# --- 2. every state → the event the core expects ----------------------------------------------


@pytest.mark.parametrize("state, over, kind, stage, status", [
    ("open", {}, EventKind.RETURN_REQUESTED, None, ReturnStatus.APPROVED),
    ("review", {}, EventKind.RETURN_REQUESTED, None, ReturnStatus.REQUESTED),
    ("needs review", {}, EventKind.RETURN_REQUESTED, None, ReturnStatus.REQUESTED),
    ("closed", {"refunds": [{"amount": "47.50", "currency": "USD"}]}, EventKind.RETURN_STAGE, ReturnStage.PROCESSED, None),
    ("closed", {"exchange_order_id": 4455}, EventKind.RETURN_STAGE, ReturnStage.PROCESSED, None),
    ("closed", {}, EventKind.RETURN_STAGE, ReturnStage.CLOSED, None),
    ("cancelled", {}, EventKind.RETURN_STAGE, ReturnStage.CANCELLED, None),
    ("expired", {}, EventKind.RETURN_STAGE, ReturnStage.CLOSED, None),
])
def test_each_loop_state_is_one_event_read_from_loop(fake, state, over, kind, stage, status):
    ret = fake.add_return(state=state, **over)
    body = {**fake.webhook("return.updated", ret["id"]), "state": "open"}  # the body is never trusted
    event = LoopConnector(in_process(fake), webhook_secret=None, clock=lambda: NOW).decode("return", body)
    assert (event.kind, event.resource_id, event.source) == (kind, f"loop:{ret['id']}", "loop")
    if stage is not None:
        assert event.stage.stage is stage and event.stage.return_id == f"loop:{ret['id']}"
    else:
        assert ReturnRequest.model_validate_json(event.detail["return"]).status is status
    assert len(fake.calls) == 1 and fake.calls[0].path == "/warehouse/return/details"


# --- 3. the raw actions: Loop's state rules, each call once -----------------------------------

REFUSALS = [  # (action, the return's state, flagged) → our code; per reference/loop (and the fake)
    ("process", "review", False, lc.IN_REVIEW), ("process", "closed", False, lc.CLOSED),
    ("process", "cancelled", False, lc.CANCELLED), ("process", "expired", False, lc.EXPIRED),
    ("process", "open", True, lc.FLAGGED), ("cancel", "expired", False, lc.EXPIRED),
    ("cancel", "open", True, lc.FLAGGED), ("cancel", "closed", False, lc.CLOSED),
    ("close", "cancelled", False, lc.CANCELLED), ("close", "closed", False, lc.CLOSED),
    ("flag", "closed", False, lc.CLOSED), ("flag", "cancelled", False, lc.CANCELLED),
]


@pytest.mark.parametrize("action, state, flagged, code", REFUSALS)
def test_a_refused_action_is_one_call_and_a_clear_non_retryable_code(fake, action, state, flagged, code):
    ret = fake.add_return(state=state, flagged=flagged)
    api = in_process(fake)
    with pytest.raises(LoopRefused) as err:
        getattr(api, action)(ret["id"])
    assert err.value.code == code and not err.value.retryable
    assert len(fake.calls) == 1 and fake.calls[0].status in (200, 422)
    assert fake.returns[str(ret["id"])]["state"] == state  # nothing changed


@pytest.mark.parametrize("action, after", [("cancel", "cancelled"), ("flag", "review"), ("close", "closed"),
                                           ("process", "open")])
def test_an_accepted_action_is_true_after_exactly_one_call(fake, action, after):
    ret = fake.add_return()
    api = in_process(fake)
    assert getattr(api, action)(ret["id"]) is True
    assert [(c.method, c.path) for c in fake.calls] == [("POST", f"/warehouse/return/{ret['id']}/{action}")]
    assert fake.returns[str(ret["id"])]["state"] == after
    assert fake.queued == ([str(ret["id"])] if action == "process" else [])  # process is queued


def test_a_5xx_on_an_action_is_retryable_and_not_retried(fake):
    ret = fake.add_return()
    fake.fail_next(500)
    with pytest.raises(lc.IntegrationError) as err:
        in_process(fake).process(ret["id"])
    assert err.value.retryable and not isinstance(err.value, LoopRefused) and len(fake.calls) == 1


def test_notes_are_written_and_read(fake):
    ret = fake.add_return()
    api = in_process(fake)
    assert api.notes(ret["id"]) == []
    long = "Approved in Slack by Alice: store credit €120 — serial returner. " * 10  # > 255 characters
    assert api.note(ret["id"], long) is True
    assert [n["content"] for n in api.notes(ret["id"])] == [long]
    assert len(fake.actions("note", ret["id"])) == 1


def test_a_wrong_key_is_unauthorized(fake):
    api = in_process(fake)
    fake.api_key = "another"  # the key returnsbot has is no longer Loop's
    with pytest.raises(LoopRefused) as err:
        api.details(1)
    assert err.value.code == lc.UNAUTHORIZED and err.value.status == 401


# --- 4. polls ----------------------------------------------------------------------------------


def test_a_poll_parks_an_unmappable_return_and_goes_on(fake):
    good = fake.add_return(state="review", updated_at=NOW - timedelta(hours=1))
    bad = fake.add_return(state="review", updated_at=NOW - timedelta(hours=1), line_items=[])
    page = ReturnsPoller(in_process(fake), clock=lambda: NOW).fetch(None)
    assert {e.resource_id for e in page.events} == {mapping.external_id(good["id"])}
    assert [u.ref for u in page.unmapped] == [mapping.external_id(bad["id"])]
    assert page.cursor == NOW.isoformat()
