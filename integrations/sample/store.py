"""The bundled sample store: Ridgeline Outfitters, in memory, behind the same ports as Shopify.

`SampleStore.load(now=...)` reads `sample_store.json` (written by `generate.py`) and turns
its relative times into aware UTC datetimes counted back from `now`, so the demo queue
looks the same on any day. It implements `StoreSource` and `StoreActions` from
`policy.ports`: reads return the domain models of `policy.models`, unknown ids raise
`NotFound`, and the actions change the in-memory state the way Shopify would:

* approve_return:   REQUESTED -> OPEN      (anything else: IntegrationError, not retryable)
* decline_return:   REQUESTED -> DECLINED  (reason: a policy.models.DeclineReason)
* refund_return:    an OPEN return; appends a Refund to the order; never more than the
                    return is worth, nor more than is left to refund on the order
* record_refund:    as refund_return, for a return refunded by the payment processor
                    holding the money: the refund is recorded with its note, no money moves
* issue_store_credit: adds to the customer's store-credit balance
* refund_shipping:  a Refund of (part of) the order's shipping charge, never more than the
                    shipping not refunded yet
* add_tags:         tags on a customer or an order, checked before: one carrying every tag
                    already (without case) is a repeat, recorded as `replayed`, nothing changed
* reship_order:     a replacement order (tagged `returnsbot-reship`, nothing to pay) for the
                    line items of an order shipped and not delivered; the sample's
                    shipments don't say which lines they hold, so it is every line

Every action carries an idempotency key: the same key again does nothing and returns the
first result (the same key with different arguments is refused). Each call is recorded in
`store.calls`. One re-entrant lock guards the state, so a webhook worker and a poller may
share one instance.

The event log starts `feed_days` (in the JSON) before `now`: return requests, new orders,
disputes and refunds inside it are events; older objects are history that was there before
returnsbot was installed.

`SampleStore.load(variant="eur")` is another shop made from the same data
(`variants.py`): a European shop in euros with one order paid in pounds, or a yen shop.

Multi-currency orders (shop money in one currency, the customer charged in another) carry
the charged amounts as presentment money. A refund is decided in shop money and goes back
to the customer in the currency they paid, converted at the rate of what is refunded (the
return's own shop and charged amounts): the refund records both. An amount already in the
charged currency is taken as is; any third currency is refused.

Conventions: `Order.total` is the total as placed (items + shipping; the shop is in Oregon,
no sales tax); `Order.received` is what was captured, before refunds (Shopify's
totalReceivedSet); `Order.refunded` is the sum of refunds, so what is left to refund is
`received - refunded`. `Customer.lifetime_spend` is received minus refunded over all of the
customer's orders.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from integrations.sample import stages
from policy.lifecycle import StageUpdate
from policy.models import (
    ShopFacts,
    Address,
    Customer,
    DeclineReason,
    CustomerHistory,
    DeliveryStatus,
    Dispute,
    DisputeStatus,
    DomainEvent,
    EventKind,
    LineItem,
    Money,
    Order,
    OrderFacts,
    PastReturn,
    PaymentRisk,
    Refund,
    ReturnLineItem,
    ReturnRequest,
    ReturnStatus,
    RiskLevel,
    Shipment,
    total,
    utc,
)
from policy.exchange_rules import in_stock
from policy.ports import ActionResult, ExchangeItem, ExchangeOutOfStock, IntegrationError, NotFound, PollPage, Unmapped

SOURCE = "sample"
# The sample store stands in for a Shopify shop: its events are Shopify events, so a case
# found by the poller and the same return announced by a Shopify-format webhook share one
# natural key (source, id, kind) and stay one case.
EVENT_SOURCE = "shopify"
DECLINE_REASONS = frozenset(r.value for r in DeclineReason)
_EVENT_ORDER = {
    EventKind.ORDER_CREATED: 0,
    EventKind.RETURN_REQUESTED: 1,
    EventKind.REFUND_CREATED: 2,
    EventKind.DISPUTE_CREATED: 3,
    EventKind.RETURN_STAGE: 4,
}
_GID_ORDER = "gid://shopify/Order/"
_GID_CUSTOMER = "gid://shopify/Customer/"
_REFUND_BASE = 9001000000
_CREDIT_BASE = 3001000000
_REPLACEMENT_BASE = 5201000000
_OPENED_RETURN_BASE = 7201000000  # returns opened through open_return (and their lines)
REPLACEMENT_TAG = "returnsbot-reship"


class SampleDataError(ValueError):
    """The sample JSON is inconsistent (a dangling id, a total that does not add up)."""


@dataclass(frozen=True)
class SampleCall:
    """One call to an action, as recorded in `SampleStore.calls`."""

    method: str  # "approve_return", "decline_return", "refund_return", "issue_store_credit"
    target_id: str  # the return or customer id
    params: dict[str, Any]
    idempotency_key: str
    replayed: bool = False  # the key was seen before: nothing was done again
    result: ActionResult | None = None
    error: str | None = None


@dataclass
class _Sample:
    """The mutable state; every read and write happens under SampleStore._lock."""

    orders: dict[str, Order] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)  # orders_count/lifetime_spend filled on read
    returns: dict[str, ReturnRequest] = field(default_factory=dict)
    disputes: dict[str, Dispute] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    refund_return: dict[str, str] = field(default_factory=dict)  # refund id -> return id
    store_credit: dict[str, Money] = field(default_factory=dict)  # customer id -> balance
    next_refund: int = 0
    next_credit: int = 0
    # return id -> its exchange lines ({id, title, variant_id, quantity, released}); variant id
    # -> sellable units. A variant missing from `stock` isn't tracked: it never runs out.
    exchanges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    dispute_evidence: dict[str, dict[str, str]] = field(default_factory=dict)  # dispute id -> evidence submitted
    # order id -> its shipping charge (shop money, and what the customer paid for it when
    # that was another currency), and how much of it was refunded
    shipping: dict[str, tuple[Money, Money | None]] = field(default_factory=dict)
    shipping_refunded: dict[str, Money] = field(default_factory=dict)
    replacements: dict[str, list[str]] = field(default_factory=dict)  # order id -> replacement order ids
    next_order: int = 0
    next_return: int = 0


class SampleStore:
    """`StoreSource` + `StoreActions` over the bundled sample data, in memory."""

    name = SOURCE

    def __init__(self, data: dict[str, Any], *, now: datetime, clock: Callable[[], datetime] | None = None) -> None:
        self.now = utc(now)
        if clock is None:
            started = time.monotonic()
            base = self.now
            clock = lambda: base + timedelta(seconds=time.monotonic() - started)  # noqa: E731
        self._clock = clock
        self.shop_name: str = data.get("shop", {}).get("name", "Sample store")
        self.currency: str = data.get("shop", {}).get("currency", "USD")
        self.timezone: str = data.get("shop", {}).get("timezone", "UTC")
        self.feed_since = self.now - timedelta(days=float(data.get("feed_days", 7)))
        self._lock = threading.RLock()
        self._state = _parse(data, self.now)
        self._done: dict[str, tuple[tuple[Any, ...], ActionResult]] = {}
        self.calls: list[SampleCall] = []
        # return id -> when it was approved, in approval order (its stage script: stages.py);
        # returns approved in the data count as approved a day after they were requested
        self._approved_at: dict[str, datetime] = {
            r.id: r.requested_at + timedelta(days=1)
            for r in sorted(self._state.returns.values(), key=lambda r: r.id)
            if r.status is ReturnStatus.APPROVED
        }
        self._processed: list[StageUpdate] = []

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        now: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
        variant: str = "us",
    ) -> SampleStore:
        """The bundled JSON (or `path`), with times relative to `now` (default: the current
        time), as the shop `variant` (`variants.VARIANTS`: "us", "eur", "jpy"). `clock`
        stamps what the actions create; by default it starts at `now` and runs at
        wall-clock speed."""
        from integrations.sample.variants import derive

        if path is None:
            text = resources.files("integrations.sample").joinpath("sample_store.json").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls(derive(json.loads(text), variant), now=now or datetime.now(timezone.utc), clock=clock)

    def shop_facts(self) -> ShopFacts:
        """The shop's currency and time zone, as Shopify's `shop` would say them."""
        return ShopFacts(currency=self.currency, timezone=self.timezone, name=self.shop_name)

    # --- StoreSource ----------------------------------------------------------------------

    def get_return(self, return_id: str) -> ReturnRequest:
        with self._lock:
            return _get(self._state.returns, return_id, "return")

    def get_order(self, order_id: str) -> Order:
        with self._lock:
            return _get(self._state.orders, order_id, "order")

    def get_customer(self, customer_id: str) -> Customer:
        with self._lock:
            customer = _get(self._state.customers, customer_id, "customer")
            orders = self._orders_of(customer_id)
            spend = total([o.received - o.refunded for o in orders], self.currency)
            return customer.model_copy(update={"orders_count": len(orders), "lifetime_spend": spend})

    def get_customer_history(self, customer_id: str, since: datetime) -> CustomerHistory:
        since = utc(since)
        with self._lock:
            _get(self._state.customers, customer_id, "customer")
            orders = self._orders_of(customer_id)
            order_ids = {o.id for o in orders}
            returns = sorted(
                (r for r in self._state.returns.values() if r.order_id in order_ids and r.requested_at >= since),
                key=lambda r: (r.requested_at, r.id),
            )
            return CustomerHistory(
                since=since,
                orders_count=sum(1 for o in orders if o.created_at >= since),
                returns=tuple(_past(r) for r in returns),
                first_order_at=min((o.created_at for o in orders), default=None),
            )

    def get_order_returns(self, order_id: str) -> list[ReturnRequest]:
        with self._lock:
            _get(self._state.orders, order_id, "order")
            return sorted(
                (r for r in self._state.returns.values() if r.order_id == order_id),
                key=lambda r: (r.requested_at, r.id),
            )

    def get_dispute(self, dispute_id: str) -> Dispute:
        with self._lock:
            return _get(self._state.disputes, dispute_id, "dispute")

    def get_refund(self, refund_id: str) -> Refund:
        with self._lock:
            return _get(self._state.refunds, refund_id, "refund")

    def order_disputes(self, order_id: str) -> list[Dispute]:
        with self._lock:
            _get(self._state.orders, order_id, "order")
            return sorted(
                (d for d in self._state.disputes.values() if d.order_id == order_id),
                key=lambda d: (d.initiated_at, d.id),
            )

    def find_orders(self, query: str, limit: int = 5) -> list[Order]:
        """"1001" or "#1001"; an email (that customer's orders, newest first); an order or
        customer gid; else a part of the customer's name. No match: an empty list."""
        q = query.strip()
        if not q or limit <= 0:
            return []
        with self._lock:
            orders = self._state.orders.values()
            if q.startswith(_GID_ORDER):
                found = [o for o in orders if o.id == q]
            elif q.startswith(_GID_CUSTOMER):
                found = [o for o in orders if o.customer_id == q]
            elif "@" in q:
                email = q.casefold()
                ids = {c.id for c in self._state.customers.values() if (c.email or "").casefold() == email}
                found = [o for o in orders if (o.email or "").casefold() == email or o.customer_id in ids]
            elif q.lstrip("#").isdigit():
                name = "#" + q.lstrip("#")
                found = [o for o in orders if o.name == name]
            else:
                needle = q.casefold()
                ids = {c.id for c in self._state.customers.values() if needle in c.display_name.casefold()}
                found = [o for o in orders if o.customer_id in ids]
            return sorted(found, key=lambda o: (o.created_at, o.id), reverse=True)[:limit]

    def poll_requested_returns(self, cursor: str | None) -> PollPage:
        """Return requests still awaiting a decision, requested after `cursor`; with no
        cursor (the first poll) every one, however old: each still needs a decision."""
        with self._lock:
            waiting = [r for r in self._state.returns.values() if r.status is ReturnStatus.REQUESTED]
        return _poll_page(waiting, _return_event, cursor)

    def poll_new_orders(self, cursor: str | None) -> PollPage:
        """Orders placed in the event log, after `cursor`."""
        with self._lock:
            orders = list(self._state.orders.values())
        return _poll_page(orders, lambda o: _order_event(o) if _when(o.created_at) >= self.feed_since else None, cursor)

    # --- the demo's feed --------------------------------------------------------------------

    def events(self) -> list[DomainEvent]:
        """Everything that happened in the event log, oldest first: return requests, new
        orders, disputes and refunds (including refunds made through this store)."""
        with self._lock:
            events = self._return_events() + self._order_events() + self._dispute_events() + self._refund_events()
        # the stages after approval are a separate feed (stage_events), ingested as RETURN_STAGE events
        return _sorted(events)

    def stage_events(self) -> list[DomainEvent]:
        """The approved returns' stages that are due by the store's clock, oldest first."""
        now = utc(self._clock())
        with self._lock:
            updates: list[StageUpdate] = []
            for position, (rid, approved_at) in enumerate(self._approved_at.items()):
                ret = self._state.returns[rid]
                updates += stages.timeline(ret, approved_at, stages.script_for(position), source=EVENT_SOURCE)
            updates += self._processed
            due = sorted((u for u in updates if u.at <= now), key=lambda u: (u.at, u.return_id, u.stage.rank))
            return [stages.event(u, self._state.returns[u.return_id], source=EVENT_SOURCE) for u in due]

    def poll_return_progress(self, cursor: str | None) -> PollPage:
        """The catch-up poller for returns after approval: stages due since `cursor`."""
        return _page(self.stage_events(), cursor)

    def store_credit_balance(self, customer_id: str) -> Money:
        with self._lock:
            _get(self._state.customers, customer_id, "customer")
            return self._state.store_credit.get(customer_id, Money.zero(self.currency))

    # --- StoreActions -----------------------------------------------------------------------

    def approve_return(self, return_id: str, *, notify_customer: bool, idempotency_key: str) -> ActionResult:
        params = {"notify_customer": notify_customer}
        return self._once("approve_return", return_id, params, idempotency_key, lambda: self._approve(return_id, notify_customer))

    def decline_return(
        self,
        return_id: str,
        *,
        reason: str,
        note: str | None,
        notify_customer: bool,
        idempotency_key: str,
    ) -> ActionResult:
        params = {"reason": reason, "note": note, "notify_customer": notify_customer}
        return self._once(
            "decline_return", return_id, params, idempotency_key,
            lambda: self._decline(return_id, reason, note, notify_customer),
        )

    def refund_return(
        self, return_id: str, *, amount: Money, notify_customer: bool, idempotency_key: str
    ) -> ActionResult:
        params = {"amount": amount, "notify_customer": notify_customer}
        return self._once(
            "refund_return", return_id, params, idempotency_key, lambda: self._refund(return_id, amount, notify_customer)
        )

    def record_refund(self, return_id: str, *, amount: Money, refunded_in: str, notify_customer: bool,
                      idempotency_key: str) -> ActionResult:
        """As Shopify records a refund against a manual-gateway payment: the same refund on
        the return and the order, with a note, and no money moved (the sample holds none)."""
        params = {"amount": amount, "refunded_in": refunded_in, "notify_customer": notify_customer}
        return self._once("record_refund", return_id, params, idempotency_key,
                          lambda: self._refund(return_id, amount, notify_customer, refunded_in=refunded_in))

    def issue_store_credit(self, customer_id: str, *, amount: Money, idempotency_key: str) -> ActionResult:
        params = {"amount": amount}
        return self._once("issue_store_credit", customer_id, params, idempotency_key, lambda: self._credit(customer_id, amount))

    def close_return(self, return_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
        params = {"note": note}
        return self._once("close_return", return_id, params, idempotency_key, lambda: self._close(return_id, note))

    def release_exchange(self, return_id: str, *, notify_customer: bool, idempotency_key: str) -> ActionResult:
        params = {"notify_customer": notify_customer}
        return self._once("release_exchange", return_id, params, idempotency_key,
                          lambda: self._release_exchange(return_id, notify_customer))

    def remove_exchange(self, return_id: str, *, idempotency_key: str) -> ActionResult:
        return self._once("remove_exchange", return_id, {}, idempotency_key, lambda: self._remove_exchange(return_id))

    def order_facts(self, order_id: str) -> OrderFacts:
        """How the order was placed. The sample has no addresses of its own: they are made
        from the order (an IP in the documentation range, the customer's name), the same
        every time."""
        with self._lock:
            order = _get(self._state.orders, order_id, "order")
            customer = self._state.customers.get(order.customer_id or "")
        address = Address(name=customer.display_name if customer else None, line1=f"{order.number} Sample Street",
                          city="Portland", province="OR", zip="97201", country_code="US")
        return OrderFacts(client_ip=f"198.51.100.{int(order.number) % 250 + 1}", billing_address=address,
                          shipping_address=address, billing_matches_shipping=True)

    def submit_dispute_evidence(self, dispute_id: str, *, evidence, idempotency_key: str) -> ActionResult:
        return self._once("submit_dispute_evidence", dispute_id, {"evidence": dict(evidence)}, idempotency_key,
                          lambda: self._submit_evidence(dispute_id, dict(evidence)))

    def accept_dispute(self, dispute_id: str, *, idempotency_key: str) -> ActionResult:
        return self._once("accept_dispute", dispute_id, {}, idempotency_key, lambda: self._accept_dispute(dispute_id))

    def dispute_evidence(self, dispute_id: str) -> dict[str, str] | None:
        with self._lock:
            return self._state.dispute_evidence.get(dispute_id)

    def refund_shipping(self, order_id: str, *, amount: Money | None, notify_customer: bool,
                        idempotency_key: str) -> ActionResult:
        params = {"amount": amount, "notify_customer": notify_customer}
        return self._once("refund_shipping", order_id, params, idempotency_key,
                          lambda: self._refund_shipping(order_id, amount, notify_customer))

    def refund_order(self, order_id: str, *, amount: Money, items: str | None, notify_customer: bool,
                     idempotency_key: str) -> ActionResult:
        params = {"amount": amount, "items": items, "notify_customer": notify_customer}
        return self._once("refund_order", order_id, params, idempotency_key,
                          lambda: self._refund_order(order_id, amount, items, notify_customer))

    def open_return(self, order_id: str, *, lines: list[tuple[str, int]], reason_note: str | None,
                    requested_at: datetime | None, idempotency_key: str) -> ActionResult:
        params = {"lines": tuple((str(a), int(b)) for a, b in lines), "reason_note": reason_note,
                  "requested_at": requested_at}
        return self._once("open_return", order_id, params, idempotency_key,
                          lambda: self._open_return(order_id, lines, reason_note, requested_at))

    def reship_order(self, order_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
        return self._once("reship_order", order_id, {"note": note}, idempotency_key,
                          lambda: self._reship(order_id, note))

    def add_tags(self, resource_id: str, *, tags: tuple[str, ...], idempotency_key: str) -> ActionResult:
        if not idempotency_key:
            raise ValueError("an idempotency key is required")
        params = {"tags": tuple(tags)}
        with self._lock:
            table = self._state.customers if resource_id in self._state.customers else self._state.orders
            if resource_id not in table:
                err = NotFound(f"the sample store has no customer or order {resource_id}")
                self.calls.append(SampleCall("add_tags", resource_id, params, idempotency_key, error=str(err)))
                raise err
            obj = table[resource_id]
            label = getattr(obj, "display_name", None) or getattr(obj, "name", resource_id)
            have = {t.casefold() for t in obj.tags}
            missing = [t for t in dict.fromkeys(tags) if t.casefold() not in have]
            if not missing:  # checked before acting: nothing to add is a repeat
                result = ActionResult(ok=True, summary=f"{label} is already tagged {', '.join(tags)}",
                                      external_id=resource_id)
                self.calls.append(SampleCall("add_tags", resource_id, params, idempotency_key, replayed=True,
                                             result=result))
                return result
            table[resource_id] = obj.model_copy(update={"tags": (*obj.tags, *missing)})
            result = ActionResult(ok=True, summary=f"{label} tagged {', '.join(missing)}", external_id=resource_id)
            self.calls.append(SampleCall("add_tags", resource_id, params, idempotency_key, result=result))
            return result

    def shipping_left(self, order_id: str) -> Money:
        """The order's shipping charge not refunded yet (shop money)."""
        with self._lock:
            order = _get(self._state.orders, order_id, "order")
            charged, _ = self._state.shipping.get(order.id, (Money.zero(order.currency), None))
            return charged - self._state.shipping_refunded.get(order.id, Money.zero(order.currency))

    def replacements_of(self, order_id: str) -> list[str]:
        """The replacement orders reship_order made for an order."""
        with self._lock:
            return list(self._state.replacements.get(order_id, ()))

    def exchange_released(self, return_id: str) -> int:
        """Units of the return's exchange released so far."""
        with self._lock:
            return sum(x["released"] for x in self._state.exchanges.get(return_id, ()))

    # --- internals --------------------------------------------------------------------------

    def _once(
        self, method: str, target: str, params: dict[str, Any], key: str, work: Callable[[], ActionResult]
    ) -> ActionResult:
        if not key:
            raise ValueError("an idempotency key is required")
        fingerprint = (method, target, tuple(sorted((k, repr(v)) for k, v in params.items())))
        with self._lock:
            seen = self._done.get(key)
            if seen is not None:
                if seen[0] != fingerprint:
                    err = IntegrationError(
                        f"idempotency key {key!r} was already used for a different request", retryable=False, system=SOURCE
                    )
                    self.calls.append(SampleCall(method, target, params, key, replayed=True, error=str(err)))
                    raise err
                self.calls.append(SampleCall(method, target, params, key, replayed=True, result=seen[1]))
                return seen[1]
            try:
                result = work()
            except (IntegrationError, NotFound) as exc:
                self.calls.append(SampleCall(method, target, params, key, error=str(exc)))
                raise
            self._done[key] = (fingerprint, result)
            self.calls.append(SampleCall(method, target, params, key, result=result))
            return result

    def _requested(self, return_id: str, verb: str) -> ReturnRequest:
        ret = _get(self._state.returns, return_id, "return")
        if ret.status is not ReturnStatus.REQUESTED:
            raise IntegrationError(
                f"cannot {verb} return {ret.name}: it is {ret.status.value}, not REQUESTED", retryable=False, system=SOURCE
            )
        return ret

    def _approve(self, return_id: str, notify: bool) -> ActionResult:
        ret = self._requested(return_id, "approve")
        self._approved_at.setdefault(ret.id, utc(self._clock()))
        self._state.returns[ret.id] = ret.model_copy(update={"status": ReturnStatus.APPROVED})
        return ActionResult(ok=True, summary=f"return {ret.name} approved{_notified(notify)}", external_id=ret.id)

    def _submit_evidence(self, dispute_id: str, evidence: dict[str, str]) -> ActionResult:
        """Like Shopify Payments': evidence goes once, while the dispute needs a response."""
        d = _get(self._state.disputes, dispute_id, "dispute")
        if dispute_id in self._state.dispute_evidence:
            return ActionResult(ok=True, summary="evidence already submitted (not sent twice)", external_id=d.id)
        if d.status is not DisputeStatus.NEEDS_RESPONSE:
            raise IntegrationError(f"dispute {d.id} is {d.status.value.lower().replace('_', ' ')}: nothing was sent",
                                   retryable=False, system=SOURCE)
        if d.evidence_due_by is not None and d.evidence_due_by < self._clock():
            raise IntegrationError(f"dispute {d.id}: evidence was due {d.evidence_due_by:%Y-%m-%d}, nothing was sent",
                                   retryable=False, system=SOURCE)
        self._state.dispute_evidence[dispute_id] = evidence
        self._state.disputes[dispute_id] = d.model_copy(update={"status": DisputeStatus.UNDER_REVIEW})
        return ActionResult(ok=True, summary="evidence submitted to the sample store's payments", external_id=d.id)

    def _accept_dispute(self, dispute_id: str) -> ActionResult:
        d = _get(self._state.disputes, dispute_id, "dispute")
        if d.status is DisputeStatus.ACCEPTED:
            return ActionResult(ok=True, summary="the dispute was already accepted", external_id=d.id)
        if not d.is_open:
            raise IntegrationError(f"dispute {d.id} is {d.status.value.lower()}: it can't be accepted now",
                                   retryable=False, system=SOURCE)
        self._state.disputes[dispute_id] = d.model_copy(update={"status": DisputeStatus.ACCEPTED})
        return ActionResult(ok=True, summary="dispute accepted (the loss)", external_id=d.id)

    def _close(self, return_id: str, note: str | None) -> ActionResult:
        ret = _get(self._state.returns, return_id, "return")
        if ret.status is ReturnStatus.CLOSED:
            return ActionResult(ok=True, summary=f"return {ret.name} was already closed", external_id=ret.id)
        if ret.status is not ReturnStatus.APPROVED:
            raise IntegrationError(
                f"cannot close return {ret.name}: it is {ret.status.value}, not OPEN", retryable=False, system=SOURCE
            )
        self._state.returns[ret.id] = ret.model_copy(update={"status": ReturnStatus.CLOSED})
        why = f": {note}" if note else ""
        return ActionResult(ok=True, summary=f"return {ret.name} closed{why}", external_id=ret.id)

    def _release_exchange(self, return_id: str, notify: bool) -> ActionResult:
        """Like Shopify's: check stock for every unit still to release, then release them all,
        or nothing. What was released already is a repeat under any key."""
        ret = _get(self._state.returns, return_id, "return")
        lines = self._state.exchanges.get(ret.id, [])
        if not lines:  # the policy recommended an exchange; the customer chose no exchange item
            return ActionResult(ok=True, summary=f"return {ret.name} has no exchange items: nothing to release",
                                external_id=ret.id)
        if ret.status is ReturnStatus.REQUESTED:
            raise IntegrationError(f"return {ret.name} is not approved yet; the exchange waits for it",
                                   retryable=True, system=SOURCE)
        pending = [x for x in lines if x["released"] < x["quantity"]]
        if not pending:
            return ActionResult(ok=True, summary=f"exchange for return {ret.name} was already released", external_id=ret.id)
        if ret.status is not ReturnStatus.APPROVED:
            raise IntegrationError(f"cannot release the exchange of return {ret.name}: it is {ret.status.value}",
                                   retryable=False, system=SOURCE)
        wanted: dict[str, int] = {}
        for x in pending:
            wanted[x["variant_id"]] = wanted.get(x["variant_id"], 0) + x["quantity"] - x["released"]
        items = []
        for x in pending:
            available = self._state.stock.get(x["variant_id"])
            ok = in_stock(wanted=wanted[x["variant_id"]], available=available, tracked=available is not None,
                          oversell=False)
            items.append(ExchangeItem(x["id"], x["title"], x["quantity"] - x["released"], available, ok))
        short = tuple(i for i in items if not i.in_stock)
        if short:
            raise ExchangeOutOfStock(f"exchange for return {ret.name}: {', '.join(i.title for i in short)} out of "
                                     f"stock; nothing released", items=short, system=SOURCE)
        for x in pending:
            if x["variant_id"] in self._state.stock:
                self._state.stock[x["variant_id"]] -= x["quantity"] - x["released"]
            x["released"] = x["quantity"]
        units = sum(i.quantity for i in items)
        return ActionResult(ok=True, summary=f"exchange for return {ret.name} released ({units} item(s)){_notified(notify)}",
                            external_id=ret.id)

    def _remove_exchange(self, return_id: str) -> ActionResult:
        """The units not released leave the return; what was released stays (it shipped)."""
        ret = _get(self._state.returns, return_id, "return")
        lines = self._state.exchanges.get(ret.id, [])
        units = sum(x["quantity"] - x["released"] for x in lines)
        if not units:
            return ActionResult(ok=True, summary=f"no exchange items left to remove from return {ret.name}",
                                external_id=ret.id)
        if ret.status not in (ReturnStatus.REQUESTED, ReturnStatus.APPROVED):
            raise IntegrationError(f"cannot edit return {ret.name}: it is {ret.status.value}", retryable=False,
                                   system=SOURCE)
        self._state.exchanges[ret.id] = [{**x, "quantity": x["released"]} for x in lines if x["released"]]
        return ActionResult(ok=True, summary=f"{units} exchange item(s) removed from return {ret.name}",
                            external_id=ret.id)

    def _decline(self, return_id: str, reason: str, note: str | None, notify: bool) -> ActionResult:
        ret = self._requested(return_id, "decline")
        if DeclineReason.parse(reason) is None:
            raise IntegrationError(
                f"decline reason must be one of {', '.join(sorted(DECLINE_REASONS))}, not {reason!r}",
                retryable=False,
                system=SOURCE,
            )
        self._state.returns[ret.id] = ret.model_copy(update={"status": ReturnStatus.DECLINED})
        return ActionResult(ok=True, summary=f"return {ret.name} declined ({reason}){_notified(notify)}", external_id=ret.id)

    def _refund(self, return_id: str, amount: Money, notify: bool, *, refunded_in: str | None = None) -> ActionResult:
        ret = _get(self._state.returns, return_id, "return")
        if ret.status is not ReturnStatus.APPROVED:
            hint = "; approve it first" if ret.status is ReturnStatus.REQUESTED else ""
            raise IntegrationError(
                f"cannot refund return {ret.name}: it is {ret.status.value}, not OPEN{hint}", retryable=False, system=SOURCE
            )
        order = self._state.orders[ret.order_id]
        if amount.amount <= 0:
            raise IntegrationError(f"refund amount must be positive, got {amount}", retryable=False, system=SOURCE)
        mine = [r for rid, r in self._state.refunds.items() if self._state.refund_return.get(rid) == ret.id]
        shop_amount, charged = self._refund_moneys(ret, order, amount, mine)
        already = total([r.amount for r in mine], order.currency)
        if already + shop_amount > ret.amount:
            raise IntegrationError(
                f"refund {amount} exceeds what is left on return {ret.name} ({ret.amount - already} of {ret.amount})",
                retryable=False,
                system=SOURCE,
            )
        left = order.received - order.refunded
        if shop_amount > left:
            raise IntegrationError(
                f"refund {amount} exceeds the {left} left to refund on order {order.name}", retryable=False, system=SOURCE
            )
        self._state.next_refund += 1
        refund = Refund(
            id=f"gid://shopify/Refund/{_REFUND_BASE + self._state.next_refund}",
            order_id=order.id,
            created_at=utc(self._clock()),
            amount=shop_amount,
            note=f"Refunded in {refunded_in} (return {ret.name})" if refunded_in else f"Refund for return {ret.name}",
            presentment_amount=charged,
        )
        self._state.refunds[refund.id] = refund
        self._state.refund_return[refund.id] = ret.id
        self._processed.append(stages.processed(ret, refund.created_at, shop_amount, source=EVENT_SOURCE, ref=refund.id))
        self._state.orders[order.id] = _with_refunds(order, order.refunds + (refund,))
        to_customer = f" ({charged} to the customer)" if charged is not None else ""
        if refunded_in:
            return ActionResult(ok=True, summary=f"refund {shop_amount} recorded (refunded in {refunded_in}, no money "
                                f"moved){_notified(notify)}", external_id=refund.id)
        return ActionResult(ok=True, summary=f"refund {shop_amount} issued{to_customer}{_notified(notify)}",
                            external_id=refund.id)

    @staticmethod
    def _refund_moneys(ret: ReturnRequest, order: Order, amount: Money, earlier: list[Refund]) -> tuple[Money, Money | None]:
        """(shop money, what goes back to the customer when they paid in another currency).
        The customer is refunded in the currency they paid (as Shopify's refund
        transactions are): shop money is converted at the return's own rate, and the last
        of it gives back exactly what is left of what they were charged."""
        charged_total = ret.presentment_amount if order.presentment_total is not None else None
        if charged_total is None:
            if amount.currency != order.currency:
                raise IntegrationError(
                    f"refund currency {amount.currency} does not match order {order.name} ({order.currency})",
                    retryable=False, system=SOURCE,
                )
            return amount, None
        cur = charged_total.currency
        if amount.currency not in (order.currency, cur):
            raise IntegrationError(
                f"refund currency {amount.currency} is neither order {order.name}'s shop currency ({order.currency}) "
                f"nor what the customer paid in ({cur})", retryable=False, system=SOURCE,
            )
        shop_left = ret.amount - total([r.amount for r in earlier], order.currency)
        charged_left = charged_total - total([r.presentment_amount or Money.zero(cur) for r in earlier], cur)
        if amount.currency == order.currency:
            if amount == shop_left:
                return amount, charged_left
            return amount, _converted(amount, charged_total, ret.amount)
        if amount == charged_left:
            return shop_left, amount
        return _converted(amount, ret.amount, charged_total), amount

    def _refund_shipping(self, order_id: str, amount: Money | None, notify: bool) -> ActionResult:
        order = _get(self._state.orders, order_id, "order")
        shipping, charged_shipping = self._state.shipping.get(order.id, (Money.zero(order.currency), None))
        done = self._state.shipping_refunded.get(order.id, Money.zero(order.currency))
        left = shipping - done
        if amount is not None and amount.currency != order.currency:
            raise IntegrationError(f"shipping refund in {amount.currency}, but order {order.name} is in {order.currency}",
                                   retryable=False, system=SOURCE)
        if amount is not None and amount.amount <= 0:
            raise IntegrationError(f"shipping refund must be positive, got {amount}", retryable=False, system=SOURCE)
        if left.amount <= 0:
            raise IntegrationError(f"order {order.name} has no shipping left to refund (charged {shipping})",
                                   retryable=False, system=SOURCE)
        shop_amount = left if amount is None else amount
        if shop_amount > left:
            raise IntegrationError(f"shipping refund {amount} is more than the {left} of shipping left to refund on "
                                   f"order {order.name}", retryable=False, system=SOURCE)
        charged = None
        if charged_shipping is not None:  # back in the currency the customer paid, at the shipping's own rate
            charged = (charged_shipping - _converted(done, charged_shipping, shipping) if shop_amount == left
                       else _converted(shop_amount, charged_shipping, shipping))
        self._state.next_refund += 1
        refund = Refund(id=f"gid://shopify/Refund/{_REFUND_BASE + self._state.next_refund}", order_id=order.id,
                        created_at=utc(self._clock()), amount=shop_amount, note=f"Shipping refund for order {order.name}",
                        presentment_amount=charged)
        self._state.refunds[refund.id] = refund
        self._state.shipping_refunded[order.id] = done + shop_amount
        self._state.orders[order.id] = _with_refunds(order, order.refunds + (refund,))
        return ActionResult(ok=True, summary=f"shipping refund {shop_amount} issued for order {order.name}{_notified(notify)}",
                            external_id=refund.id)

    def _open_return(self, order_id: str, lines: list[tuple[str, int]], reason_note: str | None,
                     requested_at: datetime | None) -> ActionResult:
        """An approved return on the order (its stages then follow, as for any approved
        return: stage_events); a line not on the order, or more than is left to return of
        it (its quantity minus what the order's other returns hold), is refused."""
        order = _get(self._state.orders, order_id, "order")
        if not lines:
            raise IntegrationError("a return needs at least one line", retryable=False, system=SOURCE)
        by_id = {li.id: li for li in order.line_items}
        held: dict[str, int] = {}
        for r in self._state.returns.values():
            if r.order_id == order.id and r.status not in (ReturnStatus.DECLINED, ReturnStatus.CANCELED):
                for rl in r.line_items:
                    held[rl.line_item_id] = held.get(rl.line_item_id, 0) + rl.quantity
        self._state.next_return += 1
        n = self._state.next_return
        out = []
        for i, (line_id, qty) in enumerate(lines):
            li = by_id.get(line_id)
            if li is None:
                raise IntegrationError(f"order {order.name} has no line {line_id}", retryable=False, system=SOURCE)
            left = li.quantity - held.get(li.id, 0)
            if qty <= 0 or qty > left:
                raise IntegrationError(f"{li.title}: {qty} to return, but {left} can be", retryable=False,
                                       system=SOURCE)
            held[li.id] = held.get(li.id, 0) + qty
            out.append(ReturnLineItem(id=f"gid://shopify/ReturnLineItem/{_OPENED_RETURN_BASE + n * 100 + i}",
                                      line_item_id=li.id, title=li.title, sku=li.sku, quantity=qty,
                                      unit_price=li.unit_price, reason="OTHER", reason_note=reason_note,
                                      product_tags=li.product_tags, presentment_unit_price=li.presentment_unit_price))
        count = 1 + sum(1 for r in self._state.returns.values() if r.order_id == order.id)
        ret = ReturnRequest(id=f"gid://shopify/Return/{_OPENED_RETURN_BASE + n}", name=f"{order.name}-R{count}",
                            order_id=order.id, status=ReturnStatus.APPROVED,
                            requested_at=utc(requested_at) if requested_at else utc(self._clock()),
                            line_items=tuple(out))
        self._state.returns[ret.id] = ret
        self._approved_at.setdefault(ret.id, utc(self._clock()))
        return ActionResult(ok=True, summary=f"return {ret.name} opened on order {order.name}", external_id=ret.id)

    def _refund_order(self, order_id: str, amount: Money, items: str | None, notify: bool) -> ActionResult:
        """A refund on the order with no return behind it (a ticket's return): shop money,
        at most what is left to refund; back in the currency the customer paid, at the
        order's own rate."""
        order = _get(self._state.orders, order_id, "order")
        if amount.currency != order.currency:
            raise IntegrationError(f"refund in {amount.currency}, but order {order.name} is in {order.currency}",
                                   retryable=False, system=SOURCE)
        if amount.amount <= 0:
            raise IntegrationError(f"refund amount must be positive, got {amount}", retryable=False, system=SOURCE)
        left = order.received - order.refunded
        if amount > left:
            raise IntegrationError(f"refund {amount} exceeds the {left} left to refund on order {order.name}",
                                   retryable=False, system=SOURCE)
        charged = (_converted(amount, order.presentment_total, order.total)
                   if order.presentment_total is not None and order.total.amount > 0 else None)
        self._state.next_refund += 1
        what = f" — {items}" if items else ""
        refund = Refund(id=f"gid://shopify/Refund/{_REFUND_BASE + self._state.next_refund}", order_id=order.id,
                        created_at=utc(self._clock()), amount=amount, note=f"Refund for order {order.name}{what}",
                        presentment_amount=charged)
        self._state.refunds[refund.id] = refund
        self._state.orders[order.id] = _with_refunds(order, order.refunds + (refund,))
        to_customer = f" ({charged} to the customer)" if charged is not None else ""
        return ActionResult(ok=True, summary=f"refund {amount} issued for order {order.name}{to_customer}"
                            f"{_notified(notify)}", external_id=refund.id)

    def _reship(self, order_id: str, note: str | None) -> ActionResult:
        order = _get(self._state.orders, order_id, "order")
        if not order.shipments:
            raise IntegrationError(f"order {order.name} has not shipped yet: nothing to reship (the order itself "
                                   f"still owes its items)", retryable=False, system=SOURCE)
        if all(s.status is DeliveryStatus.DELIVERED for s in order.shipments):
            raise IntegrationError(f"order {order.name} was delivered: nothing to reship", retryable=False, system=SOURCE)
        self._state.next_order += 1
        new_id = f"{_GID_ORDER}{_REPLACEMENT_BASE + self._state.next_order}"
        zero = Money.zero(order.currency)
        replacement = Order(
            id=new_id, name=f"{order.name}-R{len(self._state.replacements.get(order.id, ())) + 1}",
            created_at=utc(self._clock()), currency=order.currency, total=zero, received=zero, refunded=zero,
            financial_status="PAID", fulfillment_status="UNFULFILLED", customer_id=order.customer_id,
            email=order.email, tags=(REPLACEMENT_TAG,),
            line_items=tuple(li.model_copy(update={"id": f"{li.id}-r{self._state.next_order}", "unit_price": zero,
                                                   "presentment_unit_price": None}) for li in order.line_items),
        )
        self._state.orders[new_id] = replacement
        self._state.replacements.setdefault(order.id, []).append(new_id)
        units = sum(li.quantity for li in order.line_items)
        why = f": {note}" if note else ""
        return ActionResult(ok=True, summary=f"replacement order {replacement.name} created for order {order.name} "
                                             f"({units} item(s), no charge){why}", external_id=new_id)

    def _credit(self, customer_id: str, amount: Money) -> ActionResult:
        customer = _get(self._state.customers, customer_id, "customer")
        if amount.amount <= 0:
            raise IntegrationError(f"store credit must be positive, got {amount}", retryable=False, system=SOURCE)
        balance = self._state.store_credit.get(customer_id, Money.zero(amount.currency))
        if balance.currency != amount.currency:
            raise IntegrationError(
                f"store credit in {amount.currency} but the account is in {balance.currency}", retryable=False, system=SOURCE
            )
        self._state.store_credit[customer_id] = balance + amount
        self._state.next_credit += 1
        return ActionResult(
            ok=True,
            summary=f"store credit {amount} issued to {customer.display_name}",
            external_id=f"gid://shopify/StoreCreditAccountCreditTransaction/{_CREDIT_BASE + self._state.next_credit}",
        )

    def _orders_of(self, customer_id: str) -> list[Order]:
        return [o for o in self._state.orders.values() if o.customer_id == customer_id and o.cancelled_at is None]

    def _return_events(self) -> list[DomainEvent]:
        return [_return_event(r) for r in self._state.returns.values() if r.requested_at >= self.feed_since]

    def _order_events(self) -> list[DomainEvent]:
        return [_order_event(o) for o in self._state.orders.values() if o.created_at >= self.feed_since]

    def _dispute_events(self) -> list[DomainEvent]:
        return [
            DomainEvent(
                source=EVENT_SOURCE, kind=EventKind.DISPUTE_CREATED, resource_id=d.id, order_id=d.order_id,
                occurred_at=d.initiated_at,
                detail={"status": d.status, "reason": d.reason or "", "amount": str(d.amount.amount), "currency": d.amount.currency},
            )
            for d in self._state.disputes.values()
            if d.initiated_at >= self.feed_since
        ]

    def _refund_events(self) -> list[DomainEvent]:
        return [
            DomainEvent(
                source=EVENT_SOURCE, kind=EventKind.REFUND_CREATED, resource_id=r.id, order_id=r.order_id,
                occurred_at=r.created_at, detail={"amount": str(r.amount.amount), "currency": r.amount.currency},
            )
            for r in self._state.refunds.values()
            if r.created_at >= self.feed_since
        ]


# --- helpers ------------------------------------------------------------------------------


def _get(table: dict[str, Any], key: str, what: str) -> Any:
    try:
        return table[key]
    except (KeyError, TypeError):
        raise NotFound(f"no {what} {key!r} in the sample store") from None


def _notified(notify: bool) -> str:
    return "; customer notified" if notify else ""


def _past(r: ReturnRequest) -> PastReturn:
    return PastReturn(return_id=r.id, order_id=r.order_id, requested_at=r.requested_at, amount=r.amount, status=r.status)


def _sorted(events: Iterable[DomainEvent]) -> list[DomainEvent]:
    return sorted(events, key=lambda e: (e.occurred_at, _EVENT_ORDER[e.kind], e.resource_id))


def _when(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a time, got {value!r}")
    return utc(value)


def _return_event(r: ReturnRequest) -> DomainEvent:
    return DomainEvent(
        source=EVENT_SOURCE, kind=EventKind.RETURN_REQUESTED, resource_id=r.id, order_id=r.order_id,
        occurred_at=_when(r.requested_at), detail={"name": r.name or ""},
    )


def _order_event(o: Order) -> DomainEvent:
    return DomainEvent(
        source=EVENT_SOURCE, kind=EventKind.ORDER_CREATED, resource_id=o.id, order_id=o.id,
        occurred_at=_when(o.created_at), detail={"name": o.name},
    )


def _poll_page(items: Iterable[Any], build: Callable[[Any], DomainEvent | None], cursor: str | None) -> PollPage:
    """`_page` over what `build` maps; an item it cannot map is set aside in `unmapped`
    (the poll goes on without it) instead of stopping the poll."""
    events: list[DomainEvent] = []
    unmapped: list[Unmapped] = []
    for item in items:
        try:
            event = build(item)
        except (KeyError, TypeError, ValueError) as exc:
            unmapped.append(Unmapped(ref=str(getattr(item, "id", None) or "(no id)"), error=f"{type(exc).__name__}: {exc}"))
            continue
        if event is not None:
            events.append(event)
    page = _page(events, cursor)
    return PollPage(events=page.events, cursor=page.cursor, unmapped=unmapped)


def _page(events: list[DomainEvent], cursor: str | None) -> PollPage:
    """Events strictly newer than `cursor` (an ISO timestamp), oldest first; the new cursor
    is the newest one seen (unchanged when there is nothing new)."""
    if cursor is not None:
        after = _parse_cursor(cursor)
        events = [e for e in events if e.occurred_at > after]
    events = _sorted(events)
    return PollPage(events=events, cursor=events[-1].occurred_at.isoformat() if events else cursor)


def _parse_cursor(cursor: str) -> datetime:
    try:
        value = datetime.fromisoformat(cursor)
    except ValueError:
        raise ValueError(f"not an ISO timestamp cursor: {cursor!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"cursor must carry a UTC offset: {cursor!r}")
    return value.astimezone(timezone.utc)


def _converted(amount: Money, to: Money, per: Money) -> Money:
    """`amount` at the rate `to` / `per` (two amounts of the same thing), rounded half-up
    to what `to`'s currency allows."""
    value = amount.amount * to.amount / per.amount
    return Money(amount=value.quantize(Decimal(1).scaleb(-to.exponent), rounding=ROUND_HALF_UP), currency=to.currency)


def _with_refunds(order: Order, refunds: tuple[Refund, ...]) -> Order:
    refunded = total([r.amount for r in refunds], order.currency)
    if refunded.amount == 0:
        status = "PAID"
    elif refunded < order.received:
        status = "PARTIALLY_REFUNDED"
    else:
        status = "REFUNDED"
    return order.model_copy(update={"refunds": refunds, "refunded": refunded, "financial_status": status})


# --- loading the JSON ---------------------------------------------------------------------


def _parse(data: dict[str, Any], now: datetime) -> _Sample:
    def ago(days: float | None) -> datetime | None:
        return None if days is None else now - timedelta(days=days)

    def ahead(days: float | None) -> datetime | None:
        return None if days is None else now + timedelta(days=days)

    def money(value: str, currency: str) -> Money:
        if not isinstance(value, str):
            raise SampleDataError(f"money must be a decimal string, got {value!r}")
        return Money(amount=Decimal(value), currency=currency)

    state = _Sample()
    for c in data["customers"]:
        state.customers[c["id"]] = Customer(
            id=c["id"],
            display_name=f"{c['first_name']} {c['last_name']}".strip(),
            email=c.get("email"),
            tags=tuple(c.get("tags", ())),
            lifetime_spend=Money.zero(data.get("shop", {}).get("currency", "USD")),
            created_at=ago(c.get("created_days_ago")),
        )

    line_items: dict[str, tuple[str, LineItem]] = {}  # line item id -> (order id, item)
    for o in data["orders"]:
        cur = o["currency"]
        charged_in = o.get("presentment_currency")  # a multi-currency order: what the customer paid in

        def charged(value: str | None, currency: str | None = charged_in) -> Money | None:
            return money(value, currency) if currency and value is not None else None

        if o.get("customer_id") is not None and o["customer_id"] not in state.customers:
            raise SampleDataError(f"order {o['name']}: unknown customer {o['customer_id']}")
        items = tuple(
            LineItem(
                id=li["id"],
                title=li["title"],
                sku=li.get("sku"),
                variant_title=li.get("variant_title"),
                quantity=li["quantity"],
                unit_price=money(li["unit_price"], cur),
                product_tags=tuple(li.get("product_tags", ())),
                presentment_unit_price=charged(li.get("presentment_unit_price")),
            )
            for li in o["line_items"]
        )
        for li in items:
            line_items[li.id] = (o["id"], li)
        amount = total([li.unit_price * li.quantity for li in items], cur) + money(o.get("shipping", "0.00"), cur)
        if amount != money(o["total"], cur):
            raise SampleDataError(f"order {o['name']}: total {o['total']} but items + shipping come to {amount.amount}")
        charged_total = charged(o.get("presentment_total"))
        if charged_in:
            if any(li.presentment_unit_price is None for li in items) or charged_total is None:
                raise SampleDataError(f"order {o['name']}: paid in {charged_in}, so every price needs its {charged_in} amount")
            paid = total([li.presentment_unit_price * li.quantity for li in items], charged_in)  # type: ignore[operator]
            paid = paid + money(o.get("presentment_shipping", "0.00"), charged_in)
            if paid != charged_total:
                raise SampleDataError(f"order {o['name']}: charged {charged_total.amount} but items + shipping come to {paid.amount}")
        shipments = tuple(
            Shipment(
                id=s["id"],
                status=DeliveryStatus(s["status"]),
                carrier=s.get("carrier"),
                tracking_number=s.get("tracking_number"),
                tracking_url=s.get("tracking_url"),
                shipped_at=ago(s.get("shipped_days_ago")),
                delivered_at=ago(s.get("delivered_days_ago")),
                estimated_delivery_at=ahead(s.get("estimated_delivery_in_days")),
                source=EVENT_SOURCE,
            )
            for s in o.get("shipments", ())
        )
        refunds = tuple(
            Refund(id=r["id"], order_id=o["id"], created_at=ago(r["created_days_ago"]), amount=money(r["amount"], cur), note=r.get("note"),
                   presentment_amount=charged(r.get("presentment_amount")))
            for r in o.get("refunds", ())
        )
        for spec, refund in zip(o.get("refunds", ()), refunds):
            state.refunds[refund.id] = refund
            if spec.get("return_id"):
                state.refund_return[refund.id] = spec["return_id"]
            state.next_refund = max(state.next_refund, int(refund.id.rsplit("/", 1)[1]) - _REFUND_BASE)
        risk = o.get("risk")
        order = Order(
            id=o["id"],
            name=o["name"],
            created_at=ago(o["created_days_ago"]),
            currency=cur,
            total=amount,
            received=amount,
            refunded=Money.zero(cur),
            fulfillment_status="FULFILLED" if shipments else "UNFULFILLED",
            customer_id=o.get("customer_id"),
            email=o.get("email"),
            tags=tuple(o.get("tags", ())),
            line_items=items,
            shipments=shipments,
            risk=PaymentRisk(source="shopify", level=RiskLevel(risk["level"]), facts=tuple(risk.get("facts", ()))) if risk else None,
            cancelled_at=ago(o.get("cancelled_days_ago")),
            presentment_total=charged_total,
        )
        state.orders[order.id] = _with_refunds(order, refunds)
        state.shipping[order.id] = (money(o.get("shipping", "0.00"), cur),
                                    charged(o.get("presentment_shipping", "0.00")) if charged_in else None)

    for r in data["returns"]:
        if r["order_id"] not in state.orders:
            raise SampleDataError(f"return {r['name']}: unknown order {r['order_id']}")
        lines = []
        for rli in r["line_items"]:
            owner, li = line_items.get(rli["line_item_id"], (None, None))
            if li is None or owner != r["order_id"]:
                raise SampleDataError(f"return {r['name']}: line item {rli['line_item_id']} is not on its order")
            if not 0 < rli["quantity"] <= li.quantity:
                raise SampleDataError(f"return {r['name']}: returns {rli['quantity']} of {li.quantity} {li.title}")
            lines.append(
                ReturnLineItem(
                    id=rli["id"],
                    line_item_id=li.id,
                    title=li.title,
                    sku=li.sku,
                    quantity=rli["quantity"],
                    unit_price=li.unit_price,
                    reason=rli["reason"],
                    reason_note=rli.get("reason_note"),
                    customer_note=rli.get("customer_note"),
                    product_tags=li.product_tags,
                    presentment_unit_price=li.presentment_unit_price,
                )
            )
        state.exchanges[r["id"]] = [
            {"id": x["id"], "title": x["title"], "variant_id": x["variant_id"], "quantity": int(x.get("quantity", 1)),
             "released": int(x.get("released", 0))}
            for x in r.get("exchange_items", ())
        ]
        state.returns[r["id"]] = ReturnRequest(
            id=r["id"],
            name=r.get("name"),
            order_id=r["order_id"],
            status=ReturnStatus(r["status"]),
            requested_at=ago(r["requested_days_ago"]),
            line_items=tuple(lines),
        )
    state.stock = {str(k): int(v) for k, v in data.get("stock", {}).items()}
    for refund_id, return_id in state.refund_return.items():
        if return_id not in state.returns:
            raise SampleDataError(f"refund {refund_id}: unknown return {return_id}")

    for d in data.get("disputes", ()):
        if d.get("order_id") is not None and d["order_id"] not in state.orders:
            raise SampleDataError(f"dispute {d['id']}: unknown order {d['order_id']}")
        state.disputes[d["id"]] = Dispute(
            id=d["id"],
            order_id=d.get("order_id"),
            status=d["status"],
            reason=d.get("reason"),
            amount=money(d["amount"], d["currency"]),
            initiated_at=ago(d["initiated_days_ago"]),
            evidence_due_by=ahead(d.get("evidence_due_in_days")),
        )
    return state
