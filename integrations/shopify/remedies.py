"""The delayed-shipment remedies in Shopify: refund the shipping, reship the order.
`ShopifyStore.refund_shipping` / `reship_order` call these with the store.

Refund shipping — `refundCreate` with `shipping` (an amount, or `fullRefund` for all that is
left) and transactions for the same money back to the order's payments (`refunds.allocate`),
in the order's presentment currency. Exactly once: the order's refunds are read first and
one whose note carries our marker (`returnsbot:<key>`) is this refund already made; the
mutation carries `@idempotent(key:)`, a UUID derived from the action's key, so a request
whose answer was lost is replayed by Shopify, not applied twice.

Reship — a draft order for the undelivered items (each line discounted 100%, free
shipping, tagged `returnsbot-reship`, the customer and shipping address of the order),
completed as paid: a $0 order Shopify fulfils like any other. `orderCreate` would be one
call, but neither it nor the draft mutations take an idempotency key, and an order found
only by search (the index lags) can be missed by a retry. So the order keeps a ledger,
the JSON metafield `returnsbot.reships`, written with compare-and-set: the draft's id is
recorded before it is completed, and a retry reads the ledger — completed (the draft names
its order) is a repeat, a draft still open is completed, no entry is a new draft. Two
workers racing both create a draft; only the one whose ledger write wins is completed, the
other deletes its own. A crash between creating a draft and recording it leaves a draft
that is never completed (tagged, so it can be found and deleted): a draft ships nothing.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from integrations.shopify import documents as doc
from integrations.shopify import mapping as m
from integrations.shopify import refunds as rf
from integrations.shopify.client import SYSTEM
from policy.models import Money
from policy.ports import ActionResult, IntegrationError, NotFound

if TYPE_CHECKING:
    from integrations.shopify.source import ShopifyStore

log = logging.getLogger(__name__)

REPLACEMENT_TAG = "returnsbot-reship"
_DELIVERED = ("DELIVERED", "PICKED_UP")
_SHIPPED = ("SUCCESS",)  # a fulfilment that left the warehouse (not cancelled, not failed)


def _refused(message: str) -> IntegrationError:
    return IntegrationError(message, retryable=False, system=SYSTEM)


# --- refund shipping ------------------------------------------------------------------------


def refund_shipping(store: ShopifyStore, order_id: str, *, amount: Money | None, notify_customer: bool,
                    idempotency_key: str) -> ActionResult:
    # source.py imports this module: its helpers are imported when called, not at import time.
    from integrations.shopify.source import _gid, _refund_marker, _user_errors, shopify_idempotency_key

    oid = _gid("Order", order_id)
    order = store._one(doc.ORDER_SHIPPING_REFUND_CONTEXT, {"id": oid}, "order", oid)
    label = order.get("name") or oid
    marker = _refund_marker(idempotency_key)
    if (earlier := rf.marked_refund(order.get("refunds"), marker)) is not None:
        return store._done("refund_shipping", idempotency_key,
                           f"shipping refund was already issued for order {label}", earlier["id"], repeat=True)
    cur = rf.Currencies.of(order)
    try:
        side = cur.side(amount.currency) if amount is not None else "shopMoney"
    except rf.PlanError as exc:
        raise _refused(f"{exc} ({label})") from None
    if amount is not None and amount.amount <= 0:
        raise _refused(f"shipping refund must be positive, got {amount}")
    charged = rf._bag(order["totalShippingPriceSet"], side)
    left = charged - rf._bag(order["totalRefundedShippingSet"], side)
    if left.amount <= 0:
        raise _refused(f"order {label} has no shipping left to refund (charged {charged})")
    if amount is not None and amount > left:
        raise _refused(f"shipping refund {amount} is more than the {left} of shipping left to refund on order {label}")
    wanted = left if amount is None else amount
    # The same money in the presentment currency: what Shopify wants for shipping and transactions.
    back = rf.shipping_refund(wanted, Money.zero(wanted.currency), order, cur)
    if back is None:
        raise _refused(f"order {label} has no shipping left to refund")
    presentment = Money(amount=Decimal(back["shippingRefundAmount"]["amount"]), currency=cur.presentment)
    try:
        shares = rf.allocate(presentment, order.get("transactions") or [], cur)
    except rf.PlanError as exc:
        raise _refused(f"{exc} (shipping of order {label})") from None
    shipping = {"fullRefund": True} if amount is None else {"amount": str(presentment.amount)}
    refund_input = {
        "orderId": oid,
        "currency": cur.presentment,
        "note": f"Shipping refund for order {label} ({marker})",
        "notify": bool(notify_customer),
        "shipping": shipping,
        "transactions": rf.refund_transactions(oid, shares),
    }
    payload = store._mutate(doc.REFUND_SHIPPING_CREATE,
                            {"input": refund_input, "key": shopify_idempotency_key(idempotency_key)}, "refundCreate")
    errors = payload.get("userErrors") or []
    if errors:
        raise _user_errors("refunding the shipping of order", label, errors)
    refund = payload.get("refund") or {}
    shown = f" ({presentment} to the customer)" if cur.multi and wanted.currency != cur.presentment else ""
    return store._done("refund_shipping", idempotency_key,
                       f"shipping refund {wanted} issued for order {label}{shown}", refund.get("id"))


# --- reship -----------------------------------------------------------------------------------


def undelivered(order: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """(line, quantity) shipped and not delivered: in a successful fulfilment whose parcel
    has not arrived. What was never shipped is not here: the order itself still owes it."""
    owed: dict[str, int] = {}
    for f in order.get("fulfillments") or []:
        if f.get("status") not in _SHIPPED or f.get("displayStatus") in _DELIVERED:
            continue
        for fli in m.nodes(f.get("fulfillmentLineItems")):
            line_id = (fli.get("lineItem") or {}).get("id")
            if line_id:
                owed[line_id] = owed.get(line_id, 0) + int(fli.get("quantity") or 0)
    lines = {li["id"]: li for li in m.nodes(order.get("lineItems"))}
    return [(lines[i], min(q, int(lines[i].get("quantity") or q))) for i, q in owed.items() if q > 0 and i in lines]


def _draft_input(order: dict[str, Any], items: list[tuple[dict[str, Any], int]], note: str | None,
                 marker: str) -> dict[str, Any]:
    currency = order["currencyCode"]
    lines = []
    for li, qty in items:
        variant = (li.get("variant") or {}).get("id")
        if variant:
            line: dict[str, Any] = {"variantId": variant, "quantity": qty}
        else:  # a custom item (or its product is gone): the same title and price, discounted away
            price = rf._bag(li["originalUnitPriceSet"], "shopMoney")
            line = {"title": li["title"], "sku": li.get("sku"), "quantity": qty, "requiresShipping": True,
                    "originalUnitPriceWithCurrency": {"amount": str(price.amount), "currencyCode": price.currency}}
        line["appliedDiscount"] = {"valueType": "PERCENTAGE", "value": 100.0, "title": "Replacement"}
        lines.append(line)
    why = f": {note}" if note else ""
    draft: dict[str, Any] = {
        "lineItems": lines,
        "shippingLine": {"title": "Replacement shipment", "priceWithCurrency": {"amount": "0", "currencyCode": currency}},
        "tags": [REPLACEMENT_TAG],
        "note": f"Replacement for order {order.get('name')}{why} ({marker})",
    }
    if (order.get("customer") or {}).get("id"):
        draft["purchasingEntity"] = {"customerId": order["customer"]["id"]}
    if order.get("email"):
        draft["email"] = order["email"]
    address = order.get("shippingAddress")
    if address:
        fields = {k: v for k, v in address.items() if v is not None and k != "countryCodeV2"}
        if address.get("countryCodeV2"):
            fields["countryCode"] = address["countryCodeV2"]
        draft["shippingAddress"] = fields
    return draft


def reship_order(store: ShopifyStore, order_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
    from integrations.shopify.source import _gid, _refund_marker, _user_errors

    oid = _gid("Order", order_id)
    order = store._one(doc.ORDER_RESHIP_CONTEXT,
                       {"id": oid, "namespace": doc.RESHIP_NAMESPACE, "key": doc.RESHIP_KEY}, "order", oid)
    label = order.get("name") or oid
    metafield = order.get("metafield")
    digest = metafield.get("compareDigest") if metafield else None
    ledger = _load(metafield, label)
    entry = ledger.get(idempotency_key) or {}

    if entry.get("order"):
        return store._done("reship_order", idempotency_key, f"order {label} was already reshipped", entry["order"],
                           repeat=True)
    if entry.get("draft"):  # recorded, maybe not completed: finish it
        return _complete(store, oid, label, entry["draft"], ledger, digest, idempotency_key)

    if order.get("cancelledAt"):
        raise _refused(f"order {label} is cancelled: nothing to reship")
    if m.page_info(order.get("lineItems"))[0]:
        raise _refused(f"order {label} has more than 50 lines: reship it from the Shopify admin")
    items = undelivered(order)
    if not items:
        shipped = any(f.get("status") in _SHIPPED for f in order.get("fulfillments") or [])
        raise _refused(f"order {label} was delivered: nothing to reship" if shipped else
                       f"order {label} has not shipped yet: nothing to reship (the order itself still owes its items)")
    marker = _refund_marker(idempotency_key)
    created = store._mutate(doc.DRAFT_ORDER_CREATE, {"input": _draft_input(order, items, note, marker)},
                            "draftOrderCreate")
    if created.get("userErrors"):
        raise _user_errors("creating the replacement for order", label, created["userErrors"])
    draft = (created.get("draftOrder") or {}).get("id")
    if not draft:
        raise IntegrationError(f"Shopify created no draft order for the replacement of {label}", system=SYSTEM)
    ledger[idempotency_key] = {"draft": draft, "at": m.iso(store._now())}
    try:
        digest = store._write_ledger(oid, ledger, digest, key=doc.RESHIP_KEY)
    except IntegrationError:
        _delete_quietly(store, draft)  # another attempt recorded its draft first: only that one ships
        raise
    return _complete(store, oid, label, draft, ledger, digest, idempotency_key)


def _complete(store: ShopifyStore, oid: str, label: str, draft_id: str, ledger: dict[str, Any], digest: str | None,
              key: str) -> ActionResult:
    from integrations.shopify.source import _user_errors

    state = store.client.execute(doc.DRAFT_ORDER_STATE, {"id": draft_id}).get("draftOrder")
    if state is None:
        raise _refused(f"the replacement draft {draft_id} of order {label} was deleted in Shopify; check the order "
                       f"and reship it from the admin")
    repeat = state.get("order") is not None
    made = state.get("order")
    if not repeat:
        payload = store._mutate(doc.DRAFT_ORDER_COMPLETE, {"id": draft_id}, "draftOrderComplete")
        if payload.get("userErrors"):
            again = store.client.execute(doc.DRAFT_ORDER_STATE, {"id": draft_id}).get("draftOrder") or {}
            if again.get("order") is None:
                raise _user_errors("completing the replacement for order", label, payload["userErrors"])
            made, repeat = again["order"], True  # an earlier attempt, whose answer was lost, completed it
        else:
            made = ((payload.get("draftOrder") or {}).get("order")) or {}
    ledger[key] = {**ledger.get(key, {}), "draft": draft_id, "order": made.get("id")}
    try:
        store._write_ledger(oid, ledger, digest, key=doc.RESHIP_KEY)
    except IntegrationError as exc:  # best effort: the draft names its order on a retry
        log.warning("shopify.reship.ledger_write_failed order_id=%s error=%s", oid, exc)
    summary = (f"order {label} was already reshipped" if repeat else
               f"replacement order {made.get('name') or made.get('id')} created for order {label} (no charge)")
    return store._done("reship_order", key, summary, made.get("id"), repeat=repeat)


def _delete_quietly(store: ShopifyStore, draft_id: str) -> None:
    try:
        store._mutate(doc.DRAFT_ORDER_DELETE, {"input": {"id": draft_id}}, "draftOrderDelete")
    except (IntegrationError, NotFound) as exc:
        log.warning("shopify.reship.orphan_draft draft_id=%s error=%s", draft_id, exc)


def _load(metafield: dict[str, Any] | None, label: str) -> dict[str, Any]:
    if not metafield or not metafield.get("value"):
        return {}
    try:
        value = json.loads(metafield["value"])
    except ValueError:
        raise _refused(f"order {label}'s returnsbot.reships metafield is not JSON; fix or delete it in Shopify") from None
    return value if isinstance(value, dict) else {}
