"""Other shops made from the bundled sample data, so the demo and the tests can run a shop
that does not price in US dollars without a second data file.

* `eur`: Ridgeline Outfitters Europe — the same catalogue and customers priced in euros,
  in Europe/Berlin, plus one order a UK customer paid in pounds (a multi-currency order:
  shop money EUR, charged GBP) with a return request waiting in the feed.
* `jpy`: a yen shop (zero-decimal currency) in Asia/Tokyo, every price × 100.

`derive(data, name)` returns a new dict in the bundled JSON's shape; the bundled data
itself is the default shop (`us`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from policy.models import Money


@dataclass(frozen=True)
class Variant:
    currency: str
    timezone: str
    name: str
    domain: str
    scale: Decimal = Decimal(1)  # every price × scale (a yen shop's numbers)
    extra: Callable[[dict[str, Any]], None] = field(default=lambda data: None)


def _uk_customer_paid_in_pounds(data: dict[str, Any]) -> None:
    """Oliver Hughes (London) paid £124.10 for shoes priced €145.00, and wants to return them."""
    data["customers"].append({
        "id": "gid://shopify/Customer/6001000901", "first_name": "Oliver", "last_name": "Hughes",
        "email": "oliver.hughes@example.co.uk", "tags": [], "created_days_ago": 40.0,
        "persona": "UK customer: pays in pounds (multi-currency order)",
    })
    data["orders"].append({
        "id": "gid://shopify/Order/5001000901", "name": "#1901", "customer_id": "gid://shopify/Customer/6001000901",
        "email": "oliver.hughes@example.co.uk", "created_days_ago": 12.0, "currency": "EUR",
        "shipping": "0.00", "total": "145.00",
        "presentment_currency": "GBP", "presentment_shipping": "0.00", "presentment_total": "124.10",
        "tags": [], "risk": {"level": "LOW", "facts": []},
        "line_items": [{
            "id": "gid://shopify/LineItem/13001000901", "title": "Ridge Trail Running Shoes", "variant_title": "UK 9 / Slate",
            "sku": "RO-RTR-UK9-SLAT", "quantity": 1, "unit_price": "145.00", "presentment_unit_price": "124.10",
            "product_tags": ["footwear"],
        }],
        "shipments": [{
            "id": "gid://shopify/Fulfillment/4001000901", "carrier": "DHL", "tracking_number": "JD014600003311",
            "tracking_url": "https://www.dhl.com/track?id=JD014600003311", "status": "DELIVERED",
            "shipped_days_ago": 11.0, "delivered_days_ago": 8.0,
        }],
        "refunds": [], "scenario": "multi-currency: shop money EUR, charged GBP",
    })
    data["returns"].append({
        "id": "gid://shopify/Return/7001000901", "name": "#1901-R1", "order_id": "gid://shopify/Order/5001000901",
        "status": "REQUESTED", "requested_days_ago": 0.6,
        "line_items": [{
            "id": "gid://shopify/ReturnLineItem/8001000901", "line_item_id": "gid://shopify/LineItem/13001000901",
            "quantity": 1, "reason": "NOT_AS_DESCRIBED", "reason_note": "The sole is much stiffer than described",
        }],
        "scenario": "multi-currency refund",
    })


VARIANTS: dict[str, Variant | None] = {
    "us": None,  # the bundled data as it is
    "eur": Variant(currency="EUR", timezone="Europe/Berlin", name="Ridgeline Outfitters Europe",
                   domain="ridgeline-outfitters-eu.example", extra=_uk_customer_paid_in_pounds),
    "jpy": Variant(currency="JPY", timezone="Asia/Tokyo", name="Ridgeline Outfitters Japan",
                   domain="ridgeline-outfitters-jp.example", scale=Decimal(100)),
}

# Money fields of the bundled JSON, by the object that holds them.
_MONEY = {"orders": ("shipping", "total"), "line_items": ("unit_price",), "refunds": ("amount",),
          "disputes": ("amount",)}


def derive(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The bundled data as shop `name` (one of VARIANTS)."""
    try:
        variant = VARIANTS[name]
    except KeyError:
        raise ValueError(f"no sample store {name!r}; choose one of {', '.join(VARIANTS)}") from None
    if variant is None:
        return data
    out = copy.deepcopy(data)
    out["shop"] = {**out.get("shop", {}), "name": variant.name, "domain": variant.domain,
                   "currency": variant.currency, "timezone": variant.timezone}
    for order in out["orders"]:
        _reprice(order, "orders", variant)
        for li in order["line_items"]:
            _reprice(li, "line_items", variant)
        for refund in order.get("refunds", ()):
            _reprice(refund, "refunds", variant)
    for dispute in out.get("disputes", ()):
        _reprice(dispute, "disputes", variant)
    variant.extra(out)
    return out


def _reprice(obj: dict[str, Any], kind: str, variant: Variant) -> None:
    if "currency" in obj:
        obj["currency"] = variant.currency
    exponent = Money.zero(variant.currency).exponent
    for key in _MONEY[kind]:
        if key in obj:
            value = Decimal(obj[key]) * variant.scale
            obj[key] = str(value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP))
