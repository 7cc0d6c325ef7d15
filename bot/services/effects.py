"""What a decision does in the store systems, as outbox operations.

Keys are deterministic (case id + operation), so deciding twice can never queue a second
refund: the outbox's unique key refuses it, and the vendor call carries the same key.
"""

from __future__ import annotations

from bot.store import CaseRecord, OutboxOp
from policy.models import Action, CaseKind, DeclineReason, decline_reason_for
from policy.ports import Operation


def _key(case: CaseRecord, op: Operation) -> str:
    return f"returnsbot:{case.source}:case-{case.id}:{op.value}"


def approval_ops(case: CaseRecord, outcome: Action, *, notify_customer: bool = True) -> list[OutboxOp]:
    """Approving a return request carries out the recommended outcome."""
    if case.kind is not CaseKind.RETURN_REQUEST:
        return []  # order/refund/dispute reviews are acknowledgements: nothing to execute
    if outcome is Action.DENY:
        return decline_ops(case, reason=(decline_reason_for(case.signal_codes) or DeclineReason.OTHER).value, note=None, notify_customer=notify_customer)
    amount = {"amount": str(case.amount.amount), "currency": case.amount.currency}
    ops = [
        OutboxOp(
            Operation.APPROVE_RETURN,
            {"return_id": case.external_id, "notify_customer": notify_customer},
            _key(case, Operation.APPROVE_RETURN),
        )
    ]
    if outcome is Action.REFUND:
        ops.append(
            OutboxOp(
                Operation.REFUND_RETURN,
                {"return_id": case.external_id, "notify_customer": notify_customer, **amount},
                _key(case, Operation.REFUND_RETURN),
            )
        )
    elif outcome is Action.STORE_CREDIT:
        ops.append(
            OutboxOp(
                Operation.ISSUE_STORE_CREDIT,
                {"customer_id": case.customer_id, **amount},
                _key(case, Operation.ISSUE_STORE_CREDIT),
            )
        )
    # EXCHANGE: approving the request releases the exchange items the customer chose.
    return ops


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
