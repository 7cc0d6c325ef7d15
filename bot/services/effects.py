"""What a decision does in the store systems, as outbox operations.

Keys are deterministic (case id + operation), so deciding twice can never queue a second
refund: the outbox's unique key refuses it, and the vendor call carries the same key.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.store import CaseRecord, OutboxOp
from policy.config import Policy, RefundOn, Segment
from policy.lifecycle import ReturnStage, StageUpdate
from policy.lifecycle_rules import refund_on_for
from policy.models import Action, CaseKind, DeclineReason, Money, SignalCode, decline_reason_for
from policy.ports import STORE, Operation

log = logging.getLogger(__name__)


def _key(case: CaseRecord, op: Operation) -> str:
    return f"returnsbot:{case.source}:case-{case.id}:{op.value}"


def refund_on_for_case(case: CaseRecord, policy: Policy, *, cases=None) -> RefundOn:
    """`[returns] refund_on` for this case: its product tags (from the snapshot, read only
    when a rule names a tag), its amount in shop money and its segments (the VIP /
    serial-returner signals)."""
    if case.kind is not CaseKind.RETURN_REQUEST:
        return RefundOn.APPROVAL
    tags = case_tags(cases, case) if cases is not None and any(r.tag for r in policy.returns.refund_on_rule) else ()
    segments = []
    if SignalCode.VIP_CUSTOMER.value in case.signal_codes:
        segments.append(Segment.VIP)
    if SignalCode.SERIAL_RETURNER.value in case.signal_codes:
        segments.append(Segment.SERIAL_RETURNER)
    return refund_on_for(policy.returns, tags=tags, amount=case.amount, segments=segments)


def case_tags(cases, case: CaseRecord) -> tuple[str, ...]:
    """The product tags on the case's returned lines, from its snapshot (none when unreadable)."""
    try:
        ctx, _ = cases.snapshot(case)
    except Exception:  # SnapshotUnreadable, or no snapshot: rules on tags then don't match
        log.warning("refund_on: case %s snapshot unreadable, tag rules skipped", case.id)
        return ()
    rr = ctx.return_request
    return tuple(t for li in rr.line_items for t in li.product_tags) if rr is not None else ()


def money_outcome(outcome: Action) -> str | None:
    return {Action.REFUND: "refund", Action.STORE_CREDIT: "store_credit"}.get(outcome)


def approval_detail(case: CaseRecord, outcome: Action, *, refund_on: RefundOn | str) -> dict[str, Any]:
    """The decision detail: with refund on receipt, the money outcome left pending until the
    items are disposed (the lifecycle service carries it out)."""
    if RefundOn(refund_on) is not RefundOn.RECEIPT or case.kind is not CaseKind.RETURN_REQUEST \
            or money_outcome(outcome) is None:
        return {}
    return {"refund_on": RefundOn.RECEIPT.value,
            "pending": {"outcome": money_outcome(outcome), "amount": str(case.amount.amount),
                        "currency": case.amount.currency}}


def approved_stage(case: CaseRecord, *, actor: str, at: datetime) -> StageUpdate:
    """Our own approval as a stage fact (by whom); the store's returns/approve has its own ref."""
    return StageUpdate(return_id=case.external_id, stage=ReturnStage.APPROVED, at=at, source=case.source,
                       ref=f"returnsbot:case-{case.id}:approved", by=actor)


# Why the customer is refunded, in the processor's terms: a return the shop agreed to.
CUSTOMER_REFUND_REASON = "requested_by_customer"


def money_ops(case: CaseRecord, outcome: str, amount: Money, *, notify_customer: bool = True) -> list[OutboxOp]:
    """The refund or store credit, with the keys approval would have used: whichever path
    queues it (approval, refund on receipt, a follow-up), it is queued (and sent) once."""
    payload = {"amount": str(amount.amount), "currency": amount.currency}
    if outcome == "refund":
        return refund_ops(case, amount, notify_customer=notify_customer)
    if outcome == "store_credit":
        return [OutboxOp(Operation.ISSUE_STORE_CREDIT, {"customer_id": case.customer_id, **payload},
                         _key(case, Operation.ISSUE_STORE_CREDIT))]
    return []


