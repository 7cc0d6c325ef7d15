"""Hand-built CaseViews for the renderer tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from blocks.views import (
    CaseView,
    CustomerView,
    DecisionView,
    EscalationView,
    ItemView,
    PlaybookEntry,
    ShippingView,
)
from policy.models import (
    Action,
    CaseKind,
    CaseStatus,
    DeliveryStatus,
    Money,
    Recommendation,
    Signal,
    SignalCode,
    Tier,
)

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
DECIDED_AT = datetime(2026, 11, 2, 14, 2, tzinfo=timezone.utc)
APPROVER = "U0APPROVER1"
LEAD = "U0LEAD0001"
GROUP = "S0OPSLEADS"
ORDER_URL = "https://admin.shopify.com/store/demo/orders/1001"
RETURN_URL = "https://admin.shopify.com/store/demo/orders/1001/returns/77"
TRACKING_URL = "https://www.ups.com/track?tracknum=1Z999&loc=en_US"
ESCALATION_URL = "https://demo.slack.com/archives/C0LEADS/p1793368800000100"

# Everything a customer (or a carrier, or a store) could type to make Slack ping or link.
INJECTION = "<!channel> <!here> @here @channel @everyone <@U123> <https://evil.example|x> &amp; <!subteam^S999>"
# What must never reach Slack from outside text, in any string of any payload.
RAW = ["<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil.example|x>", "<!subteam^S999>",
       "@here", "@channel", "@everyone"]


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def signal(code: SignalCode, weight: int = 20, explanation: str | None = None) -> Signal:
    return Signal(code=code, weight=weight, explanation=explanation or f"{code.value} explained")


def recommendation(action: Action = Action.REFUND, amount: str = "149.00", **kw) -> Recommendation:
    defaults = dict(
        risk_score=35,
        reasons=("Refund: within the return policy.",),
        tier=Tier(index=0, up_to=Decimal("250"), approvers=(APPROVER,)),
    )
    defaults.update(kw)
    return Recommendation(action=action, amount=usd(amount), **defaults)


def case_view(**overrides) -> CaseView:
    view = CaseView(
        case_id=42,
        version=3,
        kind=CaseKind.RETURN_REQUEST,
        status=CaseStatus.OPEN,
        order_name="#1001",
        amount=usd("149.00"),
        recommendation=recommendation(),
        tier_label="Tier 1 (≤ $250)",
        now=NOW,
        order_url=ORDER_URL,
        admin_label="Shopify admin",  # as the Shopify connector names its admin
        return_name="#1001-R1",
        return_url=RETURN_URL,
        customer=CustomerView(
            name="Jane Doe",
            email="jane@example.com",
            orders_count=12,
            lifetime_spend=usd("2340.00"),
            returns_last_year=1,
            tags=("newsletter", "wholesale"),
        ),
        items=(
            ItemView(
                title="Trail Jacket",
                quantity=1,
                amount=usd("149.00"),
                sku="TJ-BLK-M",
                reason="SIZE_TOO_SMALL",
                reason_note="Runs small",
                customer_note="Please send a large instead.",
            ),
        ),
        shipments=(
            ShippingView(
                status=DeliveryStatus.DELIVERED,
                carrier="UPS",
                tracking_number="1Z999",
                tracking_url=TRACKING_URL,
                delivered_at=NOW - timedelta(days=3),
            ),
        ),
        signals=(),
        approvers=(APPROVER, GROUP),
    )
    return replace(view, **overrides)


def decided(view: CaseView, status: CaseStatus, action: Action = Action.REFUND, **kw) -> CaseView:
    decision = DecisionView(action=action, at=DECIDED_AT, by=kw.pop("by", APPROVER), **kw)
    return replace(view, status=status, decision=decision)


def escalation(**kw) -> EscalationView:
    defaults = dict(by=APPROVER, at=DECIDED_AT, note="Customer says it never arrived", tier_label="Tier 2 (≤ $1,000)",
                    card_url=ESCALATION_URL)
    defaults.update(kw)
    return EscalationView(**defaults)


def huge_view(**overrides) -> CaseView:
    """200 items, 10k-character notes, 60 signals, long everything."""
    long_note = ("Lorem ipsum & <dolor> sit amet. " * 400)[:10_000]
    items = tuple(
        ItemView(
            title=f"Item {i} " + "x" * 500,
            quantity=i + 1,
            amount=usd("1.00"),
            sku="S" * 300,
            reason="DEFECTIVE",
            reason_note=long_note,
            customer_note=long_note,
        )
        for i in range(200)
    )
    signals = tuple(
        Signal(code=list(SignalCode)[i % len(SignalCode)], weight=(i % 7) - 3, explanation=long_note)
        for i in range(60)
    )
    rec = recommendation(
        Action.STORE_CREDIT,
        amount="123456789.99",
        reasons=tuple(long_note for _ in range(30)),
        conflicts=tuple(long_note for _ in range(30)),
    )
    view = case_view(
        order_name="#" + "9" * 300,
        amount=usd("123456789.99"),
        recommendation=rec,
        tier_label="Tier 9 " + "y" * 3000,
        return_name="#" + "R" * 400,
        customer=CustomerView(
            name="N" * 5000,
            email="e" * 3000 + "@example.com",
            orders_count=10**9,
            lifetime_spend=usd("999999999.99"),
            returns_last_year=500,
            tags=tuple(f"tag-{i}-" + "t" * 100 for i in range(300)),
            vip=True,
        ),
        items=items,
        shipments=tuple(
            ShippingView(status=DeliveryStatus.IN_TRANSIT, carrier="C" * 500, tracking_number="9" * 500,
                         tracking_url="https://t.example/" + "p" * 2500)
            for _ in range(20)
        ),
        signals=signals,
        approvers=tuple(f"U{i:010d}" for i in range(40)),
        results=tuple(long_note for _ in range(30)),
        error=long_note,
        playbook=tuple(PlaybookEntry(author=LEAD, created_at=NOW - timedelta(days=i), text=long_note) for i in range(10)),
        escalation=escalation(note=long_note, tier_label="T" * 500),
    )
    return replace(view, **overrides)


def injected_view(**overrides) -> CaseView:
    """Every outside-text field carries INJECTION."""
    view = case_view(
        order_name=f"#1001 {INJECTION}",
        return_name=f"#1001-R1 {INJECTION}",
        customer=CustomerView(
            name=f"Jane {INJECTION}",
            email=f"{INJECTION}@example.com",
            orders_count=3,
            lifetime_spend=usd("10"),
            returns_last_year=0,
            tags=(INJECTION, "vip"),
            vip=True,
        ),
        items=(
            ItemView(
                title=f"Jacket {INJECTION}",
                quantity=1,
                amount=usd("149.00"),
                sku=INJECTION,
                reason=INJECTION,
                reason_note=INJECTION,
                customer_note=f"line one\n{INJECTION}\n> fake quote",
            ),
        ),
        shipments=(
            ShippingView(status=DeliveryStatus.IN_TRANSIT, carrier=INJECTION, tracking_number=INJECTION,
                         tracking_url=f"https://ups.example/t?x=|{INJECTION}"),
        ),
        signals=(signal(SignalCode.OUTSIDE_WINDOW, 30, f"Outside window: {INJECTION}"),),
        recommendation=recommendation(reasons=(INJECTION,), conflicts=(INJECTION,)),
        tier_label=f"Tier 1 {INJECTION}",
        results=(f"refund issued {INJECTION}",),
        error=f"Shopify said: {INJECTION}",
        playbook=(PlaybookEntry(author=LEAD, created_at=NOW, text=INJECTION),),
        escalation=escalation(note=INJECTION, tier_label=INJECTION),
        next_tier_label=INJECTION,
    )
    return replace(view, **overrides)


__all__ = [
    "APPROVER", "DECIDED_AT", "ESCALATION_URL", "GROUP", "INJECTION", "LEAD", "NOW",
    "ORDER_URL", "RAW", "RETURN_URL", "TRACKING_URL", "case_view", "decided", "escalation", "huge_view",
    "injected_view", "recommendation", "signal", "usd",
]
