"""Hand-built domain objects for store/service tests (no policy engine involved)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from bot.store import NewCase
from policy.models import (
    Action,
    Assessment,
    CaseContext,
    CaseKind,
    Money,
    Order,
    Recommendation,
    ReturnLineItem,
    ReturnRequest,
    ReturnStatus,
    Signal,
    SignalCode,
    Tier,
)

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def order(n: int = 1001, total: str = "149.00") -> Order:
    return Order(
        id=f"gid://shopify/Order/{n}",
        name=f"#{n}",
        created_at=NOW - timedelta(days=20),
        currency="USD",
        total=usd(total),
        received=usd(total),
        refunded=usd("0"),
        customer_id="gid://shopify/Customer/7",
    )


def return_request(n: int = 1001, amount: str = "149.00") -> ReturnRequest:
    return ReturnRequest(
        id=f"gid://shopify/Return/{n}",
        order_id=f"gid://shopify/Order/{n}",
        status=ReturnStatus.REQUESTED,
        requested_at=NOW - timedelta(hours=2),
        line_items=(
            ReturnLineItem(
                id=f"gid://shopify/ReturnLineItem/{n}",
                line_item_id=f"gid://shopify/LineItem/{n}",
                title="Trail Jacket",
                quantity=1,
                unit_price=usd(amount),
                reason="SIZE_TOO_SMALL",
            ),
        ),
    )


def new_case(n: int = 1001, amount: str = "149.00", action: Action = Action.REFUND, at: datetime = NOW) -> NewCase:
    ctx = CaseContext(kind=CaseKind.RETURN_REQUEST, now=at, order=order(n, amount), return_request=return_request(n, amount))
    assessment = Assessment(
        kind=CaseKind.RETURN_REQUEST,
        signals=(Signal(code=SignalCode.HIGH_VALUE, weight=20, explanation="High value", evidence={"amount": amount}),),
        recommendation=Recommendation(
            action=action,
            risk_score=20,
            amount=usd(amount),
            reasons=("Within window",),
            tier=Tier(index=0, up_to=Decimal("250"), approvers=("U1",)),
        ),
    )
    return NewCase(source="shopify", external_id=ctx.return_request.id, context=ctx, assessment=assessment,
                   channel="C0REVIEW01", opened_at=at, customer_name="Ada Lovelace")
