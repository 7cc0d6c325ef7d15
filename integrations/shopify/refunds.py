"""Planning a return's refund: which payments give the money back, in which currency, what
is shipping, and what happens to the returned items. Pure functions over the JSON of
`documents.RETURN_PROCESS_CONTEXT`; `source.ShopifyStore.refund_return` sends the plan.

The currency reading (a multi-currency order is paid in its *presentment* currency, the
customer's, and booked in the shop's):
- The bot decides amounts in shop money, the currency its policy and thresholds speak;
  `amount` may also be given in the order's presentment currency. Any other currency is
  refused.
- Shopify wants `returnProcess`'s `orderTransactions` (and `refundCreate`'s transactions)
  in the order's presentment currency. So the refund is spread over the order's successful
  SALE/CAPTURE transactions, oldest first, each up to what it can still give back (its
  amount less its REFUND children, counted in the amount's currency), and each share is
  sent in presentment money: the share itself when `amount` is in presentment money; else
  the transaction's own presentment amount scaled by the share (the rate that transaction
  was charged at), rounded half-up to the currency's minor unit — and exactly what is left
  of it when the share takes all of it, so that refunding a whole order leaves no cent.
- A refund already on the return counts as this one when it matches `amount` in that
  currency (exactly for a single-currency order; within a minor unit per payment when the
  shop amount had to be converted).
- Shipping is refunded only with what `amount` holds beyond the value of the items being
  processed (in the same currency), up to the shipping not refunded yet.
- Dispositions: an item goes back to stock at the location its fulfillment shipped from,
  when Shopify names it; a line returned as defective is recorded NOT_RESTOCKED instead.
  Items whose location is unknown, or whose reverse-fulfillment line is disposed already,
  get no disposition (the merchant decides in Shopify).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from integrations.shopify import mapping as m
from policy.models import Money

Node = Mapping[str, Any]

_PAID = ("SALE", "CAPTURE")
_REFUND_COUNTED = ("SUCCESS", "PENDING")
DEFECTIVE = "DEFECTIVE"


class PlanError(ValueError):
    """The refund cannot be planned as asked (the message says why, in one line)."""


@dataclass(frozen=True)
class Currencies:
    shop: str
    presentment: str

    @classmethod
    def of(cls, order: Node) -> Currencies:
        shop = str(order["currencyCode"])
        return cls(shop=shop, presentment=str(order.get("presentmentCurrencyCode") or shop))

    @property
    def multi(self) -> bool:
        return self.shop != self.presentment

    def side(self, currency: str) -> str:
        """Which side of a MoneyBag holds `currency`: shopMoney or presentmentMoney."""
        if currency == self.shop:
            return "shopMoney"
        if currency == self.presentment:
            return "presentmentMoney"
        shown = self.shop if not self.multi else f"{self.shop} (charged in {self.presentment})"
        raise PlanError(f"the refund is in {currency} but the order is in {shown}")


@dataclass(frozen=True)
class Share:
    """Part of the refund going back through one payment, in presentment money."""

    parent_id: str
    gateway: str | None
    amount: Money
    manual: bool = False  # the parent is on a manual gateway: a refund of it moves no money


def refund_transactions(order_id: str, shares: Iterable[Share]) -> list[dict[str, Any]]:
    """refundCreate's `transactions`: each share back through the payment it came from."""
    return [{"orderId": order_id, "parentId": s.parent_id, "kind": "REFUND", "gateway": s.gateway or "",
             "amount": str(s.amount.amount)} for s in shares]


def marked_refund(refunds: Iterable[Node] | None, marker: str) -> Node | None:
    """The order's refund whose note carries our marker (an earlier attempt made it), if any."""
    return next((r for r in refunds or () if marker in str(r.get("note") or "")), None)


def _bag(value: Node | None, side: str) -> Money:
    if value is None or value.get(side) is None:
        raise ValueError(f"a money bag without {side}")
    return m.money(value[side])


def _quantize(amount: Decimal, currency: str) -> Decimal:
    return Money(amount=amount, currency=currency).quantized()


def allocate(amount: Money, transactions: Iterable[Node], cur: Currencies) -> list[Share]:
    """Spread `amount` over the successful SALE/CAPTURE transactions, net of their refunds."""
    side = cur.side(amount.currency)
    txs = list(transactions)
    refunded: dict[str, dict[str, Decimal]] = {}
    for t in txs:
        parent = (t.get("parentTransaction") or {}).get("id")
        if t.get("kind") == "REFUND" and t.get("status") in _REFUND_COUNTED and parent:
            per = refunded.setdefault(parent, {"shopMoney": Decimal(0), "presentmentMoney": Decimal(0)})
            for s in per:
                per[s] += _bag(t["amountSet"], s).amount
    remaining = amount.amount
    shares: list[Share] = []
    for t in txs:
        if remaining <= 0:
            break
        if t.get("kind") not in _PAID or t.get("status") != "SUCCESS":
            continue
        paid_in = _bag(t["amountSet"], side)
        paid_pres = _bag(t["amountSet"], "presentmentMoney")
        if paid_in.currency != amount.currency or paid_pres.currency != cur.presentment:
            continue
        done = refunded.get(t["id"], {"shopMoney": Decimal(0), "presentmentMoney": Decimal(0)})
        left = paid_in.amount - done[side]
        left_pres = paid_pres.amount - done["presentmentMoney"]
        take = min(left, remaining)
        if take <= 0 or left_pres <= 0:
            continue
        if side == "presentmentMoney":
            out = take
        elif take == left:
            out = left_pres
        else:
            out = min(left_pres, _quantize(take * paid_pres.amount / paid_in.amount, cur.presentment))
        if out > 0:
            shares.append(Share(parent_id=t["id"], gateway=t.get("gateway"), amount=Money(amount=out, currency=cur.presentment),
                                manual=bool(t.get("manualPaymentGateway"))))
        remaining -= take
    if remaining > 0:
        can = Money(amount=amount.amount - remaining, currency=amount.currency)
        raise PlanError(f"only {can} can go back to the original payment; asked for {amount}")
    return shares


