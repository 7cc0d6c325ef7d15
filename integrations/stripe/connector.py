"""Stripe as a connector: payments (Radar risk, early fraud warnings) and disputes; its
webhook route, its events poller, the refund action, and `check`'s ping.

It needs the primary store (orders) to link payments to orders (link.py): the registry
builds it after the store and hands it in.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Callable, Mapping

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from integrations.stripe import mapping, webhooks as sw
from integrations.stripe.client import StripeAPI
from integrations.stripe.link import link_charge, stripe_ids
from integrations.stripe.poller import EventsPoller
from policy.models import CaseContext, DisputeStatus, DomainEvent, EventKind, Money
from policy.payments import MoneyHolder
from policy.ports import ActionResult, IntegrationError, NotFound, Operation

log = logging.getLogger(__name__)

# Stripe reads for context run here (a contribution is already on its own thread, with its
# timeout: a slow read is dropped with it).
_READS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stripe-read")

NAME = "stripe"
LABEL = "Stripe"
REFUND_REASON = "fraudulent"  # Stripe's refund reason for a payment the card holder did not make
KEY_METADATA = "returnsbot_key"  # on every refund we make: how a replayed 500 is reconciled
MAX_OTHER_ORDERS = 5  # the customer's other orders looked at for warnings and disputes
NEW_KEYS_PER_RUN = 2  # after a stored 500 on the job's key, at most this many fresh keys per run


class StripeConnector:
    def __init__(self, api: StripeAPI, *, store, webhook_secret: bytes | None, clock) -> None:
        self.api = api
        self.store = store  # the primary store: orders to link payments to
        self.webhook_secret = webhook_secret
        self.clock = clock

    # --- webhooks -------------------------------------------------------------------------

    def decode(self, topic: str, payload: dict) -> DomainEvent | None:
        """After the 200: the event's object read again from Stripe (deliveries come out of
        order; the API's answer is the current state)."""
        if sw.caused_by_us(payload):
            log.info("stripe.own_event_ignored", extra={"topic": topic})
            return None  # our refund, the warning it resolved, …: nothing new to decide
        if topic in sw.WARNING_TYPES:
            return self.warning_event(payload["data"]["object"]["id"])
        if topic in sw.DISPUTE_TYPES:
            return self.dispute_event(payload["data"]["object"]["id"])
        return None  # refunds by others: the store reports them

    def dispute_event(self, dispute_id: str) -> DomainEvent:
        """A dispute read again (its status now) and linked to the store's order: while it
        needs a response it opens a case; after, it moves the case (submitted, won, lost)."""
        obj = self.api.get(f"/v1/disputes/{dispute_id}")
        charge = self.api.get(f"/v1/charges/{mapping.charge_id_of(obj)}")
        linked = link_charge(charge, self.store)
        if linked is None:
            raise IntegrationError(f"Stripe dispute {dispute_id}: no order found for charge {charge['id']} "
                                   f"(no transaction, metadata or email match)", retryable=False, system=NAME)
        order, link = linked
        dispute = mapping.dispute(obj, order_id=order.id)
        kind = EventKind.DISPUTE_CREATED if dispute.status is DisputeStatus.NEEDS_RESPONSE else EventKind.DISPUTE_UPDATED
        return DomainEvent(source=NAME, kind=kind, resource_id=dispute.id, order_id=order.id,
                           occurred_at=dispute.initiated_at,
                           detail={"dispute": dispute.model_dump_json(), "link": link.model_dump_json()})

    def warning_event(self, warning_id: str) -> DomainEvent:
        warning = self.api.get(f"/v1/radar/early_fraud_warnings/{warning_id}")
        charge = self.api.get(f"/v1/charges/{mapping.charge_id_of(warning)}")
        if not warning.get("actionable"):
            return DomainEvent(source=NAME, kind=EventKind.FRAUD_WARNING_RESOLVED, resource_id=warning["id"],
                               occurred_at=self.clock(), detail={"reason": mapping.resolved_reason(warning, charge)})
        linked = link_charge(charge, self.store)
        if linked is None:
            raise IntegrationError(f"Stripe early fraud warning {warning['id']}: no order found for charge "
                                   f"{charge['id']} (no transaction, metadata or email match)", retryable=False,
                                   system=NAME)
        order, link = linked
        efw = mapping.fraud_warning(warning, charge, order_id=order.id, link=link)
        return DomainEvent(source=NAME, kind=EventKind.FRAUD_WARNING, resource_id=efw.id, order_id=order.id,
                           occurred_at=efw.created_at, detail={"warning": efw.model_dump_json()})

    def route(self) -> WebhookRoute:
        return WebhookRoute(
            path=f"/webhooks/{NAME}", source=NAME, verify=sw.verifier(self.webhook_secret, self.clock),
            topic=lambda headers: None, delivery_id=lambda headers: None, body_ids=sw.body_ids,
            validate=sw.validate, decode=self.decode,
        )

    # --- actions --------------------------------------------------------------------------

    def refund_payment(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        """Refund the payment with the job's stable key. A 500 stored under that key is
        replayed forever, so first look for a refund we made (metadata names the key), and
        only then try a fresh key derived from it."""
        charge_id = payload.get("payment_id")
        if not charge_id:
            charge_id = mapping.charge_id_of(self.api.get(f"/v1/radar/early_fraud_warnings/{payload['warning_id']}"))
        amount = Money(amount=Decimal(payload["amount"]), currency=payload["currency"])
        if payload.get("payment_id"):
            # A return's refund is decided in shop money; a charge in another currency
            # would be refunded the wrong amount (minor units mean different money).
            charge = self.api.get(f"/v1/charges/{charge_id}")
            if str(charge.get("currency", "")).upper() != amount.currency:
                raise IntegrationError(f"Stripe charge {charge_id} is in {str(charge.get('currency')).upper()}, the "
                                       f"refund in {amount.currency}: not refunded", retryable=False, system=NAME)
        params = {"charge": charge_id, "amount": amount.to_minor(), "reason": payload.get("reason") or REFUND_REASON,
                  "metadata": {KEY_METADATA: key}}
        failure: IntegrationError | None = None
        for attempt in range(1 + NEW_KEYS_PER_RUN):
            made = self._our_refund(charge_id, key)
            if made is not None:
                return _refunded(made, amount, reconciled=True)
            try:
                refund = self.api.create_refund(params, idempotency_key=key if attempt == 0 else f"{key}:retry-{attempt}")
            except IntegrationError as exc:
                if not exc.retryable:
                    raise
                failure = exc
                continue
            return _refunded(refund, amount)
        assert failure is not None
        raise failure

    def submit_dispute_evidence(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        """Submit the evidence (`submit=true`: final, Stripe sends it to the issuer). Check
        before act: a dispute that already has a submission, or no longer takes evidence,
        is not sent again; ours is known by the key in its metadata. A stored 500 under the
        job's key is replayed forever, so a fresh key derived from it is tried after."""
        dispute_id = payload["dispute_id"]
        params = {"evidence": mapping.evidence_params(payload.get("evidence") or {}), "submit": True,
                  "metadata": {KEY_METADATA: key}}
        failure: IntegrationError | None = None
        for attempt in range(1 + NEW_KEYS_PER_RUN):
            done = self._answered(dispute_id, key)
            if done is not None:
                return done
            try:
                obj = self.api.update_dispute(dispute_id, params,
                                              idempotency_key=key if attempt == 0 else f"{key}:retry-{attempt}")
            except IntegrationError as exc:
                if not exc.retryable:
                    raise
                failure = exc
                continue
            count = (obj.get("evidence_details") or {}).get("submission_count", 0)
            return ActionResult(ok=True, summary=f"evidence submitted to Stripe (submission {count}); "
                                                 f"the dispute is {obj.get('status', 'under review').replace('_', ' ')}",
                                external_id=obj["id"])
        assert failure is not None
        raise failure

    def _answered(self, dispute_id: str, key: str) -> ActionResult | None:
        """The dispute as it stands: None while it still takes evidence and has none from us."""
        obj = self.api.get(f"/v1/disputes/{dispute_id}")
        ours = (obj.get("metadata") or {}).get(KEY_METADATA) == key
        submitted = (obj.get("evidence_details") or {}).get("submission_count", 0) > 0
        status = obj.get("status", "")
        if ours and submitted:
            return ActionResult(ok=True, summary="evidence submitted to Stripe (found after a failed reply: "
                                                 "not submitted twice)", external_id=obj["id"])
        if status in mapping.RESPONDABLE and not submitted:
            return None
        raise IntegrationError(f"Stripe dispute {dispute_id} is {status.replace('_', ' ')}"
                               + (" with evidence submitted outside returnsbot" if submitted else "")
                               + ": nothing was sent", retryable=False, system=NAME)

    def accept_dispute(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        """Close the dispute: the loss is accepted (irreversible). Closing a lost one again is
        a repeat, not an error."""
        dispute_id = payload["dispute_id"]
        obj = self.api.get(f"/v1/disputes/{dispute_id}")
        if obj.get("status") == "lost":
            return ActionResult(ok=True, summary="the dispute was already closed as lost in Stripe",
                                external_id=obj["id"])
        if obj.get("status") not in mapping.RESPONDABLE:
            raise IntegrationError(f"Stripe dispute {dispute_id} is {obj.get('status', '?').replace('_', ' ')}: "
                                   f"it can't be accepted now", retryable=False, system=NAME)
        closed = self.api.close_dispute(dispute_id, idempotency_key=key)
        return ActionResult(ok=True, summary=f"dispute accepted in Stripe: {closed.get('status', 'lost')}",
                            external_id=closed["id"])

    def _our_refund(self, charge_id: str, key: str) -> dict | None:
        return next((r for r in self.api.list_all("/v1/refunds", charge=charge_id)
                     if (r.get("metadata") or {}).get(KEY_METADATA) == key and r.get("status") != "failed"), None)

    # --- context --------------------------------------------------------------------------

    def contribute(self, ctx: CaseContext) -> CaseContext:
        """Radar's risk on the payment, the warnings and disputes on it and on the
        customer's other recent orders' payments, and whether Stripe holds the order's money.
        The payment is the warning's charge for a warning case; for other cases, the charges
        its order's payment transactions name (the store's `payment_references`, when it
        has them)."""
        others = _READS.submit(self._other_orders, ctx)  # the store's answer, while Stripe answers
        own, direct = self._charges_for(ctx)
        pairs = [(ctx.order.id, c) for c in own] + [(o, c) for o, charges in others.result() for c in charges]
        # Each charge's three reads are one task; the charges are read in parallel, so a
        # customer with several orders costs about one charge's round trips, not the sum.
        found = list(_READS.map(lambda pair: self._charge_facts(ctx, *pair), pairs))
        paid = [c for c, (_, _, _, status) in zip(own, found) if c in direct and status == "succeeded"]
        return ctx.model_copy(update={
            "payments": tuple(r for risk, _, _, _ in found if risk is not None for r in (risk,)),
            "fraud_warnings": tuple(w for _, ws, _, _ in found for w in ws),
            "open_disputes": tuple(d for _, _, ds, _ in found for d in ds),
            "money_held_by": money_holder(paid[0]) if paid else ctx.money_held_by,
        })

    def _charge_facts(self, ctx: CaseContext, order_id: str, charge_id: str):
        """(Radar risk for the case's own order, open warnings, open disputes, the charge's
        status) of a charge."""
        try:
            charge = self.api.get(f"/v1/charges/{charge_id}")
        except NotFound:
            return None, [], [], None
        risk = None
        if order_id == ctx.order.id:
            risk = mapping.payment_risk(charge) or (mapping.checks_only(charge) if ctx.dispute is not None else None)
        warnings = [mapping.fraud_warning(w, charge, order_id=order_id, link=None)
                    for w in self.api.list_all("/v1/radar/early_fraud_warnings", charge=charge_id)
                    if w.get("actionable") and (ctx.fraud_warning is None or w["id"] != ctx.fraud_warning.id)]
        own = ctx.dispute.id if ctx.dispute is not None else None
        disputes = [d for d in (mapping.dispute(obj, order_id=order_id)
                                for obj in self.api.list_all("/v1/disputes", charge=charge_id))
                    if d.is_open and d.id != own]
        return risk, warnings, disputes, charge.get("status")

    def _other_orders(self, ctx: CaseContext) -> list[tuple[str, list[str]]]:
        """The customer's other recent orders (by email, the same customer where known) and
        the charges their transactions name: warnings and disputes there are signals too."""
        email = (ctx.customer.email if ctx.customer else None) or ctx.order.email
        refs = getattr(self.store, "payment_references", None)
        if not email or refs is None:
            return []
        orders = [o for o in self.store.find_orders(email, limit=MAX_OTHER_ORDERS + 1)
                  if o.id != ctx.order.id and (ctx.order.customer_id is None or o.customer_id == ctx.order.customer_id)]
        # Sequential on purpose: this runs on _READS itself, and a task that waits on tasks
        # of its own pool can starve it.
        return [(o.id, [i for i in stripe_ids(refs(o.id)) if i.startswith("ch_")]) for o in orders[:MAX_OTHER_ORDERS]]

    def _charges_for(self, ctx: CaseContext) -> tuple[list[str], set[str]]:
        """The case's own charges, and those of them taken directly through Stripe (the
        store's transaction only records them: `store_processed` False)."""
        if ctx.fraud_warning is not None:
            return [ctx.fraud_warning.charge_id], set()
        if ctx.dispute is not None and ctx.dispute.source == NAME and ctx.dispute.charge_id:
            return [ctx.dispute.charge_id], set()
        refs = getattr(self.store, "payment_references", None)
        if refs is None:
            return [], set()
        references = [r for r in refs(ctx.order.id) if r.reference in stripe_ids([r])]
        ids = list(dict.fromkeys(r.reference for r in references))
        direct_ids = {r.reference for r in references if not r.store_processed}
        # A payment intent's charge is found by the intent (Stripe lists charges by it).
        charges = [i for i in ids if i.startswith("ch_")]
        direct = {i for i in charges if i in direct_ids}
        for intent in (i for i in ids if i.startswith("pi_")):
            for c in self.api.list_all("/v1/charges", payment_intent=intent):
                if c["id"] not in charges:
                    charges.append(c["id"])
                if intent in direct_ids:
                    direct.add(c["id"])
        return charges, direct

    # --- check ----------------------------------------------------------------------------

    def ping(self) -> str:
        """Read one object of each kind we read; a restricted key's missing permission is
        named (refunds are written only on approval, so `check` cannot try that one)."""
        missing = []
        for label, path in (("Charges", "/v1/charges"), ("Radar early fraud warnings", "/v1/radar/early_fraud_warnings"),
                            ("Disputes", "/v1/disputes"), ("Refunds", "/v1/refunds"), ("Events", "/v1/events")):
            try:
                self.api.get(path, limit=1)
            except IntegrationError as exc:
                if " 401 " in str(exc):
                    raise IntegrationError("Stripe refused STRIPE_API_KEY (401): check the key and its mode "
                                           "(test/live)", retryable=False, system=NAME) from exc
                if " 403 " in str(exc):
                    missing.append(label)
                    continue
                raise
        if missing:
            raise IntegrationError(f"STRIPE_API_KEY lacks read permission for: {', '.join(missing)} "
                                   f"(a restricted key needs Read on them, and Write on Refunds)", retryable=False,
                                   system=NAME)
        return "key accepted; reads charges, early fraud warnings, disputes, refunds and events"


def money_holder(charge_id: str) -> MoneyHolder:
    """Stripe holds the money of an order whose payment it took directly (the store only
    recorded it): a refund goes back through Stripe, by this charge."""
    return MoneyHolder(system=NAME, payment_id=charge_id,
                       detail=f"paid directly through Stripe ({charge_id}); the store only records the payment")


def _refunded(refund: dict, amount: Money, *, reconciled: bool = False) -> ActionResult:
    status = refund.get("status", "succeeded")
    note = " (found after a failed reply: not refunded twice)" if reconciled else ""
    return ActionResult(ok=status != "failed", summary=f"refund {amount} in Stripe {status}{note}",
                        external_id=refund["id"])


def connector_for(api: StripeAPI, *, store, webhook_secret: bytes | None, clock: Callable) -> Connector:
    stripe = StripeConnector(api, store=store, webhook_secret=webhook_secret, clock=clock)
    poller = EventsPoller(api, decode=stripe.decode, clock=clock)
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}),
        capabilities=frozenset({Capability.PAYMENTS, Capability.DISPUTES}),
        webhooks=(stripe.route(),), pollers=(PollSpec(f"{NAME}.events", poller.fetch),),
        actions={Operation.REFUND_PAYMENT: stripe.refund_payment,
                 Operation.SUBMIT_DISPUTE_EVIDENCE: stripe.submit_dispute_evidence,
                 Operation.ACCEPT_DISPUTE: stripe.accept_dispute}, contribute=stripe.contribute,
        ping=stripe.ping, admin_label="Stripe Dashboard",
        admin_url=None, reconnect_hint="update STRIPE_API_KEY (Developers → API keys)",
    )


def connector(settings, *, clock, store=None) -> Connector | None:
    """From settings: None without STRIPE_API_KEY."""
    if settings.stripe_api_key is None or store is None:
        return None
    api = StripeAPI(settings.stripe_api_key.get_secret_value(), base=str(settings.stripe_api_base))
    secret = settings.stripe_webhook_secret.get_secret_value().encode() if settings.stripe_webhook_secret else None
    return connector_for(api, store=store, webhook_secret=secret, clock=clock)