def refund_ops(case: CaseRecord, amount: Money, *, notify_customer: bool) -> list[OutboxOp]:
    """Where a return's refund goes: the system that holds the money. The store, usually;
    for an order paid directly through a processor (`case.money_system`) the processor
    refunds the payment first, then the store records the refund without moving money
    (the jobs of a case run in order, and a dead refund blocks the record)."""
    money = {"amount": str(amount.amount), "currency": amount.currency}
    ret = {"return_id": case.external_id, "notify_customer": notify_customer, **money}
    if case.money_system is None:
        return [OutboxOp(Operation.REFUND_RETURN, ret, _key(case, Operation.REFUND_RETURN))]
    return [
        OutboxOp(Operation.REFUND_PAYMENT,
                 {"payment_id": case.money_payment_id, **money, "reason": CUSTOMER_REFUND_REASON},
                 _key(case, Operation.REFUND_PAYMENT), system=case.money_system),
        OutboxOp(Operation.RECORD_REFUND,
                 {**ret, "refunded_in": f"{case.money_system} payment {case.money_payment_id}"},
                 _key(case, Operation.RECORD_REFUND)),
    ]


def approval_ops(case: CaseRecord, outcome: Action, *, notify_customer: bool = True,
                 refund_on: RefundOn | str = RefundOn.APPROVAL) -> list[OutboxOp]:
    """Approving a return request carries out the recommended outcome; with refund on
    receipt only the approval (the money waits for the items, see `approval_detail`)."""
    if case.kind is CaseKind.EARLY_FRAUD_WARNING and outcome is Action.REFUND:
        # The proactive refund, in the system holding the money (the case's source), of
        # what was left on the payment when the case was opened (the case's amount).
        return [OutboxOp(Operation.REFUND_PAYMENT,
                         {"warning_id": case.external_id, "amount": str(case.amount.amount),
                          "currency": case.amount.currency, "reason": "fraudulent"},
                         _key(case, Operation.REFUND_PAYMENT))]
    if case.kind is not CaseKind.RETURN_REQUEST:
        return []  # order/refund/dispute reviews are acknowledgements: nothing to execute
    if outcome is Action.DENY:
        return decline_ops(case, reason=(decline_reason_for(case.signal_codes) or DeclineReason.OTHER).value, note=None, notify_customer=notify_customer)
    ops = [
        OutboxOp(
            Operation.APPROVE_RETURN,
            {"return_id": case.external_id, "notify_customer": notify_customer},
            _key(case, Operation.APPROVE_RETURN),
        )
    ]
    if outcome is Action.EXCHANGE:
        # Approving the request releases the exchange items the customer chose, whatever
        # `refund_on` says: no money moves for an exchange (bot.services.exchanges).
        ops.append(release_exchange_op(case, notify_customer=notify_customer))
        return ops
    if RefundOn(refund_on) is RefundOn.RECEIPT:
        return ops
    ops += money_ops(case, money_outcome(outcome) or "", case.amount, notify_customer=notify_customer)
    return ops


def contest_ops(case: CaseRecord, evidence: dict[str, str]) -> list[OutboxOp]:
    """Submitting a dispute's evidence (the packet as the card showed it), in the system
    that holds the dispute (the case's source)."""
    return [OutboxOp(Operation.SUBMIT_DISPUTE_EVIDENCE, {"dispute_id": case.external_id, "evidence": evidence},
                     _key(case, Operation.SUBMIT_DISPUTE_EVIDENCE))]


def concede_ops(case: CaseRecord) -> list[OutboxOp]:
    return [OutboxOp(Operation.ACCEPT_DISPUTE, {"dispute_id": case.external_id}, _key(case, Operation.ACCEPT_DISPUTE))]


def release_exchange_op(case: CaseRecord, *, notify_customer: bool = True) -> OutboxOp:
    return OutboxOp(Operation.RELEASE_EXCHANGE, {"return_id": case.external_id, "notify_customer": notify_customer},
                    _key(case, Operation.RELEASE_EXCHANGE))


def remove_exchange_op(case: CaseRecord) -> OutboxOp:
    return OutboxOp(Operation.REMOVE_EXCHANGE, {"return_id": case.external_id}, _key(case, Operation.REMOVE_EXCHANGE))


