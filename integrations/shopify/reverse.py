"""Which return a reverse delivery or reverse fulfillment order belongs to, read by GraphQL.

For reverse_* webhook bodies that do not name their return, or name only reverse-fulfillment
lines (see webhooks.py). Runs in the inbox job, after the 200: a failed read raises the
client's retryable `IntegrationError` (the job retries); an object Shopify does not know, or
that no return of its order owns, is None (the delivery is ignored, with a log line).
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.shopify import documents as doc
from integrations.shopify import mapping as m
from integrations.shopify.webhooks import ReverseOwner

log = logging.getLogger(__name__)

_MAX_RETURN_PAGES = 10  # 100 returns on one order: far beyond any real order


class ReverseLookup:
    """`lookup(gid)` → the ReverseOwner of a ReverseDelivery or ReverseFulfillmentOrder gid."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, gid: str) -> ReverseOwner | None:
        if "/ReverseDelivery/" in gid:
            document, field = doc.REVERSE_DELIVERY_OWNER, "reverseDelivery"
        elif "/ReverseFulfillmentOrder/" in gid:
            document, field = doc.REVERSE_FULFILLMENT_ORDER_OWNER, "reverseFulfillmentOrder"
        else:
            raise ValueError(f"not a reverse delivery or reverse fulfillment order: {gid!r}")
        after = None
        for _ in range(_MAX_RETURN_PAGES):
            node = self.client.execute(document, {"id": gid, "after": after}).get(field)
            rfo = node.get("reverseFulfillmentOrder") if node is not None and field == "reverseDelivery" else node
            if rfo is None or rfo.get("order") is None:
                log.warning("shopify.reverse.unknown id=%s: Shopify has no such object (or no order for it)", gid)
                return None
            returns = rfo["order"]["returns"]
            for ret in m.nodes(returns):
                if any(r["id"] == rfo["id"] for r in m.nodes(ret.get("reverseFulfillmentOrders"))):
                    return _owner(rfo, ret)
            more, after = m.page_info(returns)
            if not more:
                break
        log.warning("shopify.reverse.unowned id=%s order=%s: no return of the order has this reverse fulfillment order",
                    gid, rfo["order"]["id"])
        return None


def _owner(rfo: dict[str, Any], ret: dict[str, Any]) -> ReverseOwner:
    # the two kinds of line meet at the fulfillment line item
    by_fulfillment_line = {(li.get("fulfillmentLineItem") or {}).get("id"): li["id"]
                           for li in m.nodes(ret.get("returnLineItems")) if li.get("fulfillmentLineItem")}
    line_of = {}
    for item in m.nodes(rfo.get("lineItems")):
        found = by_fulfillment_line.get((item.get("fulfillmentLineItem") or {}).get("id"))
        if found:
            line_of[item["id"]] = found
    return ReverseOwner(return_id=ret["id"], order_id=rfo["order"]["id"], return_line_of=line_of)
