"""The sample store's payment processor: Stripe-shaped facts about a few sample orders, so
`returnsbot demo` shows an early fraud warning case (and Radar risk and a processor's
dispute on cards) with no credentials.

- #1038: an actionable early fraud warning (stolen card), Radar "elevated" with a score;
  under the default `[fraud] proactive_refund_below`, so the card recommends a refund.
- #1037: a fraud dispute at the processor (network reason code 10.4), open, evidence due in
  six days: an open-dispute fact on its return card.
- #1040: Radar "highest" without a score (plain Radar gives no score): evidence on its card.
- #1039: paid directly through Stripe (the store only records the payment): its return's
  refund goes back through the processor, then the store records it (no money moved twice).

Orders are found by name in the loaded sample store; one that is missing (another data
set) is simply left out. Refunds are kept in memory, once per idempotency key.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, Mapping

from integrations.connector import Capability, Connector
from policy.models import (CaseContext, Dispute, DisputeStatus, DomainEvent, EventKind, Money, PaymentRisk,
                           RiskLevel)
from policy.payments import EarlyFraudWarning, LinkMethod, MoneyHolder, PaymentLink
from policy.ports import ActionResult, IntegrationError, Operation

SYSTEM = "stripe"  # the events say which system holds the money, as the real connector's do
NAME = "sample_payments"

WARNING_ORDER, DISPUTED_ORDER, RISKY_ORDER, DIRECT_ORDER = "#1038", "#1037", "#1040", "#1039"


class SamplePayments:
    def __init__(self, store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._refunds: dict[str, ActionResult] = {}  # idempotency key → what it did
        self.warnings: dict[str, EarlyFraudWarning] = {}
        self.disputes: dict[str, list[Dispute]] = {}  # order id → disputes
        self.risks: dict[str, PaymentRisk] = {}  # order id → Radar's view
        # Orders paid directly through the processor: order id → the charge, and per charge
        # (what was paid, what was refunded so far).
        self.direct: dict[str, str] = {}
        self.charges: dict[str, tuple[Money, Money]] = {}
        self._build()

    def _order(self, name: str):
        found = [o for o in self.store.find_orders(name, limit=2) if o.name == name]
        return found[0] if found else None

    def _build(self) -> None:
        warned = self._order(WARNING_ORDER)
        if warned is not None:
            charge = f"ch_sample_{warned.number}"
            link = PaymentLink(system=SYSTEM, payment_id=charge, order_id=warned.id, method=LinkMethod.TRANSACTION,
                               detail=f"the order's Stripe transaction names {charge}")
            self.warnings[f"issfr_sample_{warned.number}"] = EarlyFraudWarning(
                id=f"issfr_sample_{warned.number}", source=SYSTEM, charge_id=charge, order_id=warned.id,
                fraud_type="made_with_stolen_card", actionable=True, amount=warned.received,
                refunded=warned.refunded, created_at=self.store.now - timedelta(hours=20), link=link)
            self.risks[warned.id] = PaymentRisk(
                source=SYSTEM, level=RiskLevel.MEDIUM, score=72, rule=None,
                facts=("Radar risk level elevated", "Radar score 72"),
                seller_message="Stripe evaluated this payment as having elevated risk.")
        disputed = self._order(DISPUTED_ORDER)
        if disputed is not None:
            opened = disputed.created_at + timedelta(days=3)
            self.disputes[disputed.id] = [Dispute(
                id=f"du_sample_{disputed.number}", order_id=disputed.id, status=DisputeStatus.NEEDS_RESPONSE,
                reason="fraudulent", amount=disputed.total, initiated_at=opened,
                evidence_due_by=self.store.now + timedelta(days=6), source=SYSTEM, network_reason_code="10.4",
                charge_id=f"ch_sample_{disputed.number}")]
        risky = self._order(RISKY_ORDER)
        if risky is not None:
            self.risks[risky.id] = PaymentRisk(source=SYSTEM, level=RiskLevel.HIGH, score=None,
                                               facts=("Radar risk level highest",),
                                               seller_message="Stripe blocked similar payments as highest risk.")

        direct = self._order(DIRECT_ORDER)
        if direct is not None:
            charge = f"ch_sample_{direct.number}"
            self.direct[direct.id] = charge
            self.charges[charge] = (direct.received, direct.refunded)

    # --- the demo's feed ------------------------------------------------------------------

    def events(self) -> list[DomainEvent]:
        return [DomainEvent(source=SYSTEM, kind=EventKind.FRAUD_WARNING, resource_id=w.id, order_id=w.order_id,
                            occurred_at=w.created_at, detail={"warning": w.model_dump_json()})
                for w in self.warnings.values()]

    # --- what the connector does ----------------------------------------------------------

    def contribute(self, ctx: CaseContext) -> CaseContext:
        """As the real connector: risk on this order's payment; open warnings and disputes
        on it and on the same customer's other orders."""
        order_id = ctx.order.id
        risk = self.risks.get(order_id)
        orders = {order_id} | self._customers_orders(ctx.order.customer_id)
        others = tuple(w for w in self.warnings.values() if w.order_id in orders and w.actionable
                       and (ctx.fraud_warning is None or w.id != ctx.fraud_warning.id))
        disputes = tuple(d for oid in sorted(orders) for d in self.disputes.get(oid, ()) if d.is_open)
        charge = self.direct.get(order_id) if ctx.fraud_warning is None else None
        holder = MoneyHolder(system=SYSTEM, payment_id=charge, detail=f"paid directly through Stripe ({charge}); the "
                             "store only records the payment") if charge else None
        return ctx.model_copy(update={"payments": (risk,) if risk else (), "fraud_warnings": others,
                                      "open_disputes": disputes, "money_held_by": holder})

    def _customers_orders(self, customer_id: str | None) -> set[str]:
        if customer_id is None:
            return set()
        known = {w.order_id for w in self.warnings.values()} | set(self.disputes)
        return {oid for oid in known if oid and self.store.get_order(oid).customer_id == customer_id}

    def refund_payment(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        with self._lock:
            if key in self._refunds:
                return self._refunds[key]
            if payload.get("payment_id"):
                return self._refund_charge(payload, key)
            warning = self.warnings.get(payload.get("warning_id", ""))
            if warning is None:
                raise IntegrationError(f"no sample payment for {dict(payload)}", retryable=False, system=SYSTEM)
            amount = Money.of(payload["amount"], payload["currency"])
            if amount > warning.left_to_refund:
                raise IntegrationError(f"refund {amount} is more than the {warning.left_to_refund} left on "
                                       f"{warning.charge_id}", retryable=False, system=SYSTEM)
            self.warnings[warning.id] = warning.model_copy(update={"refunded": warning.refunded + amount,
                                                                   "actionable": False})
            result = ActionResult(ok=True, summary=f"refund {amount} in Stripe (sample) succeeded",
                                  external_id=f"re_sample_{len(self._refunds) + 1}")
            self._refunds[key] = result
            return result


    def _refund_charge(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        """A return's refund of a directly paid order (the lock is held): never more than
        is left on the charge, in its currency."""
        charge = payload["payment_id"]
        if charge not in self.charges:
            raise IntegrationError(f"no sample charge {charge}", retryable=False, system=SYSTEM)
        paid, refunded = self.charges[charge]
        amount = Money.of(payload["amount"], payload["currency"])
        if amount.currency != paid.currency or amount > paid - refunded:
            raise IntegrationError(f"refund {amount} is more than the {paid - refunded} left on {charge}",
                                   retryable=False, system=SYSTEM)
        self.charges[charge] = (paid, refunded + amount)
        result = ActionResult(ok=True, summary=f"refund {amount} in Stripe (sample) succeeded",
                              external_id=f"re_sample_{len(self._refunds) + 1}")
        self._refunds[key] = result
        return result


def connector_for(store) -> Connector:
    payments = SamplePayments(store)
    return Connector(
        name=NAME, label="Stripe (sample data)", handles=frozenset({SYSTEM}),
        capabilities=frozenset({Capability.PAYMENTS, Capability.DISPUTES}), source=payments,
        actions={Operation.REFUND_PAYMENT: payments.refund_payment}, contribute=payments.contribute,
        # Not `sample`: that flag is the sample *store* (check's "not configured" line);
        # its cases say "sample store" already, since their orders come from it.
        ping=lambda: "sample payment data for the sample store (no STRIPE_API_KEY set)",
    )
