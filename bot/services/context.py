"""Assemble a case's context: the primary store's view (the event carries ids, the source
is authoritative — a webhook body is never trusted for amounts or history), then what every
other connected system adds, in parallel, each within its own timeout."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from typing import Sequence

from integrations.connector import Capability
from policy.models import (
    CaseContext,
    CaseKind,
    CustomerHistory,
    Dispute,
    DomainEvent,
    EventKind,
    Order,
    PastReturn,
    ReturnPlatform,
    ReturnRequest,
    ReturnStatus,
)
from policy.ports import NotFound, StoreSource

log = logging.getLogger(__name__)

# Contributions run here, so a hung connector never holds a worker thread past its timeout.
_CONTRIBUTIONS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="contribute")

CASE_KIND_FOR_EVENT: dict[EventKind, CaseKind] = {
    EventKind.RETURN_REQUESTED: CaseKind.RETURN_REQUEST,
    EventKind.REFUND_CREATED: CaseKind.HIGH_VALUE_REFUND,
    EventKind.ORDER_CREATED: CaseKind.ORDER_REVIEW,
    EventKind.DISPUTE_CREATED: CaseKind.DISPUTE,
    EventKind.FRAUD_WARNING: CaseKind.EARLY_FRAUD_WARNING,
}

# Returns that were refused or withdrawn are not claims against the order any more.
_LIVE_RETURN = {ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.CLOSED}


def assemble(event: DomainEvent, source: StoreSource, *, now: datetime, lookback_days: int) -> CaseContext:
    kind = CASE_KIND_FOR_EVENT[event.kind]
    return_request = refund = dispute = warning = None
    links: tuple = ()
    platform = None
    if kind is CaseKind.RETURN_REQUEST:
        # A returns platform's return (Loop) comes read by its connector, with how the
        # platform holds it; the store's own return is read from the store.
        if "return" in event.detail:
            return_request = ReturnRequest.model_validate_json(event.detail["return"])
            platform = ReturnPlatform.model_validate_json(event.detail["platform"]) if "platform" in event.detail else None
        else:
            return_request = source.get_return(event.resource_id)
        order = source.get_order(return_request.order_id)
    elif kind is CaseKind.HIGH_VALUE_REFUND:
        refund = source.get_refund(event.resource_id)
        order = _before_refund(source.get_order(refund.order_id), refund.id, refund.amount)
    elif kind is CaseKind.DISPUTE:
        # A payment system's dispute comes read and linked by its connector; the store's
        # own (Shopify Payments) is read from the store.
        dispute = (Dispute.model_validate_json(event.detail["dispute"]) if "dispute" in event.detail
                   else source.get_dispute(event.resource_id))
        if dispute.order_id is None:
            raise NotFound(f"dispute {dispute.id} names no order")
        order = source.get_order(dispute.order_id)
        if "link" in event.detail:
            from policy.payments import PaymentLink

            links = (PaymentLink.model_validate_json(event.detail["link"]),)
    elif kind is CaseKind.EARLY_FRAUD_WARNING:
        # The payment system's connector read the warning and linked it to the order when
        # it decoded the event (integrations/<processor>/link.py); the order is the store's.
        from policy.payments import EarlyFraudWarning

        warning = EarlyFraudWarning.model_validate_json(event.detail["warning"])
        links = (warning.link,) if warning.link is not None else ()
        if event.order_id is None:
            raise NotFound(f"fraud warning {warning.id} names no order")
        order = source.get_order(event.order_id)
    else:
        order = source.get_order(event.resource_id)

    customer = history = None
    if order.customer_id:
        try:
            customer = source.get_customer(order.customer_id)
        except NotFound:
            customer = None  # guest checkout or deleted customer: decide without history
        else:
            history = _history_without(
                source.get_customer_history(customer.id, now - timedelta(days=lookback_days)),
                return_request.id if return_request else None,
            )

    prior = ()
    if return_request is not None:
        prior = tuple(
            _as_past(r)
            for r in source.get_order_returns(order.id)
            if r.id != return_request.id and r.status in _LIVE_RETURN and r.requested_at <= return_request.requested_at
            and not _same_units(r, return_request)  # the other system's report of this very return
        )
    disputes = tuple(d for d in source.order_disputes(order.id) if d.is_open and (dispute is None or d.id != dispute.id))
    return CaseContext(
        kind=kind,
        now=now,
        order=order,
        customer=customer,
        history=history,
        return_request=return_request,
        refund=refund,
        dispute=dispute,
        fraud_warning=warning,
        payment_links=links,
        # How the order was placed (IP, addresses) is evidence for a dispute, and read for nothing else.
        order_facts=_order_facts(source, order.id) if kind is CaseKind.DISPUTE else None,
        platform=platform,
        # `payments` is the slot for other payment systems (Stripe Radar, later); Shopify's
        # own assessment is order.risk, which detection reads already.
        shipments=order.shipments,
        open_disputes=disputes,
        prior_returns_on_order=prior,
    )


def _same_units(a: ReturnRequest, b: ReturnRequest) -> bool:
    """Two systems' reports of one return (Loop's and the Shopify return it made) name the
    same order lines and quantities."""
    units = lambda r: sorted((li.line_item_id, li.quantity) for li in r.line_items)  # noqa: E731
    return units(a) == units(b)


def _order_facts(source: StoreSource, order_id: str):
    read = getattr(source, "order_facts", None)  # optional: a store that has none leaves the slot empty
    return read(order_id) if read is not None else None


def _before_refund(order: Order, refund_id: str, amount) -> Order:
    """A refund webhook arrives after Shopify counted the refund; judge it against what
    was left to refund before it."""
    if any(r.id == refund_id for r in order.refunds) and order.refunded >= amount:
        return order.model_copy(
            update={"refunded": order.refunded - amount, "refunds": tuple(r for r in order.refunds if r.id != refund_id)}
        )
    return order


def _history_without(history: CustomerHistory, return_id: str | None) -> CustomerHistory:
    if return_id is None:
        return history
    return history.model_copy(update={"returns": tuple(r for r in history.returns if r.return_id != return_id)})


def _as_past(r: ReturnRequest) -> PastReturn:
    return PastReturn(return_id=r.id, order_id=r.order_id, requested_at=r.requested_at, amount=r.amount, status=r.status)


def contribute(ctx: CaseContext, contributors: Sequence) -> CaseContext:
    """Fold every contributor's additions into the context, asked in parallel. One that
    fails or takes longer than its `contribute_timeout` is named in `ctx.unavailable` and
    left out; the others still count."""
    if not contributors:
        return ctx
    futures = [(c, _CONTRIBUTIONS.submit(c.contribute, ctx)) for c in contributors]
    unavailable = list(ctx.unavailable)
    for connector, future in futures:
        try:
            added = future.result(timeout=connector.contribute_timeout)
        except FutureTimeout:
            log.warning("context.timeout", extra={"system": connector.name, "timeout_s": connector.contribute_timeout})
            unavailable.append(connector.label)
            continue
        except Exception as exc:  # noqa: BLE001 - one system's failure must not cost the case
            log.warning("context.failed", extra={"system": connector.name, "error": f"{type(exc).__name__}: {exc}"})
            unavailable.append(connector.label)
            continue
        ctx = _merge(ctx, added)
    return ctx.model_copy(update={"unavailable": tuple(unavailable)}) if unavailable else ctx


def money_holder_unknown(ctx: CaseContext, contributors: Sequence, source) -> str | None:
    """Who holds a return's money must be known before its case can be decided: a payment
    system that could hold it did not answer, and the store says the order's payment was
    only recorded there (taken outside it) — the silent system's label; else None."""
    if ctx.kind is not CaseKind.RETURN_REQUEST or ctx.money_held_by is not None:
        return None
    silent = [c.label for c in contributors if Capability.PAYMENTS in c.capabilities and c.label in ctx.unavailable]
    refs = getattr(source, "payment_references", None)
    if not silent or refs is None:
        return None
    return silent[0] if any(not r.store_processed for r in refs(ctx.order.id)) else None


