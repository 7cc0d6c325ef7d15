"""A refund on an order with no store return behind it: the return a support ticket asked
for, decided in Slack (`ShopifyStore.refund_order`; docs/DECISIONS.md "A return ticket
decides the return").

`refundCreate` with transactions only: the money back to the order's payments
(`refunds.allocate`, in the order's presentment currency), the items named in the note.
No `refundLineItems`: the items have not come back, so nothing is restocked and Shopify's
line quantities stay as they are. Exactly once, as the shipping refund: the order's refunds
are read first and one whose note carries our marker (`returnsbot:<key>`) is this refund
already made; the mutation carries `@idempotent(key:)`, a UUID derived from the action's
key, so a request whose answer was lost is replayed by Shopify, not applied twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from integrations.shopify import documents as doc
from integrations.shopify import refunds as rf
from integrations.shopify.client import SYSTEM
from policy.models import Money
from policy.ports import ActionResult, IntegrationError

if TYPE_CHECKING:
    from integrations.shopify.source import ShopifyStore

NOTE_ITEMS_CHARS = 200


def _refused(message: str) -> IntegrationError:
    return IntegrationError(message, retryable=False, system=SYSTEM)


def refund_order(store: ShopifyStore, order_id: str, *, amount: Money, items: str | None, notify_customer: bool,
                 idempotency_key: str) -> ActionResult:
    # source.py imports this module: its helpers are imported when called, not at import time.
    from integrations.shopify.source import _gid, _refund_marker, _user_errors, shopify_idempotency_key

    oid = _gid("Order", order_id)
    if amount.amount <= 0:
        raise _refused(f"refund amount must be positive, got {amount}")
    order = store._one(doc.ORDER_REFUND_CONTEXT, {"id": oid}, "order", oid)
    label = order.get("name") or oid
    marker = _refund_marker(idempotency_key)
    if (earlier := rf.marked_refund(order.get("refunds"), marker)) is not None:
        return store._done("refund_order", idempotency_key, f"refund {amount} was already issued for order {label}",
                           earlier["id"], repeat=True)
    cur = rf.Currencies.of(order)
    try:
        cur.side(amount.currency)
        shares = rf.allocate(amount, order.get("transactions") or [], cur)
    except rf.PlanError as exc:
        raise _refused(f"{exc} (order {label})") from None
    what = f" — {items[:NOTE_ITEMS_CHARS]}" if items else ""
    refund_input = {
        "orderId": oid,
        "currency": cur.presentment,
        "note": f"Refund for order {label}{what} ({marker})",
        "notify": bool(notify_customer),
        "transactions": rf.refund_transactions(oid, shares),
    }
    payload = store._mutate(doc.REFUND_ORDER_CREATE,
                            {"input": refund_input, "key": shopify_idempotency_key(idempotency_key)}, "refundCreate")
    errors = payload.get("userErrors") or []
    if errors:
        raise _user_errors("refunding order", label, errors)
    refund = payload.get("refund") or {}
    back = sum((s.amount.amount for s in shares), Decimal(0))
    shown = f" ({Money(amount=back, currency=cur.presentment)} to the customer)" if cur.multi and \
        amount.currency != cur.presentment else ""
    return store._done("refund_order", idempotency_key, f"refund {amount} issued for order {label}{shown}",
                       refund.get("id"))
