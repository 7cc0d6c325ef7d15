"""Orders and customers for the Claude tests."""

from __future__ import annotations

from datetime import datetime, timezone

from policy.models import Customer, DeliveryStatus, LineItem, Money, Order, PaymentRisk, Refund, RiskLevel, Shipment

ORDERED = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def sweater_order(**changes) -> Order:
    """#1001: a Merino Sweater (€145.00), shipped with DHL, delivered; with the payment
    details a reply must never carry (risk score and facts, a refund's note)."""
    fields = dict(
        id="gid://shopify/Order/5550001", name="#1001", created_at=ORDERED, currency="EUR",
        total=eur("145.00"), received=eur("145.00"), refunded=eur("0"), email="anna.schmidt@example.de",
        customer_id="gid://shopify/Customer/77", tags=("vip-watch",),
        line_items=(LineItem(id="li-1", title="Merino Sweater", quantity=1, unit_price=eur("145.00")),),
        shipments=(Shipment(id="s-1", status=DeliveryStatus.DELIVERED, carrier="DHL",
                            tracking_number="00340434161094042557",
                            shipped_at=datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc),
                            delivered_at=datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)),),
        risk=PaymentRisk(source="stripe", level=RiskLevel.HIGH, score=87, facts=("card issued in another country",),
                         seller_message="Stripe blocked this payment as too risky"),
        refunds=(Refund(id="gid://shopify/Refund/9", order_id="gid://shopify/Order/5550001", created_at=ORDERED,
                        amount=eur("10.00"), note="goodwill, ch_3PaymentId123"),),
    )
    fields.update(changes)
    return Order(**fields)


def anna() -> Customer:
    return Customer(id="gid://shopify/Customer/77", display_name="Anna Schmidt", email="anna.schmidt@example.de",
                    tags=("VIP",), orders_count=7, lifetime_spend=eur("2310.00"))
