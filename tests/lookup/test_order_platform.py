"""/order on an order with a Loop-owned return (the sample store's Loop): the case line says
how Loop holds it — in review, flagged, open, processing, processed — and links to it in
Loop's admin; the store's own returns get no such line."""

from __future__ import annotations

import json

import pytest

from blocks.order import OrderContextView, context_fallback, render_order_answer
from bot.container import Container
from bot.demo import DEMO_APPROVER, demo_policy
from bot.services.lookup import OrderLookup
from bot.settings import Settings
from integrations.sample.loop import connector_for as sample_loop
from integrations.sample.store import SampleStore
from policy.config import parse_policy
from policy.models import CaseKind
from tests.blocks.limits import check_limits


@pytest.fixture
def sample(clock):
    return SampleStore.load(now=clock(), clock=clock)


@pytest.fixture
def loop(sample, clock):
    return sample_loop(sample, clock=clock)


@pytest.fixture
def container(database_url, sample, clock, engine, loop):
    # The demo's policy: one approver in the top tier; money (Loop's processing) on approval.
    policy = demo_policy(parse_policy('[returns]\nrefund_on = "approval"\n'))
    c = Container.build(Settings(_env_file=None, database_url=database_url), clock=clock, store=sample,
                        policy=policy, engine=engine, connectors=(loop,))
    for event in loop.source.events():
        c.ingest.ingest(event)
    return c


def answer_for(c: Container, name: str) -> OrderContextView:
    lookup = OrderLookup(store=c.store, cases=c.cases, playbook=c.playbook, policy=c.policy, clock=c.clock,
                         jobs=c.jobs)
    answer = lookup.lookup(name)
    assert isinstance(answer, OrderContextView)
    return answer


def loop_case(c: Container, order_name: str):
    (case,) = [k for k in c.cases.list() if k.order_name == order_name and k.source == "loop"]
    return case


def text_of(view: OrderContextView) -> str:
    payload = render_order_answer(view)
    check_limits(payload)
    return json.dumps(payload["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(("order", "state", "words"), [
    ("#1020", "review", "in its review queue"),
    ("#1038", "flagged", "flagged (it won't process until unflagged there)"),
    ("#1033", "open", "*open*"),
])
def test_a_loop_return_shows_its_loop_state_and_the_admin_link(container, order, state, words):
    case = loop_case(container, order)
    view = answer_for(container, order)
    [link] = [k for k in view.cases if k.case_id == case.id]
    assert link.platform is not None and link.platform.state == state
    rid = case.external_id.removeprefix("loop:")
    assert link.platform.admin_url == f"https://admin.loopreturns.com/returns/{rid}"
    text = text_of(view)
    assert "Loop owns this return" in text and words in text
    assert f"<https://admin.loopreturns.com/returns/{rid}|open it in Loop>" in text


def test_the_stores_own_return_has_no_platform_line(container, sample):
    order = sample.find_orders("#1034")[0]
    event = next(e for e in sample.events() if e.order_id == order.id)
    container.ingest.ingest(event)
    view = answer_for(container, "#1034")
    assert [k.platform for k in view.cases] == [None]
    assert "owns this return" not in text_of(view)


def test_approved_it_is_processing_then_processed(container, loop):
    case = loop_case(container, "#1033")  # open in Loop: Approve processes it now
    container.decide.approve(case.id, DEMO_APPROVER, version=case.version)
    [link] = [k for k in answer_for(container, "#1033").cases if k.case_id == case.id]
    assert link.platform.state == "processing"  # the processing job is queued
    container.drain("actions")
    for event in loop.source.stage_events():  # Loop's return.closed, as the poller finds it
        container.ingest.ingest(event)
    done = container.cases.get(case.id)
    view = answer_for(container, "#1033")
    [link] = [k for k in view.cases if k.case_id == case.id]
    assert link.platform.state == "processed", (done.status, done.stage)
    assert "*processed and closed*" in text_of(view)
    assert "(Loop: processed)" in context_fallback(view)
    assert sum(1 for call in loop.source.api.calls if call[0] == "process") == 1
    assert done.kind is CaseKind.RETURN_REQUEST
