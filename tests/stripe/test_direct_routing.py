"""Every path that refunds a Stripe-direct order's return routes the money the same way
(`effects.refund_ops`): the processor refunds the payment first, then the store records the
refund without moving money — on approval, on receipt, and in a follow-up decided after
receipt. The sample store and its payment processor (order #1039 is paid directly through
Stripe) run behind the container's job lanes; every call each of them received is counted."""

from __future__ import annotations

import pytest

from bot.container import Container
from bot.services.effects import approval_ops, money_ops
from integrations.sample.payments import DIRECT_ORDER, connector_for
from integrations.sample.store import SampleStore
from policy.config import parse_policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.models import Action, CaseStatus, DomainEvent, EventKind, Money
from policy.ports import Operation
from tests.bot.app_harness import settings_for

APPROVER = "U0APPROVER"
TIERS = f'[[approval_tiers]]\napprovers = ["{APPROVER}"]\n'
ON_RECEIPT = '[returns]\nrefund_on = "receipt"\n\n' + TIERS

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def built():
    containers: list[Container] = []
    yield containers
    for c in containers:
        c.engine.dispose()


def _world(built, database_url, clock, policy: str = TIERS):
    store = SampleStore.load(now=clock())
    payments = connector_for(store)
    c = Container.build(settings_for(database_url), clock=clock, store=store, policy=parse_policy(policy),
                        connectors=(payments,))
    built.append(c)
    order = store.find_orders(DIRECT_ORDER)[0]
    event = next(e for e in store.events() if e.order_id == order.id and e.kind is EventKind.RETURN_REQUESTED)
    case = c.ingest.ingest(event).case
    return c, store, payments.source, case


def _received(c: Container, case, *, missing: int = 0) -> DomainEvent:
    """The warehouse's receipt: every line restocked, the first `missing` of them missing."""
    ret = c.store.get_return(case.external_id)
    lines = tuple(DisposedLine(return_line_id=li.id, quantity=li.quantity,
                               disposition=Disposition.MISSING if i < missing else Disposition.RESTOCKED)
                  for i, li in enumerate(ret.line_items))
    update = StageUpdate(return_id=case.external_id, stage=ReturnStage.RECEIVED, at=c.clock(), source=case.source,
                         ref="rfo-1", dispositions=lines)
    return DomainEvent(source=case.source, kind=EventKind.RETURN_STAGE, resource_id=case.external_id, stage=update)


def _store_calls(store: SampleStore, case) -> list[str]:
    return [call.method for call in store.calls if call.target_id == case.external_id]


def test_the_case_knows_who_holds_the_money_and_every_path_asks_the_same_function(built, database_url, clock):
    c, store, payments, case = _world(built, database_url, clock)
    charge = payments.direct[case.order_id]
    assert (case.money_system, case.money_payment_id) == ("stripe", charge)
    from blocks.card import render_case_card

    card = str(render_case_card(c.views.build(case))["blocks"])
    assert "The money is held by Stripe" in card and "a refund goes back through Stripe" in card
    half = Money.of(case.amount.amount / 2, case.amount.currency)
    for ops in (approval_ops(case, Action.REFUND)[1:], money_ops(case, "refund", half)):
        refund, record = ops
        assert (refund.operation, refund.system) == (Operation.REFUND_PAYMENT, "stripe")
        assert refund.payload["payment_id"] == charge and refund.payload["reason"] == "requested_by_customer"
        assert (record.operation, record.system) == (Operation.RECORD_REFUND, None)  # the case's store
        assert refund.payload["amount"] == record.payload["amount"] and charge in record.payload["refunded_in"]
    # The same keys whichever path queues it: at most one refund per case.
    assert approval_ops(case, Action.REFUND)[1].idempotency_key == money_ops(case, "refund", half)[0].idempotency_key
    # Store credit is the store's, wherever the card money is.
    [credit] = money_ops(case, "store_credit", half)
    assert credit.operation is Operation.ISSUE_STORE_CREDIT and credit.system is None


def test_approval_refunds_in_the_processor_then_the_store_records_it(built, database_url, clock):
    c, store, payments, case = _world(built, database_url, clock)
    charge = payments.direct[case.order_id]
    c.decide.approve(case.id, APPROVER)
    c.drain()
    assert c.cases.get(case.id).status is CaseStatus.DONE
    assert payments.charges[charge][1] == case.amount and len(payments._refunds) == 1
    assert _store_calls(store, case) == ["approve_return", "record_refund"]  # never refund_return
    [refund] = [r for r in store.get_order(case.order_id).refunds if "Refunded in" in (r.note or "")]
    assert charge in refund.note and refund.amount == case.amount
    assert [r.operation for r in c.outbox.for_case(case.id)] == ["approve_return", "refund_payment", "record_refund"]


def test_refund_on_receipt_routes_the_same_way_once(built, database_url, clock):
    c, store, payments, case = _world(built, database_url, clock, ON_RECEIPT)
    charge = payments.direct[case.order_id]
    c.decide.approve(case.id, APPROVER)
    c.drain()
    assert payments._refunds == {} and _store_calls(store, case) == ["approve_return"]  # the money waits
    c.ingest.ingest(_received(c, case))
    c.drain()
    c.ingest.ingest(_received(c, case))  # the same receipt again
    c.drain()
    assert payments.charges[charge][1] == case.amount and len(payments._refunds) == 1
    assert _store_calls(store, case) == ["approve_return", "record_refund"]
    assert c.cases.get(case.id).status is CaseStatus.DONE


def test_a_followup_refund_after_receipt_routes_the_same_way(built, database_url, clock):
    c, store, payments, case = _world(built, database_url, clock, ON_RECEIPT)
    charge = payments.direct[case.order_id]
    c.decide.approve(case.id, APPROVER)
    c.drain()
    c.ingest.ingest(_received(c, case, missing=1))
    c.drain()
    opened = c.cases.get(case.id)
    assert opened.status is CaseStatus.OPEN and opened.followup and payments._refunds == {}
    part = Money.of("10.00", case.amount.currency)
    res = c.lifecycle.decide_followup(case.id, choice="partial_refund", amount=part, message=None,
                                      actor=APPROVER, version=opened.version)
    assert res.ok
    c.drain()
    assert payments.charges[charge][1] == part and len(payments._refunds) == 1
    assert _store_calls(store, case) == ["approve_return", "record_refund"]
    assert c.cases.get(case.id).status is CaseStatus.DONE
