"""Assertions the suites share: money is a Decimal in the world's currency, times are aware
UTC and the instant the world recorded (to the second: vendors keep seconds)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from policy.models import Money


def is_money(value: Money, amount: str, currency: str) -> bool:
    assert isinstance(value, Money), value
    assert isinstance(value.amount, Decimal), f"{value.amount!r} is not a Decimal"
    assert value.currency == currency, f"{value} is in {value.currency}, the shop is in {currency}"
    assert value.amount == Decimal(amount), f"{value.amount} != {amount}"
    return True


def is_utc(value: datetime | None) -> bool:
    assert isinstance(value, datetime), value
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), f"{value!r} is not aware UTC"
    return True


def at(value: datetime | None, expected: datetime) -> bool:
    """`value` is aware UTC and the same instant as `expected`, to the second."""
    assert is_utc(value)
    assert abs(value - expected) < timedelta(seconds=1), f"{value.isoformat()} != {expected.isoformat()}"
    return True