def matches(refund_bag: Node, amount: Money, cur: Currencies, payments: int) -> bool:
    """Is a refund of `refund_bag` the refund of `amount`? (See the module's reading.)"""
    side = cur.side(amount.currency)
    got = _bag(refund_bag, side)
    if got.currency != amount.currency:
        return False
    if not cur.multi or side == "presentmentMoney":
        return got.amount == amount.amount
    tolerance = Decimal(1).scaleb(-amount.exponent) * max(1, payments)
    return abs(got.amount - amount.amount) <= tolerance


def payments(transactions: Iterable[Node]) -> int:
    return sum(1 for t in transactions if t.get("kind") in _PAID and t.get("status") == "SUCCESS")


def items_value(lines: Iterable[Node], quantities: Mapping[str, int], currency: str, cur: Currencies) -> Money | None:
    """What the items being processed are worth in `currency` (None if a price is unknown)."""
    side = cur.side(currency)
    total = Decimal(0)
    for line in lines:
        qty = quantities.get(line["id"], 0)
        if qty <= 0:
            continue
        li = ((line.get("fulfillmentLineItem") or {}).get("lineItem")) or None
        if li is not None:
            price = _bag(li["discountedUnitPriceAfterAllDiscountsSet"], side)
        elif line.get("unitPrice"):
            price = m.money(line["unitPrice"])
        else:
            return None
        if price.currency != currency:
            return None
        total += price.amount * qty
    return Money(amount=total, currency=currency)


def shipping_refund(amount: Money, items: Money | None, order: Node, cur: Currencies) -> dict[str, Any] | None:
    """`refundShipping` for what `amount` holds beyond the items, up to the shipping left."""
    if items is None or amount.amount <= items.amount:
        return None
    side = cur.side(amount.currency)
    total, refunded = order.get("totalShippingPriceSet"), order.get("totalRefundedShippingSet")
    if not total:
        return None
    left = _bag(total, side).amount - (_bag(refunded, side).amount if refunded else Decimal(0))
    extra = min(amount.amount - items.amount, left)
    if extra <= 0:
        return None
    pres_total = _bag(total, "presentmentMoney").amount
    pres_left = pres_total - (_bag(refunded, "presentmentMoney").amount if refunded else Decimal(0))
    if side == "presentmentMoney":
        out = extra
    elif extra == left:
        out = pres_left
    else:
        out = _quantize(extra * pres_total / _bag(total, side).amount, cur.presentment)
    return {"shippingRefundAmount": {"amount": str(out), "currencyCode": cur.presentment}}


def restock_locations(order: Node) -> dict[str, str]:
    """Fulfillment line item id → the location its fulfillment shipped from."""
    out: dict[str, str] = {}
    for f in order.get("fulfillments") or []:
        location = (f.get("location") or {}).get("id")
        if not location:
            continue
        for fli in m.nodes(f.get("fulfillmentLineItems")):
            out.setdefault(fli["id"], location)
    return out


def dispositions(line: Node, quantity: int, ret: Node, locations: Mapping[str, str]) -> list[dict[str, Any]]:
    """What happens to `quantity` items of a return line, where it is known (see above)."""
    fli = (line.get("fulfillmentLineItem") or {}).get("id")
    if not fli:
        return []
    for rfo in m.nodes(ret.get("reverseFulfillmentOrders")):
        for item in m.nodes(rfo.get("lineItems")):
            if (item.get("fulfillmentLineItem") or {}).get("id") != fli:
                continue
            undisposed = int(item.get("totalQuantity") or 0) - sum(int(d.get("quantity") or 0) for d in item.get("dispositions") or [])
            qty = min(quantity, undisposed)
            if qty <= 0:
                return []
            if m.reason_code(line) == DEFECTIVE:
                return [{"reverseFulfillmentOrderLineItemId": item["id"], "quantity": qty, "dispositionType": "NOT_RESTOCKED"}]
            location = locations.get(fli)
            if not location:
                return []
            return [{"reverseFulfillmentOrderLineItemId": item["id"], "quantity": qty,
                     "dispositionType": "RESTOCKED", "locationId": location}]
    return []