def close_return_op(case: CaseRecord, *, note: str | None) -> OutboxOp:
    """Closing the return, with the one key a case closes its return under (an exchange
    received, or a return expired by policy: whichever comes first closes it)."""
    return OutboxOp(Operation.CLOSE_RETURN, {"return_id": case.external_id, "note": note},
                    _key(case, Operation.CLOSE_RETURN))


def decline_ops(case: CaseRecord, *, reason: str, note: str | None, notify_customer: bool) -> list[OutboxOp]:
    if case.kind is not CaseKind.RETURN_REQUEST:
        return []
    return [
        OutboxOp(
            Operation.DECLINE_RETURN,
            {"return_id": case.external_id, "reason": reason, "note": note, "notify_customer": notify_customer},
            _key(case, Operation.DECLINE_RETURN),
        )
    ]


# The delayed-shipment remedies: what a person chose → the store operation.
REMEDIES = {"reship": Operation.RESHIP_ORDER, "refund_shipping": Operation.REFUND_SHIPPING}


def remedy_ops(case: CaseRecord, remedy: str, *, amount: Money | None, note: str | None = None,
               notify_customer: bool = True) -> list[OutboxOp]:
    """A delayed shipment's remedy, run in the store that owns the order (`STORE`, whichever
    system reported the parcel), keyed per case: deciding twice queues it once. `amount`
    (refund_shipping only): None refunds all the shipping not refunded yet."""
    op = REMEDIES.get(remedy)
    if op is None:
        raise ValueError(f"unknown remedy {remedy!r}; expected one of {sorted(REMEDIES)}")
    if case.kind is not CaseKind.DELAYED_SHIPMENT:
        raise ValueError(f"case {case.id} is a {case.kind.value} case: remedies are for delayed shipments")
    if not case.order_id:
        raise ValueError(f"case {case.id} has no order to remedy")
    if op is Operation.RESHIP_ORDER:
        if amount is not None:
            raise ValueError("a reship takes no amount")
        payload: dict[str, Any] = {"order_id": case.order_id, "note": note}
    else:
        payload = {"order_id": case.order_id, "notify_customer": notify_customer,
                   "amount": None if amount is None else str(amount.amount),
                   "currency": None if amount is None else amount.currency}
    return [OutboxOp(op, payload, _key(case, op), system=STORE)]


# --- a return a returns platform owns (Loop) -----------------------------------------------
# Its decision is carried out in the platform, on the platform's return, never on the
# store's (the platform does that). Every decision also writes a note there.

DENY_AS = ("close", "cancel")  # a platform deny: close it (for good), or cancel it (they may try again)


def _platform_op(case: CaseRecord, op: Operation, payload: dict[str, Any] | None = None, *,
                 suffix: str = "") -> OutboxOp:
    return OutboxOp(op, {"return_id": case.decided_ref, **(payload or {})},
                    f"returnsbot:{case.decided_in}:case-{case.id}:{op.value}{suffix}", system=case.decided_in)


def platform_note_op(case: CaseRecord, text: str, *, what: str) -> OutboxOp:
    return _platform_op(case, Operation.NOTE_RETURN, {"text": text}, suffix=f":{what}")


def platform_process_op(case: CaseRecord) -> OutboxOp:
    return _platform_op(case, Operation.PROCESS_RETURN)


def platform_approval_ops(case: CaseRecord, note: str, *, process_now: bool) -> list[OutboxOp]:
    """The note, and the processing when it is due now (else it waits: for the platform
    to open a return in its review queue, or for the items to arrive)."""
    ops = [platform_note_op(case, note, what="approved")]
    if process_now:
        ops.append(platform_process_op(case))
    return ops


def platform_deny_ops(case: CaseRecord, note: str, *, deny_as: str) -> list[OutboxOp]:
    if deny_as not in DENY_AS:
        raise ValueError(f"deny_as must be one of {DENY_AS}, got {deny_as!r}")
    op = Operation.CLOSE_RETURN if deny_as == "close" else Operation.CANCEL_RETURN
    return [platform_note_op(case, note, what="denied"), _platform_op(case, op)]


def platform_hold_ops(case: CaseRecord, note: str) -> list[OutboxOp]:
    """Escalated: held in the platform (flagged, with the reason), so it doesn't process
    by itself while the next tier looks."""
    return [_platform_op(case, Operation.FLAG_RETURN, {"text": note})]
