"""The shop's own facts from Shopify: the currency it prices in and its IANA time zone.

One small query, asked at start-up (and by `check`); the bot compares every amount in
this currency (`shopMoney`) and counts return-window days in this time zone.
"""

from __future__ import annotations

from typing import Any

from policy.models import ShopFacts
from policy.ports import IntegrationError

SHOP_FACTS = """
query ShopFacts {
  shop { name currencyCode ianaTimezone }
}
"""


def shop_facts(client: Any) -> ShopFacts:
    """`client` is a ShopifyGraphQL (anything with `execute(document)` → data)."""
    shop = (client.execute(SHOP_FACTS) or {}).get("shop") or {}
    try:
        return ShopFacts(currency=shop.get("currencyCode") or "", timezone=shop.get("ianaTimezone") or "",
                         name=shop.get("name"))
    except ValueError as exc:  # pydantic's ValidationError is one
        raise IntegrationError(
            f"Shopify's shop answer has no usable currency or time zone "
            f"(currencyCode {shop.get('currencyCode')!r}, ianaTimezone {shop.get('ianaTimezone')!r})",
            retryable=False, system="shopify",
        ) from exc
