"""Payments contract (Capability.PAYMENTS): what a payment processor's connector adds to a
case's context, and its REFUND_PAYMENT action, run against every payment adapter: Stripe
over FakeStripe, and the sample store's payment data (the demo's).

A payment world is the processor in a known state plus its connector over the sample store
(the primary store these cases' orders come from). Its scripting surface is the adapter's
own: FakeStripe's objects, or the sample data's tables.

Clauses:
- a risky payment on the order → a PaymentRisk from the processor, with facts (evidence);
- an order with no payment facts → nothing added;
- an open dispute on the order's payment → in `open_disputes`, open, naming the order;
- an actionable warning on it → in `fraud_warnings`;
- REFUND_PAYMENT: the same key twice is one refund with one result; more than is left is
  refused, not retried.
- an order paid directly through the processor (the store only records the payment) →
  `money_held_by` names the processor's system and the payment; a payment the store
  processed itself (its gateway moves the money) → None;
- REFUND_PAYMENT by payment id (a return's refund of such an order): once per key; more
  than is left, or another currency, is refused with nothing refunded.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.services.context import contribute
from integrations.connector import Capability
from integrations.sample.payments import connector_for as sample_connector
from integrations.sample.store import SampleStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for as stripe_connector
from policy.models import CaseContext, CaseKind, Dispute, DisputeStatus, RiskLevel
from policy.payments import EarlyFraudWarning, PaymentReference
from policy.ports import IntegrationError, Operation
from tests.fakes.stripe import FakeStripe, StoreWithPayments

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


class StripeWorld:
    name = "stripe"

    def __init__(self) -> None:
        self.fake = FakeStripe(now=lambda: NOW.timestamp())
        self._serving = self.fake.serve()
        self._serving.__enter__()
        self.store = StoreWithPayments(SampleStore.load(now=NOW))
        api = StripeAPI(self.fake.api_key, base=self.fake.base_url, max_network_retries=0)
        self.connector = stripe_connector(api, store=self.store, webhook_secret=None, clock=lambda: NOW)

    def close(self) -> None:
        self._serving.__exit__(None, None, None)

    def _charge(self, order, *, store_processed: bool = True, **kw) -> dict:
        charge = self.fake.add_charge(amount=order.received.to_minor(), currency=order.currency.lower(), **kw)
        self.store.references.setdefault(order.id, []).append(PaymentReference(
            gateway="stripe", reference=charge["id"], store_processed=store_processed))
        return charge

    def add_direct_payment(self, order) -> str:
        return self._charge(order, store_processed=False)["id"]

    def add_store_processed_payment(self, order) -> None:
        self._charge(order)

    def add_risky_payment(self, order) -> None:
        self._charge(order, outcome={"type": "authorized", "risk_level": "highest", "risk_score": 91})

    def add_disputed_payment(self, order) -> None:
        self.fake.add_dispute(self._charge(order)["id"], reason="fraudulent")

    def add_warned_payment(self, order) -> str:
        return self.fake.add_warning(self._charge(order)["id"])["id"]

    def refunds_made(self) -> int:
        return len(self.fake.refunds_made)


class SampleWorld:
    name = "sample"

    def __init__(self) -> None:
        self.store = SampleStore.load(now=NOW)
        self.connector = sample_connector(self.store)
        self.payments = self.connector.source
        self.payments.warnings.clear()
        self.payments.risks.clear()
        self.payments.disputes.clear()
        self.payments.direct.clear()
        self.payments.charges.clear()

    def close(self) -> None:
        pass

    def add_risky_payment(self, order) -> None:
        from policy.models import PaymentRisk

        self.payments.risks[order.id] = PaymentRisk(source="stripe", level=RiskLevel.HIGH, score=91,
                                                    facts=("Radar risk level highest", "Radar score 91"))

    def add_disputed_payment(self, order) -> None:
        self.payments.disputes[order.id] = [Dispute(id="du_contract", order_id=order.id,
                                                    status=DisputeStatus.NEEDS_RESPONSE, reason="fraudulent",
                                                    amount=order.total, initiated_at=NOW, source="stripe")]

    def add_warned_payment(self, order) -> str:
        w = EarlyFraudWarning(id="issfr_contract", source="stripe", charge_id="ch_contract", order_id=order.id,
                              fraud_type="misc", actionable=True, amount=order.received, refunded=order.refunded,
                              created_at=NOW)
        self.payments.warnings[w.id] = w
        return w.id

    def add_direct_payment(self, order) -> str:
        self.payments.direct[order.id] = "ch_contract_direct"
        self.payments.charges["ch_contract_direct"] = (order.received, order.refunded)
        return "ch_contract_direct"

    def add_store_processed_payment(self, order) -> None:
        pass  # the sample's payments are the store's unless listed as direct

    def refunds_made(self) -> int:
        return len(self.payments._refunds)


@pytest.fixture(params=[StripeWorld, SampleWorld], ids=["stripe", "sample"])
def payments_world(request):
    world = request.param()
    yield world
    world.close()


def _order(world, name="#1001"):
    return world.store.find_orders(name)[0]


def _ctx(order) -> CaseContext:
    return CaseContext(kind=CaseKind.ORDER_REVIEW, now=NOW, order=order)


def test_the_adapter_declares_payments_and_the_refund_action(payments_world):
    c = payments_world.connector
    assert Capability.PAYMENTS in c.capabilities and "stripe" in c.handles
    assert Operation.REFUND_PAYMENT in c.actions and c.contribute is not None


def test_a_risky_payment_becomes_a_payment_risk_with_evidence(payments_world):
    order = _order(payments_world)
    payments_world.add_risky_payment(order)
    ctx = contribute(_ctx(order), [payments_world.connector])
    [risk] = ctx.payments
    assert risk.source == "stripe" and risk.level is RiskLevel.HIGH and risk.facts and ctx.unavailable == ()


def test_an_order_without_payment_facts_gains_nothing(payments_world):
    ctx = contribute(_ctx(_order(payments_world, "#1002")), [payments_world.connector])
    assert (ctx.payments, ctx.fraud_warnings, ctx.open_disputes, ctx.unavailable) == ((), (), (), ())


def test_an_open_dispute_on_the_payment_is_on_the_context(payments_world):
    order = _order(payments_world)
    payments_world.add_disputed_payment(order)
    [dispute] = contribute(_ctx(order), [payments_world.connector]).open_disputes
    assert dispute.is_open and dispute.order_id == order.id and dispute.source == "stripe"


def test_an_actionable_warning_on_the_payment_is_on_the_context(payments_world):
    order = _order(payments_world)
    wid = payments_world.add_warned_payment(order)
    [warning] = contribute(_ctx(order), [payments_world.connector]).fraud_warnings
    assert warning.id == wid and warning.actionable and warning.order_id == order.id


def test_refund_payment_once_per_key_and_more_than_is_left_is_refused(payments_world):
    order = _order(payments_world)
    wid = payments_world.add_warned_payment(order)
    refund = payments_world.connector.actions[Operation.REFUND_PAYMENT]
    payload = {"warning_id": wid, "amount": str(order.received.amount), "currency": order.currency,
               "reason": "fraudulent"}
    first = refund(payload, "returnsbot:contract:refund")
    again = refund(payload, "returnsbot:contract:refund")
    assert first.ok and first.external_id == again.external_id and payments_world.refunds_made() == 1
    with pytest.raises(IntegrationError) as err:
        refund({**payload, "amount": "0.01"}, "returnsbot:contract:refund-2")
    assert not err.value.retryable and payments_world.refunds_made() == 1


def test_an_order_paid_directly_through_the_processor_names_who_holds_the_money(payments_world):
    order = _order(payments_world)
    charge = payments_world.add_direct_payment(order)
    held = contribute(_ctx(order), [payments_world.connector]).money_held_by
    assert held is not None and (held.system, held.payment_id) == ("stripe", charge) and held.detail
    other = _order(payments_world, "#1002")
    payments_world.add_store_processed_payment(other)
    assert contribute(_ctx(other), [payments_world.connector]).money_held_by is None


def test_refund_payment_by_payment_id_once_per_key_and_bad_amounts_are_refused(payments_world):
    order = _order(payments_world)
    charge = payments_world.add_direct_payment(order)
    refund = payments_world.connector.actions[Operation.REFUND_PAYMENT]
    half = order.received.amount / 2
    payload = {"payment_id": charge, "amount": str(half), "currency": order.currency,
               "reason": "requested_by_customer"}
    first = refund(payload, "returnsbot:contract:direct")
    again = refund(payload, "returnsbot:contract:direct")
    assert first.ok and first.external_id == again.external_id and payments_world.refunds_made() == 1
    for bad in ({**payload, "amount": str(order.received.amount)},  # more than the half left
                {**payload, "currency": "EUR" if order.currency != "EUR" else "USD"}):
        with pytest.raises(IntegrationError) as err:
            refund(bad, f"returnsbot:contract:direct-{bad['amount']}-{bad['currency']}")
        assert not err.value.retryable
    assert payments_world.refunds_made() == 1
