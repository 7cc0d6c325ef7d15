"""A store that answers one question, what is on the order now (StoreSource.get_order), for
the lifecycle service's unit tests. It counts every question, lets a test refund "in the
store admin" between two of them, and can be unreachable the way a store client reports
it (a retryable IntegrationError)."""

from __future__ import annotations

from policy.models import Money, Order
from policy.ports import IntegrationError, NotFound
from tests.bot.factories import order


class Orders:
    name = "shopify"

    def __init__(self, *orders: Order) -> None:
        self.orders = {o.id: o for o in (orders or (order(),))}
        self.asked: list[str] = []
        self.down = 0  # the next this many questions fail as if the store were unreachable

    def get_order(self, order_id: str) -> Order:
        self.asked.append(order_id)
        if self.down:
            self.down -= 1
            raise IntegrationError("store unreachable (timed out)", retryable=True, system=self.name)
        if order_id not in self.orders:
            raise NotFound(order_id)
        return self.orders[order_id]

    def refund_in_admin(self, order_id: str, amount: Money) -> None:
        """A refund made outside returnsbot: the order's refunded total grows."""
        o = self.orders[order_id]
        self.orders[order_id] = o.model_copy(update={"refunded": o.refunded + amount})
