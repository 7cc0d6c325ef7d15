"""GraphQL documents and requested query cost per new case, against the suite's FakeShopify.

Builds a shop with a customer who has a year of orders and returns, then assembles the
context of a new case the way the inbox worker does (`bot.services.context.assemble` over
`ShopifyStore`) and counts what went to Shopify: documents, and requested cost by
Shopify's rules (computed from each document sent, so the figure does not depend on what
the fake reports). Shopify charges the requested cost up front; a standard-plan shop
restores 100 points a second.

    python -m bench.shopify_cost
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from graphql import parse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.services.context import assemble  # noqa: E402
from integrations.shopify.client import ShopifyGraphQL  # noqa: E402
from integrations.shopify.source import ShopifyStore  # noqa: E402
from policy.models import DomainEvent, EventKind  # noqa: E402
from tests.fakes.shopify import FakeClock, FakeShopify, estimate_cost  # noqa: E402

LOOKBACK_DAYS = 365  # the default policy's customer look-back ([risk] lookback_days)


def seed(fake: FakeShopify, now: datetime, *, busy: bool = False, dispute: bool = False) -> dict[str, str]:
    """A returning customer: orders over a year (every two months, or every week when
    `busy`, with a return on every third), a return two months ago and one long ago, and a new order with two lines that already has one
    earlier return; `dispute`: a chargeback open on the new order."""
    customer = fake.add_customer(display_name="Grace Hopper", tags=["VIP"], created_at=now - timedelta(days=800))
    every = 7 if busy else 60
    for i, days in enumerate(range(360, 20, -every)):
        past = fake.add_order(customer_id=customer, created_at=now - timedelta(days=days),
                              line_items=[{"title": f"Item {i}", "price": "35.00"}])
        if days in (360, 60) or (busy and i % 3 == 0):
            fake.add_return(past, status="CLOSED", requested_at=now - timedelta(days=days - 10))
    order = fake.add_order(
        customer_id=customer,
        created_at=now - timedelta(days=12),
        line_items=[
            {"title": "Trail Runner", "sku": "TR-9", "price": "149.00"},
            {"title": "Wool Socks", "sku": "WS-1", "price": "12.00", "quantity": 2},
        ],
    )
    fake.add_return(order, line_items=[{"sku": "WS-1", "quantity": 1}], status="OPEN",
                    requested_at=now - timedelta(days=4))
    ret = fake.add_return(order, line_items=[{"sku": "TR-9", "reason": "SIZE_TOO_SMALL"}],
                          requested_at=now - timedelta(hours=3))
    if dispute:
        fake.add_dispute(order)
    return {"customer": customer, "order": order, "return": ret}


def measure(*, busy: bool = False, dispute: bool = False, kind: str = "return") -> dict:
    clock = FakeClock(start=datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc))
    fake = FakeShopify(monotonic=clock.monotonic, now=clock.now)
    ids = seed(fake, clock.now(), busy=busy, dispute=dispute)
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client(),
                            sleep=clock.sleep, monotonic=clock.monotonic)
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=clock.now)
    if kind == "return":
        event = DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ids["return"],
                            order_id=ids["order"])
    else:
        event = DomainEvent(source="shopify", kind=EventKind.ORDER_CREATED, resource_id=ids["order"],
                            order_id=ids["order"])
    context = assemble(event, store, now=clock.now(), lookback_days=LOOKBACK_DAYS)
    sent = [c for c in fake.calls if c.outcome == "ok"]
    costs = [estimate_cost(fake.schema, parse(c.query), c.variables) for c in sent]
    return {
        "documents": len(sent),
        "requested": sum(costs),
        "operations": [f"{c.operation} ({cost})" for c, cost in zip(sent, costs)],
        "invalid": len(fake.invalid_documents),
        "context": context,
    }


SCENARIOS = {
    "new return": {},
    "new return, open dispute": {"dispute": True},
    "new return, busy customer": {"busy": True},
    "new order review": {"kind": "order"},
}


def main() -> None:
    print("| case | documents | requested cost | documents sent (cost each) |")
    print("|---|---|---|---|")
    for name, kw in SCENARIOS.items():
        r = measure(**kw)
        print(f"| {name} | {r['documents']} | {r['requested']:,} | {', '.join(r['operations'])} |")
        if r["invalid"]:
            print(f"  ({r['invalid']} document(s) failed validation)")


if __name__ == "__main__":
    main()
