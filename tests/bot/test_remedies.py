"""The delayed-shipment remedies as decisions: the outbox ops (keyed per case, run in the
store) and the checks before them (kind, version, decided, tier, amount)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.services.decide import DecideService, DecisionRefused
from bot.services.effects import remedy_ops
from bot.services.remedies import Remedies
from bot.store import CaseRepo, OutboxRepo
from integrations.connector import Capability, Connector, Registry
from policy.models import Action, CaseKind, CaseStatus, Money
from policy.ports import STORE, Operation
from tests.bot.factories import NOW, new_case, usd
from tests.bot.test_decide import POLICY


@pytest.fixture
def decide(engine):
    return DecideService(cases=CaseRepo(engine), outbox=OutboxRepo(engine), policy=POLICY, clock=lambda: NOW)


def _delayed(decide, n: int = 3001, amount: str = "129.50", source: str = "shipstation"):
    nc = new_case(n, amount=amount, action=Action.ACCEPT)
    ctx = nc.context.model_copy(update={"kind": CaseKind.DELAYED_SHIPMENT, "return_request": None})
    nc = dataclasses.replace(nc, source=source, external_id=f"{ctx.order.id}|1Z0001", context=ctx,
                             assessment=nc.assessment.model_copy(update={"kind": CaseKind.DELAYED_SHIPMENT}))
    case, _ = decide.cases.open(nc)
    return case


def test_remedy_ops_run_in_the_store_with_the_order_and_one_key_per_case(decide):
    case = _delayed(decide)
    [refund] = remedy_ops(case, "refund_shipping", amount=usd("5.00"))
    assert (refund.operation, refund.system) == (Operation.REFUND_SHIPPING, STORE)
    assert refund.payload == {"order_id": case.order_id, "notify_customer": True, "amount": "5.00", "currency": "USD"}
    assert remedy_ops(case, "refund_shipping", amount=None)[0].idempotency_key == refund.idempotency_key
    [reship] = remedy_ops(case, "reship", amount=None, note="lost")
    assert reship.payload == {"order_id": case.order_id, "note": "lost"} and reship.idempotency_key != refund.idempotency_key
    with pytest.raises(ValueError):
        remedy_ops(case, "teleport", amount=None)
    with pytest.raises(ValueError):
        remedy_ops(case, "reship", amount=usd("1.00"))


def test_the_registry_runs_a_store_job_in_the_primary_store():
    store = Connector(name="sample", label="the sample store", capabilities=frozenset({Capability.ORDERS}),
                      handles=frozenset({"shopify"}), source=object())
    tracking = Connector(name="shipstation", label="ShipStation", capabilities=frozenset({Capability.SHIPMENTS}),
                         handles=frozenset({"shipstation"}))
    assert Registry([store, tracking]).for_system(STORE) is store


def test_a_remedy_is_one_decision_and_one_queued_op_and_a_second_click_is_refused(decide):
    case = _delayed(decide)
    remedies = Remedies(decide=decide)
    done = remedies.carry_out(case.id, "U0TIERONE1", remedy="reship", version=case.version)
    assert done.status is CaseStatus.APPROVED and done.decided_action == Action.RESHIP.value
    with pytest.raises(DecisionRefused):
        remedies.carry_out(case.id, "U0TIERONE1", remedy="reship", version=case.version)
    with pytest.raises(DecisionRefused, match="Already"):
        remedies.carry_out(case.id, "U0TIERONE1", remedy="refund_shipping", version=None)
    assert [r.operation for r in decide.outbox.for_case(case.id)] == ["reship_order"]


def test_an_unknown_approver_is_refused(decide):
    case = _delayed(decide)
    with pytest.raises(DecisionRefused, match="needs tier 1"):
        Remedies(decide=decide).carry_out(case.id, "U0NOBODY01", remedy="reship", version=case.version)
    assert decide.outbox.for_case(case.id) == []


def test_remedies_are_for_delayed_shipments_only(decide):
    ret, _ = decide.cases.open(new_case(3002))
    with pytest.raises(DecisionRefused, match="delayed shipments only"):
        Remedies(decide=decide).carry_out(ret.id, "U0TIERONE1", remedy="reship", version=ret.version)
    assert decide.cases.get(ret.id).status is CaseStatus.OPEN


@pytest.mark.parametrize("amount", [Money.of("0.00", "USD"), Money.of("5.00", "EUR")])
def test_a_bad_amount_changes_nothing(decide, amount):
    case = _delayed(decide)
    with pytest.raises(DecisionRefused, match="Nothing was done"):
        Remedies(decide=decide).carry_out(case.id, "U0TIERONE1", remedy="refund_shipping", amount=amount,
                                          version=case.version)
    assert decide.cases.get(case.id).status is CaseStatus.OPEN and decide.outbox.for_case(case.id) == []