def _merged_shipments(ours: tuple, added: tuple) -> tuple:
    """A shipping system's report of a parcel the store lists (same id) replaces the
    store's view of it: the carrier knows better where it is. New parcels are added."""
    by_id = {s.id: s for s in added}
    kept = tuple(by_id.pop(s.id, s) for s in ours)
    return kept + tuple(s for s in by_id.values() if s not in kept)


def _merge(ctx: CaseContext, added: CaseContext) -> CaseContext:
    """A contributor returns the context with its facts added; only the slots other systems
    fill are taken from it (it can't rewrite the store's order or return)."""
    return ctx.model_copy(update={
        "payments": ctx.payments + tuple(p for p in added.payments if p not in ctx.payments),
        "shipments": _merged_shipments(ctx.shipments, added.shipments),
        "tickets": ctx.tickets + tuple(t for t in added.tickets if t not in ctx.tickets),
        "open_disputes": ctx.open_disputes + tuple(d for d in added.open_disputes
                                                   if d not in ctx.open_disputes and d.id not in _ids(ctx.open_disputes)),
        "fraud_warnings": ctx.fraud_warnings + tuple(w for w in added.fraud_warnings if w not in ctx.fraud_warnings),
        "payment_links": ctx.payment_links + tuple(p for p in added.payment_links if p not in ctx.payment_links),
        # The first system that says it holds the money (one payment processor per order).
        "money_held_by": ctx.money_held_by or added.money_held_by,
    })


def _ids(items) -> set[str]:
    return {i.id for i in items}
