"""Refund on receipt through the container's job lanes (sample store, real database, frozen
clock, `drain`): a dispose that arrives while the approval is still being carried out, and
a store that cannot be reached when the dispose arrives. Every store call is counted,
replays included."""

from __future__ import annotations

from datetime import timedelta

from bot.container import Container
from bot.jobs.kinds import Kind
from bot.services.poll import ingest_job
from integrations.sample.store import SampleStore
from policy.config import parse_policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.models import CaseStatus, DomainEvent, EventKind
from policy.ports import IntegrationError
import pytest

from tests.bot.app_harness import settings_for

APPROVER = "U0APPROVER"
POLICY = f'[returns]\nrefund_on = "receipt"\n\n[[approval_tiers]]\napprovers = ["{APPROVER}"]\n'


@pytest.fixture
def built():
    containers: list[Container] = []
    yield containers
    for c in containers:  # PostgreSQL allows 100 connections: every test gives its back
        c.engine.dispose()


def _container(built, database_url, clock) -> tuple[Container, SampleStore]:
    store = SampleStore.load(now=clock())
    c = Container.build(settings_for(database_url), clock=clock, store=store, policy=parse_policy(POLICY))
    built.append(c)
    return c, store


def _open(c: Container, store: SampleStore, order_name: str = "#1034"):
    order_id = store.find_orders(order_name)[0].id
    event = next(e for e in store.events() if e.order_id == order_id and e.kind is EventKind.RETURN_REQUESTED)
    return c.ingest.ingest(event).case


def _received(c: Container, case, ref: str = "rfo-1") -> DomainEvent:
    ret = c.store.get_return(case.external_id)
    update = StageUpdate(return_id=case.external_id, stage=ReturnStage.RECEIVED, at=c.clock(), source=case.source,
                         ref=ref, dispositions=tuple(DisposedLine(return_line_id=li.id, quantity=li.quantity,
                                                                  disposition=Disposition.RESTOCKED)
                                                     for li in ret.line_items))
    return DomainEvent(source=case.source, kind=EventKind.RETURN_STAGE, resource_id=case.external_id, stage=update)


def _calls(store: SampleStore, method: str, target: str) -> list:
    return [call for call in store.calls if call.method == method and call.target_id == target]


def test_dispose_while_the_approval_runs_refunds_once_after_it_completes(built, database_url, clock):
    c, store = _container(built, database_url, clock)
    case = _open(c, store)
    seen: list[CaseStatus] = []
    approve = store.approve_return

    def approve_while_the_warehouse_disposes(return_id, **kw):
        # The warehouse's dispose webhook is ingested while the approve call is in flight.
        seen.append(c.cases.get(case.id).status)
        c.ingest.ingest(_received(c, case))
        seen.append(c.cases.get(case.id).status)
        return approve(return_id, **kw)

    store.approve_return = approve_while_the_warehouse_disposes
    c.decide.approve(case.id, APPROVER)
    c.drain()

    assert seen == [CaseStatus.EXECUTING, CaseStatus.EXECUTING]  # the dispose found it executing, skipped
    done = c.cases.get(case.id)
    assert done.status is CaseStatus.DONE and done.stage is ReturnStage.RECEIVED
    assert len(_calls(store, "approve_return", case.external_id)) == 1
    [refund] = _calls(store, "refund_return", case.external_id)  # every call, replays included
    assert not refund.replayed and refund.error is None
    ops = [r.operation for r in c.outbox.for_case(case.id)]
    assert ops.count("refund_return") == 1 and ops.count("approve_return") == 1
    # Done twice (approve, then refund): the receipt was queued once.
    assert len([j for j in c.jobs.list(limit=500) if j.operation == "receipt_after_approval"]) == 1

    c.ingest.ingest(_received(c, case))  # the same delivery again, later
    c.drain()
    assert len(_calls(store, "refund_return", case.external_id)) == 1
    assert [r.operation for r in c.outbox.for_case(case.id)].count("refund_return") == 1


def test_store_unreachable_at_receipt_is_retried_then_refunds_once(built, database_url, clock):
    c, store = _container(built, database_url, clock)
    case = _open(c, store)
    c.decide.approve(case.id, APPROVER)
    c.drain()
    assert c.cases.get(case.id).status is CaseStatus.DONE

    get_order, asked = store.get_order, []

    def unreachable_once(order_id):
        asked.append(order_id)
        if len(asked) == 1:
            raise IntegrationError("timed out", retryable=True, system="sample")
        return get_order(order_id)

    store.get_order = unreachable_once
    c.jobs.enqueue(ingest_job(_received(c, case)), now=clock())
    c.drain()
    assert len(asked) == 1 and c.cases.get(case.id).status is CaseStatus.DONE
    assert _calls(store, "refund_return", case.external_id) == []
    [job] = [j for j in c.jobs.list(limit=500) if j.kind == Kind.INGEST]
    assert job.status == "pending" and job.attempts == 1  # waiting for its retry

    clock.advance(minutes=15)
    c.drain()
    assert len(asked) == 2
    assert len(_calls(store, "refund_return", case.external_id)) == 1
    assert c.cases.get(case.id).status is CaseStatus.DONE
    assert [r.operation for r in c.outbox.for_case(case.id)].count("refund_return") == 1
