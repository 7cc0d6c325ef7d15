"""Which order a Stripe payment belongs to, and how we know: strongest evidence first.

1. TRANSACTION: the store's order whose payment transaction names the charge or its
   payment intent (a Shopify transaction of a Stripe gateway carries the ch_/pi_ id as its
   payment id or in its receipt): a store that can find the order by payment
   (`order_for_payment(ids)`) is asked directly; otherwise each candidate the steps below
   find is checked against its order's transactions (`payment_references(order_id)`), and
   a candidate they confirm is a TRANSACTION link.
2. METADATA: the charge's (or its payment intent's) metadata names the order: keys
   `order_id` (the store's order id, gid or number) or `order_name` ("#1001"), also
   `shopify_order_id` / `shopify_order_name`. Checked against the store: a named order that
   does not exist is no link.
3. EMAIL_AMOUNT (the fallback): exactly one of the orders placed with the charge's email
   has the charge's amount and currency and was placed within a day of it. Two or more
   candidates is no link: we never pick one silently.

No link: the warning cannot become a case (it needs an order); the job says why.
"""

from __future__ import annotations

from datetime import timedelta

from integrations.stripe.mapping import money, when
from policy.models import Order
from policy.payments import LinkMethod, PaymentLink
from policy.ports import NotFound

SYSTEM = "stripe"
ORDER_ID_KEYS = ("order_id", "shopify_order_id")
ORDER_NAME_KEYS = ("order_name", "shopify_order_name")
FALLBACK_WINDOW = timedelta(days=1)


def link_charge(charge: dict, store) -> tuple[Order, PaymentLink] | None:
    ids = payment_ids(charge)
    finder = getattr(store, "order_for_payment", None)
    if finder is not None:
        order = finder(tuple(ids))
        if order is not None:
            return order, _link(charge, order, LinkMethod.TRANSACTION, f"transaction names {ids[0]}")
    found = _candidate(charge, store)
    if found is None:
        return None
    order, link = found
    named = _named_by_transactions(store, order.id, ids)
    if named is not None:
        return order, _link(charge, order, LinkMethod.TRANSACTION, f"the order's transaction names {named}")
    return order, link


def payment_ids(charge: dict) -> list[str]:
    return [charge["id"], *([charge["payment_intent"]] if isinstance(charge.get("payment_intent"), str) else [])]


def stripe_ids(references) -> list[str]:
    """The Stripe charge / payment intent ids among an order's payment references."""
    return [r.reference for r in references if r.reference.startswith(("ch_", "pi_"))]


def _named_by_transactions(store, order_id: str, ids: list[str]) -> str | None:
    refs = getattr(store, "payment_references", None)
    if refs is None:
        return None
    try:
        named = set(stripe_ids(refs(order_id)))
    except NotFound:
        return None
    return next((i for i in ids if i in named), None)


def _candidate(charge: dict, store) -> tuple[Order, PaymentLink] | None:
    metadata = charge.get("metadata") or {}
    for key in ORDER_ID_KEYS:
        if metadata.get(key):
            order = _by_id(store, str(metadata[key]))
            if order is not None:
                return order, _link(charge, order, LinkMethod.METADATA, f"metadata {key}={metadata[key]}")
    for key in ORDER_NAME_KEYS:
        if metadata.get(key):
            name = str(metadata[key])
            found = [o for o in store.find_orders(name, limit=2) if o.number == name.lstrip("#")]
            if len(found) == 1:
                return found[0], _link(charge, found[0], LinkMethod.METADATA, f"metadata {key}={name}")
    email = charge.get("receipt_email") or (charge.get("billing_details") or {}).get("email")
    if email:
        amount, created = money(charge["amount"], charge["currency"]), when(charge["created"])
        near = [o for o in store.find_orders(email, limit=20)
                if o.total == amount and abs(o.created_at - created) <= FALLBACK_WINDOW]
        if len(near) == 1:
            return near[0], _link(charge, near[0], LinkMethod.EMAIL_AMOUNT, f"email {email}, {amount}")
    return None


def _by_id(store, value: str) -> Order | None:
    gid = value if value.startswith("gid://") else f"gid://shopify/Order/{value}" if value.isdigit() else value
    try:
        return store.get_order(gid)
    except NotFound:
        return None


def _link(charge: dict, order: Order, method: LinkMethod, detail: str) -> PaymentLink:
    return PaymentLink(system=SYSTEM, payment_id=charge["id"], order_id=order.id, method=method, detail=detail)
