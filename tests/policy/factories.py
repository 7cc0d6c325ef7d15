"""Small builders for policy tests: a clean, typical return case, changed one fact at a time.

The defaults describe a case nothing fires on: an order ($149.00 received, delivered 10 days
ago) and a $49.00 return of one item, a customer with 3 orders and no returns in a year.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from policy.config import Policy, parse_policy
from policy.models import (
    CaseContext,
    CaseKind,
    Customer,
    CustomerHistory,
    DeliveryStatus,
    Dispute,
    LineItem,
    Money,
    Order,
    PastReturn,
    PaymentRisk,
    Refund,
    ReturnLineItem,
    ReturnRequest,
    ReturnStatus,
    RiskLevel,
    Shipment,
    ShopFacts,
)

NOW = datetime(2025, 3, 20, 15, 0, tzinfo=timezone.utc)
DELIVERED_AT = NOW - timedelta(days=10)
ORDERED_AT = NOW - timedelta(days=15)
ORDER_ID = "gid://shopify/Order/1001"


def usd(amount: str | int) -> Money:
    return Money.of(amount, "USD")


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


# The shop these cases come from, unless a test's policy states its own currency or zone.
TEST_SHOP = ShopFacts(currency="USD", timezone="UTC")


def policy(toml: str = "", *, shop: ShopFacts | None = None) -> Policy:
    """The default policy, or one with a few keys changed, written as TOML — as the
    effective policy for `shop` (default: a USD shop in UTC, or what the TOML states)."""
    p = parse_policy(toml) if toml else Policy.default()
    return p.for_shop(shop or ShopFacts(currency=p.store.currency or TEST_SHOP.currency,
                                        timezone=p.store.timezone or TEST_SHOP.timezone))


def line_item(
    id: str = "li-1", title: str = "Linen Shirt", price: str = "49.00", tags: tuple[str, ...] = ()
) -> LineItem:
    return LineItem(id=id, title=title, quantity=1, unit_price=usd(price), product_tags=tags)


def return_item(
    line_item_id: str = "li-1",
    title: str = "Linen Shirt",
    price: str = "49.00",
    qty: int = 1,
    reason: str = "SIZE_TOO_SMALL",
    tags: tuple[str, ...] = (),
) -> ReturnLineItem:
    return ReturnLineItem(
        id=f"r-{line_item_id}",
        line_item_id=line_item_id,
        title=title,
        quantity=qty,
        unit_price=usd(price),
        reason=reason,
        product_tags=tags,
    )


def delivered(at: datetime = DELIVERED_AT, id: str = "ship-1") -> Shipment:
    return Shipment(
        id=id, status=DeliveryStatus.DELIVERED, shipped_at=at - timedelta(days=3), delivered_at=at
    )


def shipment(
    status: DeliveryStatus,
    id: str = "ship-1",
    shipped_at: datetime | None = None,
    carrier: str | None = None,
    tracking: str | None = None,
) -> Shipment:
    return Shipment(
        id=id, status=status, shipped_at=shipped_at, carrier=carrier, tracking_number=tracking
    )


def order(
    received: str = "149.00",
    refunded: str = "0",
    items: tuple[LineItem, ...] | None = None,
    shipments: tuple[Shipment, ...] | None = None,
    risk: PaymentRisk | None = None,
    refunds: tuple[Refund, ...] = (),
) -> Order:
    return Order(
        id=ORDER_ID,
        name="#1001",
        created_at=ORDERED_AT,
        currency="USD",
        total=usd(received),
        received=usd(received),
        refunded=usd(refunded),
        customer_id="cust-1",
        line_items=items if items is not None else (line_item(), line_item("li-2", "Wool Socks", "100.00")),
        shipments=shipments if shipments is not None else (delivered(),),
        refunds=refunds,
        risk=risk,
    )


def return_request(*items: ReturnLineItem, requested_at: datetime = NOW) -> ReturnRequest:
    return ReturnRequest(
        id="gid://shopify/Return/1",
        name="#1001-R1",
        order_id=ORDER_ID,
        status=ReturnStatus.REQUESTED,
        requested_at=requested_at,
        line_items=items or (return_item(),),
    )


def customer(tags: tuple[str, ...] = (), spend: str = "300.00", currency: str = "USD") -> Customer:
    return Customer(
        id="cust-1",
        display_name="Ada Lovelace",
        tags=tags,
        orders_count=3,
        lifetime_spend=Money.of(spend, currency),
    )


def past_return(
    n: int = 1,
    status: ReturnStatus = ReturnStatus.CLOSED,
    amount: str = "30.00",
    order_id: str = "gid://shopify/Order/900",
) -> PastReturn:
    return PastReturn(
        return_id=f"gid://shopify/Return/9{n:02d}",
        order_id=order_id,
        requested_at=days_ago(30 * n),
        amount=usd(amount),
        status=status,
    )


def history(
    returns: int = 0, orders: int = 3, days: int = 365, status: ReturnStatus = ReturnStatus.CLOSED
) -> CustomerHistory:
    return CustomerHistory(
        since=days_ago(days),
        orders_count=orders,
        returns=tuple(past_return(i + 1, status) for i in range(returns)),
    )


def risk(
    level: RiskLevel = RiskLevel.HIGH,
    source: str = "shopify",
    facts: tuple[str, ...] = ("Billing address does not match",),
) -> PaymentRisk:
    return PaymentRisk(source=source, level=level, score=80, facts=facts)


def dispute(status: str = "NEEDS_RESPONSE", amount: str = "149.00", id: str = "dp-1") -> Dispute:
    return Dispute(
        id=id,
        order_id=ORDER_ID,
        status=status,
        reason="FRAUDULENT",
        amount=usd(amount),
        initiated_at=days_ago(2),
        evidence_due_by=NOW + timedelta(days=7),
    )


def refund(amount: str = "600.00", id: str = "rf-1") -> Refund:
    return Refund(id=id, order_id=ORDER_ID, created_at=NOW, amount=usd(amount))


def return_ctx(*items: ReturnLineItem, requested_at: datetime = NOW, **changes: object) -> CaseContext:
    """A clean return case; keyword arguments replace CaseContext fields."""
    changes.setdefault("return_request", return_request(*items, requested_at=requested_at))
    return ctx_of(CaseKind.RETURN_REQUEST, **changes)


def ctx_of(kind: CaseKind, **changes: object) -> CaseContext:
    """A case of any kind on the clean order and customer; keywords replace fields."""
    fields: dict[str, object] = {
        "kind": kind,
        "now": NOW,
        "order": order(),
        "customer": customer(),
        "history": history(),
    }
    fields.update(changes)
    return CaseContext(**fields)  # type: ignore[arg-type]
