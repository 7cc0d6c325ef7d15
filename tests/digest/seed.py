"""Hand-built rows for the digest tests: cases (with snapshots and decisions), orders and
integration health, written straight into the tables so every timestamp is exact."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update

from bot.schema import case_snapshots, cases, decisions, integration_health, orders_seen
from policy.config import parse_policy
from policy.models import Money

TZ = ZoneInfo("America/New_York")
DIGEST_CHANNEL = "C0DIGEST01"
POLICY = parse_policy(f"""
[store]
currency = "USD"
timezone = "America/New_York"

[digest]
day = "mon"
time = "09:00"

[slack]
digest_channel = "{DIGEST_CHANNEL}"
""")


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in the store's zone (2026), as aware UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(ZoneInfo("UTC"))


def add_case(
    engine,
    *,
    kind: str,
    status: str,
    opened_at: datetime,
    amount: str = "100.00",
    currency: str = "USD",
    signals: tuple[str, ...] = (),
    recommended: str = "refund",
    decided_at: datetime | None = None,
    decided_by: str | None = None,
    outcome: str | None = None,
    followed: bool | None = None,
    auto: bool = False,
    closed_at: datetime | None = None,
    reasons: tuple[str, ...] = (),
    order_name: str | None = None,
    customer_name: str | None = None,
    slack: tuple[str, str] | None = None,
    source: str = "shopify",
    owner: str | None = None,
) -> int:
    minor = Money.of(Decimal(amount), currency).to_minor()
    with engine.begin() as conn:
        n = conn.execute(insert(cases).values(
            source=source, owner=owner, owner_ref=f"{owner}:1" if owner else None,
            external_id=f"ext-{opened_at.isoformat()}-{kind}-{amount}", kind=kind, status=status,
            version=2, order_id=None, order_name=order_name, customer_name=customer_name,
            amount_minor=minor, currency=currency, risk_score=10, recommended_action=recommended,
            required_tier=0, auto_approved=auto, signal_codes=",".join(signals), channel="C0REVIEW01",
            slack_channel=slack[0] if slack else None, slack_ts=slack[1] if slack else None,
            card_version=2, opened_at=opened_at, updated_at=closed_at or decided_at or opened_at,
            decided_at=decided_at, decided_by=decided_by, decided_action=outcome,
            return_reasons=",".join(sorted(set(reasons))) if kind == "return_request" else "",
        ).returning(cases.c.id)).scalar_one()
        context = {"kind": kind}
        if kind == "return_request":
            context["return_request"] = {"line_items": [{"reason": r, "quantity": 1} for r in reasons]}
        snap = conn.execute(insert(case_snapshots).values(
            case_id=n, taken_at=opened_at, context=context, assessment={"kind": kind},
        ).returning(case_snapshots.c.id)).scalar_one()
        conn.execute(update(cases).where(cases.c.id == n).values(snapshot_id=snap))
        if decided_at is not None:
            conn.execute(insert(decisions).values(
                case_id=n, snapshot_id=snap, action="deny" if outcome == "deny" else "approve", outcome=outcome,
                decided_by=decided_by, decided_at=decided_at,
                followed_recommendation=bool(followed if followed is not None else auto), detail={},
            ))
    return n


def add_order(engine, order_id: str, placed_at: datetime, total: str, currency: str = "USD") -> None:
    with engine.begin() as conn:
        conn.execute(insert(orders_seen).values(
            source="shopify", order_id=order_id, order_name=f"#{order_id}", placed_at=placed_at,
            total_minor=Money.of(Decimal(total), currency).to_minor(), currency=currency,
        ))


def add_health(engine, system: str, *, failures: int, error: str | None = None,
               error_at: datetime | None = None, success_at: datetime | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(integration_health).values(
            system=system, consecutive_failures=failures, last_error=error, last_error_at=error_at,
            last_success_at=success_at,
        ))


def seed_two_weeks(engine) -> dict[str, int]:
    """The data set of test_metrics: this week = Mon 16 Nov 09:00 → Mon 23 Nov 09:00
    (New York), last week the seven days before. Comments give each case's part."""
    ids: dict[str, int] = {}
    A, B, C = "U0AAAAAAA1", "U0BBBBBBB2", "U0CCCCCCC3"

    # --- opened this week
    ids["c1"] = add_case(engine, kind="return_request", status="done", opened_at=local(11, 16, 10), amount="100.00",
                         signals=("outside_window", "vip_customer"), decided_at=local(11, 16, 11), decided_by=A,
                         outcome="refund", followed=True, reasons=("SIZE_TOO_SMALL", "SIZE_TOO_SMALL", "DEFECTIVE"),
                         order_name="#1001")
    ids["c2"] = add_case(engine, kind="return_request", status="done", opened_at=local(11, 17, 10), amount="50.00",
                         signals=("outside_window",), decided_at=local(11, 17, 12), decided_by=B, outcome="deny",
                         followed=False, reasons=("DEFECTIVE",), order_name="#1002")
    ids["c3"] = add_case(engine, kind="return_request", status="done", opened_at=local(11, 18, 10), amount="20.00",
                         decided_at=local(11, 18, 10), decided_by="returnsbot:auto-approve", outcome="refund",
                         auto=True, reasons=("SIZE_TOO_SMALL",))
    ids["c4"] = add_case(engine, kind="order_review", status="done", opened_at=local(11, 18, 11), amount="900.00",
                         signals=("vip_customer", "high_value"), recommended="accept", decided_at=local(11, 18, 15),
                         decided_by=A, outcome="accept", followed=True)
    ids["c5"] = add_case(engine, kind="order_review", status="open", opened_at=local(11, 19, 10), amount="600.00",
                         signals=("high_value",), recommended="accept", order_name="#1005")
    ids["c6"] = add_case(engine, kind="dispute", status="escalated", opened_at=local(11, 19, 12), amount="300.00",
                         signals=("open_dispute",), recommended="escalate", order_name="#1006")
    ids["c7"] = add_case(engine, kind="dispute", status="done", opened_at=local(11, 20, 10), amount="200.00",
                         recommended="escalate", decided_at=local(11, 21, 10), decided_by=C, outcome="accept",
                         followed=False, order_name="#1007")
    ids["c8"] = add_case(engine, kind="return_request", status="closed", opened_at=local(11, 20, 11), amount="75.00",
                         closed_at=local(11, 21, 9), reasons=("UNWANTED",))
    ids["c9"] = add_case(engine, kind="return_request", status="open", opened_at=local(11, 22, 10), amount="40.00",
                         signals=("serial_returner",), reasons=("SIZE_TOO_SMALL",), order_name="#1009",
                         customer_name="Ada <@channel>", slack=("C0REVIEW01", "1700000000.000200"))
    ids["c10"] = add_case(engine, kind="high_value_refund", status="done", opened_at=local(11, 22, 12),
                          amount="1000.00", currency="EUR", signals=("high_value",), recommended="accept",
                          decided_at=local(11, 23, 8), decided_by=B, outcome="accept", followed=True)
    # --- opened last week
    ids["c11"] = add_case(engine, kind="return_request", status="done", opened_at=local(11, 13, 10), amount="60.00",
                          signals=("serial_returner",), recommended="store_credit", decided_at=local(11, 16, 10),
                          decided_by=A, outcome="store_credit", followed=True, reasons=("STYLE",))
    ids["c14"] = add_case(engine, kind="return_request", status="done", opened_at=local(11, 10, 10), amount="80.00",
                          signals=("outside_window",), decided_at=local(11, 10, 10, 30), decided_by=A, outcome="refund",
                          followed=True, reasons=("DEFECTIVE",))
    ids["c15"] = add_case(engine, kind="order_review", status="done", opened_at=local(11, 11, 10), amount="700.00",
                          signals=("vip_customer",), recommended="accept", decided_at=local(11, 12, 10), decided_by=B,
                          outcome="accept", followed=True)
    ids["c16"] = add_case(engine, kind="dispute", status="done", opened_at=local(11, 12, 10), amount="250.00",
                          recommended="escalate", decided_at=local(11, 17, 10), decided_by=C, outcome="accept",
                          followed=False, order_name="#1016")
    ids["c17"] = add_case(engine, kind="return_request", status="closed", opened_at=local(11, 14, 10),
                          amount="30.00", closed_at=local(11, 18, 10), reasons=("COLOR",))
    # --- outside both weeks
    ids["c12"] = add_case(engine, kind="dispute", status="open", opened_at=local(10, 1, 10), amount="500.00",
                          recommended="escalate", order_name="#0912")
    ids["c13"] = add_case(engine, kind="return_request", status="open", opened_at=local(11, 23, 10), amount="10.00",
                          reasons=("OTHER",))

    add_order(engine, "o1", local(11, 16, 12), "100.00")
    add_order(engine, "o2", local(11, 18, 12), "200.00")
    add_order(engine, "o3", local(11, 20, 12), "300.00")
    add_order(engine, "o4", local(11, 22, 12), "50.00", "EUR")
    add_order(engine, "p1", local(11, 10, 12), "400.00")
    add_order(engine, "p2", local(11, 12, 12), "600.00")
    add_order(engine, "x1", local(11, 9, 8), "999.00")  # before last week
    add_order(engine, "x2", local(11, 23, 9), "999.00")  # at this week's end: the next week's

    add_health(engine, "shopify.orders", failures=0, success_at=local(11, 21, 8))  # before the 401 below
    add_health(engine, "shopify.webhooks", failures=3, error="Shopify rejected the access token (HTTP 401)",
               error_at=local(11, 22, 8), success_at=local(11, 20, 8))
    add_health(engine, "slack", failures=0, error="slack unavailable", error_at=local(11, 19, 8),
               success_at=local(11, 19, 9))
    return ids


THIS_START, THIS_END, LAST_START = local(11, 16, 9), local(11, 23, 9), local(11, 9, 9)
A, B, C = "U0AAAAAAA1", "U0BBBBBBB2", "U0CCCCCCC3"


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


__all__ = ["POLICY", "DIGEST_CHANNEL", "THIS_START", "THIS_END", "LAST_START", "seed_two_weeks", "local",
           "add_case", "add_order", "add_health", "usd", "eur"]
