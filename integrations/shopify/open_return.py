"""A store return opened for a return asked for in a support ticket and approved in Slack
(`ShopifyStore.open_return`; docs/DECISIONS.md "A ticket's return is opened in the store").

`returnCreate` makes an OPEN (approved) return for the asked order lines, each mapped to the
fulfillment line items that shipped it. `returnCreate` takes no idempotency key, so exactly
once is check-before-act: every line's `returnReasonNote` carries our marker
(`returnsbot:<key>`), and before creating, the order's returns are read and one whose lines
carry the marker is this return already opened (an answer lost, a crash, a retry).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from integrations.shopify import documents as doc
from integrations.shopify import mapping as m
from integrations.shopify.client import SYSTEM
from policy.ports import ActionResult, IntegrationError

if TYPE_CHECKING:
    from integrations.shopify.source import ShopifyStore

NOTE_CHARS = 255  # Shopify's limit on returnReasonNote
REASON = "OTHER"  # the ticket's words are in the note; the legacy enum is all 2025-01 requires


def _refused(message: str) -> IntegrationError:
    return IntegrationError(message, retryable=False, system=SYSTEM)


def _note(marker: str, reason_note: str | None) -> str:
    """The marker first, so cutting to Shopify's limit never cuts it."""
    text = f"{marker} {reason_note or ''}".strip()
    return text[:NOTE_CHARS]


def fulfillment_lines(order: dict, lines: list[tuple[str, int]]) -> list[dict]:
    """The return's lines: each order line's quantity taken from the fulfillment line items
    that shipped it. A line not shipped (or not that many) is refused: nothing to return."""
    shipped: dict[str, list[tuple[str, int]]] = {}
    for f in order.get("fulfillments") or []:
        for fli in m.nodes(f.get("fulfillmentLineItems")):
            li = (fli.get("lineItem") or {}).get("id")
            if li:
                shipped.setdefault(li, []).append((fli["id"], int(fli.get("quantity") or 0)))
    out: list[dict] = []
    for line_id, quantity in lines:
        if quantity <= 0:
            raise _refused(f"return quantity must be positive, got {quantity} for line {line_id}")
        left = quantity
        for fli_id, qty in shipped.get(line_id, []):
            take = min(left, qty)
            if take > 0:
                out.append({"fulfillmentLineItemId": fli_id, "quantity": take})
                left -= take
            if left == 0:
                break
        if left:
            raise _refused(f"line {line_id} of order {order.get('name') or order.get('id')}: only "
                           f"{quantity - left} of {quantity} shipped, nothing to return for the rest")
    return out


def open_return(store: ShopifyStore, order_id: str, *, lines: list[tuple[str, int]], reason_note: str | None,
                requested_at: datetime | None, idempotency_key: str) -> ActionResult:
    from integrations.shopify.source import _gid, _refund_marker, _user_errors

    oid = _gid("Order", order_id)
    if not lines:
        raise _refused("a return needs at least one line")
    order = store._one(doc.ORDER_OPEN_RETURN_CONTEXT, {"id": oid}, "order", oid)
    label = order.get("name") or oid
    marker = _refund_marker(idempotency_key)
    for ret in m.nodes(order.get("returns")):
        if any(marker in str(li.get("returnReasonNote") or "") for li in m.nodes(ret.get("returnLineItems"))):
            return store._done("open_return", idempotency_key,
                               f"return {ret.get('name') or ret['id']} was already opened on order {label}",
                               ret["id"], repeat=True)
    note = _note(marker, reason_note)
    return_input: dict = {
        "orderId": oid,
        "returnLineItems": [{**line, "returnReason": REASON, "returnReasonNote": note}
                            for line in fulfillment_lines(order, lines)],
    }
    if requested_at is not None:
        return_input["requestedAt"] = requested_at.isoformat()
    payload = store._mutate(doc.RETURN_CREATE, {"returnInput": return_input}, "returnCreate")
    errors = payload.get("userErrors") or []
    if errors:
        raise _user_errors("opening a return on order", label, errors)
    ret = payload.get("return") or {}
    return store._done("open_return", idempotency_key, f"return {ret.get('name') or ret.get('id')} opened on "
                       f"order {label}", ret.get("id"))
