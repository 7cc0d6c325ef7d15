"""Shared bits for the sample-store tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from integrations.sample import SampleStore
from policy.models import Order

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


class StepClock:
    """The clock the store stamps new refunds with; starts at NOW, moved by hand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def order_named(store: SampleStore, name: str) -> Order:
    (order,) = store.find_orders(name)
    return order


def ago(days: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days)
