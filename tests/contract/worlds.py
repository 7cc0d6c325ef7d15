"""World builders: the one place an adapter implements to join the contract suites.

A world is a store system in a known state plus the adapter under test over it. The suites
build what they need through the world's `add_*` methods (absolute, aware UTC times; money
as decimal strings in the world's currency), then exercise the adapter only through the
`policy.ports` protocols (`world.source`, `world.actions`). What a protocol cannot show —
what the vendor actually applied, a store-credit balance — the world reads from the
vendor's own record (`effects()`, `store_credit_balance()`).

To add an adapter: write a class with the same members as `SampleWorld` (using the
adapter's own scripting surface: its fake vendor or its data), list the capabilities and
operations (store actions) it implements and any gaps, and add it to `WORLDS`. Every suite
of those capabilities, and every action test of those operations, then runs against it.

Gaps: where an adapter does not meet a clause of the contract, the world names the clause
in `gaps` with the reason, and the test skips saying so. A gap is a bug in the adapter, not
a licence: fix the adapter and delete the entry (the suites never weaken a clause to fit).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

import pytest

from policy.models import Money
from policy.ports import StoreActions, StoreSource

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
CURRENCY = "EUR"  # not the USD default, so a hard-coded currency shows

# What a test's marks name, in the connector registry's words: capabilities as
# `integrations.connector.Capability` names them, store actions as `policy.ports.Operation`
# (the keys of a connector's `actions`).
CAPABILITIES = frozenset({"orders", "returns", "customers", "payments", "disputes", "shipments", "tickets"})
ACTION_NAMES = ("approve_return", "decline_return", "refund_return", "issue_store_credit")
SHIPMENT_REMEDIES = ("refund_shipping", "reship_order")  # the delayed-shipment case's actions
# record_refund: a refund made by the processor holding the money, recorded in the store.
# add_tags: a moment's tags on the customer or the order (issue 13); refund_order: a refund on
# an order with no store return (a return asked for in a ticket); open_return: that return
# opened in the store instead (approved), so the items come back through its lifecycle.
OPERATIONS = frozenset(ACTION_NAMES + SHIPMENT_REMEDIES) | {"record_refund", "add_tags", "refund_order",
                                                           "open_return"}

# Clauses a world may declare as gaps. Each names one assertion the suites make.
DECIDED_STATUSES = ("OPEN", "DECLINED", "CLOSED", "CANCELED")
CLAUSES = frozenset({
    "poll.unmappable",                    # a poll sets an unmappable item aside and goes on
    "poll.only_newer",                    # a poll from a cursor finds nothing the last poll found
    "actions.replay_same_result",         # the same key again returns the very same ActionResult
    "actions.refund_over_return",         # refunding more than the return is worth is refused
    # the same key for another request (another target, other arguments) is refused
    *(f"actions.key_reuse.{a}.{v}" for a in ACTION_NAMES for v in ("other_target", "other_arguments")),
    *(f"actions.key_required.{a}" for a in ACTION_NAMES),  # an action without a key is refused
    # approving / declining a return that isn't REQUESTED is refused (non-retryable)
    *(f"actions.{verb}_not_requested.{s}" for verb in ("approve", "decline") for s in DECIDED_STATUSES),
    "actions.record_refuses_store_money",  # recording is refused where the store would move money
})

class Unsupported(Exception):
    """The world cannot build this (not a gap: the adapter's data simply cannot hold it)."""


@dataclass(frozen=True)
class Line:
    """A line to put on an order."""

    title: str
    price: str  # unit price, a decimal string in the world's currency
    quantity: int = 1
    sku: str | None = None


@dataclass(frozen=True)
class Item:
    """A returned line: the order's line at `index`, with why."""

    index: int = 0
    quantity: int | None = None  # default: the whole line
    reason: str = "SIZE_TOO_SMALL"
    reason_note: str | None = None
    customer_note: str | None = None


@dataclass(frozen=True)
class OrderRef:
    id: str
    name: str  # "#1001"
    line_ids: tuple[str, ...]
    lines: tuple[Line, ...]
    created_at: datetime


@dataclass(frozen=True)
class ReturnRef:
    id: str
    name: str
    order: OrderRef
    requested_at: datetime
    items: tuple[Item, ...]


class World(Protocol):
    name: str  # the test id: test_x[shopify]
    capabilities: frozenset[str]  # of CAPABILITIES: the read suites it runs
    operations: frozenset[str]  # of OPERATIONS: the store actions it executes
    gaps: dict[str, str]  # clause -> why this adapter does not meet it
    currency: str  # the shop's
    now: datetime  # when the world was built; `advance` moves the adapter's clock on from it

    @property
    def source(self) -> StoreSource: ...
    @property
    def actions(self) -> StoreActions: ...

    def advance(self, **delta: float) -> None: ...
    def add_customer(self, name: str, *, email: str, tags: tuple[str, ...] = (), created_at: datetime) -> str: ...
    def add_order(self, *, name: str, created_at: datetime, lines: list[Line], customer: str | None = None,
                  email: str | None = None, delivered_at: datetime | None = None) -> OrderRef: ...
    def add_refund(self, order: OrderRef, *, amount: str, created_at: datetime, note: str | None = None) -> str: ...
    def pay_outside(self, order: OrderRef) -> None: ...  # its payment taken by a processor, only recorded here
    def add_return(self, order: OrderRef, *, status: str = "REQUESTED", requested_at: datetime,
                   items: list[Item] | None = None) -> ReturnRef: ...
    def add_unmappable_return(self, order: OrderRef, *, requested_at: datetime) -> str: ...
    def add_dispute(self, order: OrderRef, *, status: str, reason: str, amount: str, initiated_at: datetime,
                    evidence_due_by: datetime | None = None) -> str: ...
    def unknown_id(self, kind: str) -> str: ...  # a well-formed id of nothing: "order", "return", …
    def lose_next_answer(self, action: str) -> None: ...  # the next write for `action` lands, its answer is lost
    def effects(self) -> Counter[str]: ...  # what the vendor applied: approve / decline / refund / store_credit

    def store_credit_balance(self, customer_id: str) -> Money: ...
    # The shipment remedies: an order shipped (in transit, or delivered) with a shipping
    # charge; what is left of that charge; the replacement orders made for it.
    def add_shipped_order(self, *, name: str, created_at: datetime, lines: list[Line], shipping: str,
                          delivered: bool = False, customer: str | None = None) -> OrderRef: ...
    def shipping_left(self, order: OrderRef) -> Money: ...
    def replacements(self, order: OrderRef) -> list[str]: ...
    def close(self) -> None: ...


def require(world: World, clause: str) -> None:
    """Skip, naming the gap, when `world` declares that it does not meet `clause`.
    `CONTRACT_GAPS=run` runs them anyway: to see a gap fail, or that a fix closed it."""
    assert clause in CLAUSES, f"unknown contract clause {clause!r}"
    if clause in world.gaps and os.environ.get("CONTRACT_GAPS") != "run":
        pytest.skip(f"{world.name} gap [{clause}]: {world.gaps[clause]}")


# The suites' neutral names for what an id points at → the kind in a Shopify-style gid
# (the sample store's ids are Shopify-shaped too).
_GID_KINDS = {"order": "Order", "refund": "Refund", "customer": "Customer", "return": "Return",
              "dispute": "ShopifyPaymentsDispute"}


def _return_name(order: OrderRef, n: int) -> str:
    return f"{order.name}-R{n}"


# --- the sample store ------------------------------------------------------------------------------


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


class _Current:
    """The sample store as it is now: a reference taken before more data was added still
    reaches the reloaded store."""

    def __init__(self, world: SampleWorld) -> None:
        self._world = world

    def __getattr__(self, name: str) -> Any:
        if callable(getattr(self._world.store, name)):
            # Looked up when called, not when named: `src.get_order(world.add_order(...).id)`.
            return lambda *args, **kwargs: getattr(self._world.store, name)(*args, **kwargs)
        return getattr(self._world.store, name)


class SampleWorld:
    """The bundled sample store, fed the JSON it loads (`SampleStore(data, now=...)`): times
    become "days ago" from the world's fixed `now`. Data added after the store was opened
    reloads it (same `now`, so every time stays put); that would forget actions, so it is
    refused once an action ran."""

    name = "sample"
    capabilities = frozenset({"orders", "returns", "customers", "disputes"})
    operations = OPERATIONS
    gaps: dict[str, str] = {
        "actions.record_refuses_store_money": "the sample store holds no money and knows no gateways: every "
                                              "payment is one it only records",
    }

    def __init__(self, *, now: datetime = NOW, currency: str = CURRENCY) -> None:
        self.now = now
        self.currency = currency
        self._clock = _Clock(now)  # stamps what the actions create
        self._data: dict[str, Any] = {
            "format": 1,
            "shop": {"name": "Contract Outfitters", "currency": currency},
            "feed_days": 7,
            "customers": [],
            "orders": [],
            "returns": [],
            "disputes": [],
        }
        self._seq: Counter[str] = Counter()
        self._store = None
        self._stale = True

    # The bases keep the ids apart from each other and well clear of what the store mints.
    _BASES = {"Customer": 6100000000, "Order": 5100000000, "LineItem": 1310000000, "Return": 7100000000,
              "ReturnLineItem": 8100000000, "Refund": 9001000000, "ShopifyPaymentsDispute": 1110000000,
              "Fulfillment": 4100000000, "ExchangeLineItem": 8200000000, "ProductVariant": 8300000000}

    def _id(self, kind: str) -> str:
        self._seq[kind] += 1
        return f"gid://shopify/{kind}/{self._BASES[kind] + self._seq[kind]}"

    def _ago(self, when: datetime) -> float:
        return (self.now - when).total_seconds() / 86400

    def _changed(self) -> None:
        if self._store is not None and self._store.calls:
            raise RuntimeError("the sample world cannot add data after an action ran (reloading would forget it)")
        self._stale = True

    @property
    def store(self):
        from integrations.sample import SampleStore

        if self._stale:
            self._store = SampleStore(self._data, now=self.now, clock=self._clock)
            self._stale = False
        return self._store

    @property
    def source(self):
        return _Current(self)

    actions = source

    def advance(self, **delta: float) -> None:
        self._clock.at += timedelta(**delta)

    def add_customer(self, name: str, *, email: str, tags: tuple[str, ...] = (), created_at: datetime) -> str:
        first, _, last = name.partition(" ")
        cid = self._id("Customer")
        self._data["customers"].append({"id": cid, "first_name": first, "last_name": last, "email": email,
                                        "tags": list(tags), "created_days_ago": self._ago(created_at)})
        self._changed()
        return cid

    def add_order(self, *, name: str, created_at: datetime, lines: list[Line], customer: str | None = None,
                  email: str | None = None, delivered_at: datetime | None = None) -> OrderRef:
        oid = self._id("Order")
        if email is None and customer is not None:
            email = next(c["email"] for c in self._data["customers"] if c["id"] == customer)
        line_ids = tuple(self._id("LineItem") for _ in lines)
        items = [{"id": lid, "title": li.title, "sku": li.sku, "quantity": li.quantity, "unit_price": li.price}
                 for lid, li in zip(line_ids, lines)]
        total = sum((Decimal(li.price) * li.quantity for li in lines), Decimal(0))
        shipments = []
        if delivered_at is not None:
            shipments.append({"id": self._id("Fulfillment"), "status": "DELIVERED", "carrier": "UPS",
                              "shipped_days_ago": self._ago(created_at) - 0.5, "delivered_days_ago": self._ago(delivered_at)})
        self._data["orders"].append({"id": oid, "name": name, "customer_id": customer, "email": email,
                                     "created_days_ago": self._ago(created_at), "currency": self.currency,
                                     "shipping": "0.00", "total": str(total), "line_items": items,
                                     "shipments": shipments, "refunds": []})
        self._changed()
        return OrderRef(id=oid, name=name, line_ids=line_ids, lines=tuple(lines), created_at=created_at)

    def _order(self, order: OrderRef) -> dict[str, Any]:
        return next(o for o in self._data["orders"] if o["id"] == order.id)

    def pay_outside(self, order: OrderRef) -> None:
        pass  # the sample's payments are all records: it holds no money

    def add_shipped_order(self, *, name: str, created_at: datetime, lines: list[Line], shipping: str,
                          delivered: bool = False, customer: str | None = None) -> OrderRef:
        ref = self.add_order(name=name, created_at=created_at, lines=lines, customer=customer,
                             email=None if customer else "buyer@example.com")
        o = self._order(ref)
        o["shipping"] = shipping
        o["total"] = str(Decimal(o["total"]) + Decimal(shipping))
        shipped = self._ago(created_at) - 0.5
        o["shipments"] = [{"id": self._id("Fulfillment"), "status": "DELIVERED" if delivered else "IN_TRANSIT",
                           "carrier": "UPS", "tracking_number": "1Z0000000000000001", "shipped_days_ago": shipped,
                           "delivered_days_ago": shipped - 2 if delivered else None}]
        self._changed()
        return ref

    def shipping_left(self, order: OrderRef) -> Money:
        return self.store.shipping_left(order.id)

    def replacements(self, order: OrderRef) -> list[str]:
        return self.store.replacements_of(order.id)

    def add_refund(self, order: OrderRef, *, amount: str, created_at: datetime, note: str | None = None) -> str:
        rid = self._id("Refund")
        self._order(order)["refunds"].append({"id": rid, "amount": amount, "note": note,
                                              "created_days_ago": self._ago(created_at)})
        self._changed()
        return rid

    def add_return(self, order: OrderRef, *, status: str = "REQUESTED", requested_at: datetime,
                   items: list[Item] | None = None) -> ReturnRef:
        items = items if items is not None else [Item(index=i) for i in range(len(order.lines))]
        rid = self._id("Return")
        name = _return_name(order, 1 + sum(1 for r in self._data["returns"] if r["order_id"] == order.id))
        lines = [{"id": self._id("ReturnLineItem"), "line_item_id": order.line_ids[it.index],
                  "quantity": it.quantity or order.lines[it.index].quantity, "reason": it.reason,
                  "reason_note": it.reason_note, "customer_note": it.customer_note} for it in items]
        self._data["returns"].append({"id": rid, "name": name, "order_id": order.id, "status": status,
                                      "requested_days_ago": self._ago(requested_at), "line_items": lines})
        self._changed()
        return ReturnRef(id=rid, name=name, order=order, requested_at=requested_at, items=tuple(items))

    def add_exchange(self, ret: ReturnRef, *, title: str, stock: int | None, quantity: int = 1) -> str:
        """An exchange line on `ret` for a new variant with `stock` sellable units (None: not tracked)."""
        variant = self._id("ProductVariant")
        line = {"id": self._id("ExchangeLineItem"), "title": title, "variant_id": variant, "quantity": quantity}
        next(r for r in self._data["returns"] if r["id"] == ret.id).setdefault("exchange_items", []).append(line)
        if stock is not None:
            self._data.setdefault("stock", {})[variant] = stock
        self._changed()
        return line["id"]

    def exchange_released(self, return_id: str) -> int:
        return self.store.exchange_released(return_id)

    def set_stock_of_exchanges(self, return_id: str, stock: int) -> None:
        """Restock every variant the return's exchange named (in the running store: no reload)."""
        for line in next(r for r in self._data["returns"] if r["id"] == return_id).get("exchange_items", ()):
            self.store._state.stock[line["variant_id"]] = stock

    def add_unmappable_return(self, order: OrderRef, *, requested_at: datetime) -> str:
        raise Unsupported("the sample store validates its data on load, so it cannot hold an unmappable return")

    def add_dispute(self, order: OrderRef, *, status: str, reason: str, amount: str, initiated_at: datetime,
                    evidence_due_by: datetime | None = None) -> str:
        did = self._id("ShopifyPaymentsDispute")
        self._data["disputes"].append({
            "id": did, "order_id": order.id, "status": status, "reason": reason, "amount": amount,
            "currency": self.currency, "initiated_days_ago": self._ago(initiated_at),
            "evidence_due_in_days": None if evidence_due_by is None else -self._ago(evidence_due_by),
        })
        self._changed()
        return did

    def unknown_id(self, kind: str) -> str:
        return f"gid://shopify/{_GID_KINDS[kind]}/424242"

    def lose_next_answer(self, action: str) -> None:
        raise Unsupported("the sample store is in memory: an answer cannot be lost on the way back")

    def effects(self) -> Counter[str]:
        kinds = {"approve_return": "approve", "decline_return": "decline", "refund_return": "refund",
                 "issue_store_credit": "store_credit", "close_return": "close", "release_exchange": "exchange",
                 "remove_exchange": "remove_exchange", "refund_shipping": "refund", "reship_order": "reship",
                 "submit_dispute_evidence": "dispute_evidence", "accept_dispute": "dispute_accepted",
                 "record_refund": "refund", "add_tags": "tags", "refund_order": "refund",
                 "open_return": "return_opened"}
        done = Counter(kinds[c.method] for c in self.store.calls if not c.replayed and c.error is None)
        # A dispute's evidence is checked before acting (any key): what the store holds is what was applied.
        done["dispute_evidence"] = len(self.store._state.dispute_evidence)
        return +done

    def store_credit_balance(self, customer_id: str) -> Money:
        return self.store.store_credit_balance(customer_id)

    def close(self) -> None:
        pass


# --- Shopify over FakeShopify ----------------------------------------------------------------------


class ShopifyWorld:
    """`ShopifyStore` over `ShopifyGraphQL` over FakeShopify's in-process httpx transport, on
    a fake clock (no real sleeps), seeded with FakeShopify's `add_*` helpers."""

    name = "shopify"
    capabilities = frozenset({"orders", "returns", "customers", "disputes"})
    operations = OPERATIONS
    _NO_KEYS = ("ShopifyStore keeps no record of idempotency keys for approve/decline/refund: the return's "
                "state is its only record, so the same key for another request is carried out or answered as a "
                "replay instead of refused")
    _LEDGER = ("the store-credit ledger records a key per customer and without its amount: the same key with "
               "another amount is answered as a replay of the first (the caller hears a credit that never "
               "happened), and on another customer it credits again")
    gaps = {
        "poll.only_newer": "by design each poll looks back poll_overlap (2 minutes) past its cursor, the newest "
                           "order time seen, so the newest request of the last poll comes again (the caller dedupes)",
        "actions.replay_same_result": "a replay answers with another summary ('… was already approved' for the "
                                      "first call's '… approved'): only the store's state is kept, not the result",
        "actions.key_reuse.approve_return.other_target": _NO_KEYS,
        "actions.key_reuse.approve_return.other_arguments": _NO_KEYS,
        "actions.key_reuse.decline_return.other_target": _NO_KEYS,
        "actions.key_reuse.decline_return.other_arguments": _NO_KEYS,
        "actions.key_reuse.refund_return.other_target": _NO_KEYS,
        "actions.key_reuse.issue_store_credit.other_target": _LEDGER,
        "actions.key_reuse.issue_store_credit.other_arguments": _LEDGER,
        **{f"actions.key_required.{a}": "an empty idempotency key is accepted" for a in ACTION_NAMES},
        "actions.approve_not_requested.OPEN": "an OPEN return is answered 'already approved' (ok) under any key, so "
                                              "one approved by someone else in Shopify admin passes for this call's success",
        "actions.approve_not_requested.CLOSED": "a CLOSED return is answered 'already approved' (ok) under any key",
        "actions.decline_not_requested.DECLINED": "a DECLINED return is answered 'already declined' (ok) under any "
                                                  "key, whoever declined it and with whatever reason",
        "actions.refund_over_return": "refund_return checks the amount against the order's payments only, not "
                                      "against what the return is worth (a €50 refund goes out for a €12.25 return)",
    }

    def __init__(self, *, now: datetime = NOW, currency: str = CURRENCY) -> None:
        from integrations.shopify.client import ShopifyGraphQL
        from integrations.shopify.source import ShopifyStore
        from tests.fakes.shopify import FakeClock, FakeShopify

        self.now = now
        self.currency = currency
        self.clock = FakeClock(start=now)
        self.fake = FakeShopify(currency=currency, monotonic=self.clock.monotonic, now=self.clock.now)
        self._http = self.fake.http_client()
        self.client = ShopifyGraphQL(self.fake.graphql_url(), self.fake.access_token, http=self._http,
                                     sleep=self.clock.sleep, monotonic=self.clock.monotonic)
        self.store = ShopifyStore(self.client, shop_domain=self.fake.shop_domain, now=self.clock.now)
        self._orders: dict[str, OrderRef] = {}

    @property
    def source(self):
        return self.store

    actions = source

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta).total_seconds())

    def add_customer(self, name: str, *, email: str, tags: tuple[str, ...] = (), created_at: datetime) -> str:
        return self.fake.add_customer(display_name=name, email=email, tags=list(tags), created_at=created_at)

    def add_order(self, *, name: str, created_at: datetime, lines: list[Line], customer: str | None = None,
                  email: str | None = None, delivered_at: datetime | None = None) -> OrderRef:
        fulfillments = [] if delivered_at is None else [{"display_status": "DELIVERED", "delivered_at": delivered_at,
                                                          "created_at": created_at + timedelta(hours=12)}]
        oid = self.fake.add_order(
            customer_id=customer, name=name, created_at=created_at, email=email, fulfillments=fulfillments,
            line_items=[{"title": li.title, "price": li.price, "quantity": li.quantity, "sku": li.sku} for li in lines],
        )
        line_ids = tuple(li["id"] for li in self.fake.orders[oid]["_line_items"])
        return OrderRef(id=oid, name=name, line_ids=line_ids, lines=tuple(lines), created_at=created_at)

    def pay_outside(self, order: OrderRef) -> None:
        self.fake.pay_outside(order.id, gateway="external-processor", payment_id="pay_contract_1")

    def add_refund(self, order: OrderRef, *, amount: str, created_at: datetime, note: str | None = None) -> str:
        return self.fake.add_refund(order.id, amount=amount, note=note, created_at=created_at)

    def add_shipped_order(self, *, name: str, created_at: datetime, lines: list[Line], shipping: str,
                          delivered: bool = False, customer: str | None = None) -> OrderRef:
        shipped = created_at + timedelta(hours=12)
        parcel = ({"display_status": "DELIVERED", "delivered_at": shipped + timedelta(days=2), "created_at": shipped}
                  if delivered else {"display_status": "IN_TRANSIT", "created_at": shipped})
        oid = self.fake.add_order(
            customer_id=customer, name=name, created_at=created_at, shipping=shipping, fulfillments=[parcel],
            line_items=[{"title": li.title, "price": li.price, "quantity": li.quantity, "sku": li.sku} for li in lines],
        )
        line_ids = tuple(li["id"] for li in self.fake.orders[oid]["_line_items"])
        return OrderRef(id=oid, name=name, line_ids=line_ids, lines=tuple(lines), created_at=created_at)

    def shipping_left(self, order: OrderRef) -> Money:
        o = self.fake.orders[order.id]
        return Money(amount=o["_shipping"] - o["_shipping_refunded"], currency=o["currencyCode"])

    def replacements(self, order: OrderRef) -> list[str]:
        return [d["_order"] for d in self.fake.draft_orders_of(order.id) if d["_order"]]

    def add_return(self, order: OrderRef, *, status: str = "REQUESTED", requested_at: datetime,
                   items: list[Item] | None = None) -> ReturnRef:
        items = items if items is not None else [Item(index=i) for i in range(len(order.lines))]
        n = 1 + sum(1 for r in self.fake.returns.values() if r["_order"] == order.id)
        name = _return_name(order, n)
        rid = self.fake.add_return(
            order.id, status=status, name=name, requested_at=requested_at,
            line_items=[{"index": it.index, "quantity": it.quantity or order.lines[it.index].quantity,
                         "reason": it.reason, "reason_note": it.reason_note or "", "customer_note": it.customer_note}
                        for it in items],
        )
        return ReturnRef(id=rid, name=name, order=order, requested_at=requested_at, items=tuple(items))

    def add_exchange(self, ret: ReturnRef, *, title: str, stock: int | None, quantity: int = 1) -> str:
        """An exchange line on `ret` for a new variant with `stock` sellable units (None: not tracked)."""
        variant = self.fake.add_variant(title, inventory_quantity=stock, tracked=stock is not None)
        return self.fake.add_exchange_item(ret.id, variant_id=variant, quantity=quantity, title=title)

    def exchange_released(self, return_id: str) -> int:
        return self.fake.exchange_released(return_id)

    def set_stock_of_exchanges(self, return_id: str, stock: int) -> None:
        for line in self.fake.returns[return_id]["_exchanges"]:
            self.fake.set_stock(line["variantId"], stock)

    def add_unmappable_return(self, order: OrderRef, *, requested_at: datetime) -> str:
        """A requested return whose id is of the wrong kind: nothing could fetch it."""
        ret = self.add_return(order, requested_at=requested_at)
        bad = ret.id.replace("/Return/", "/Order/")
        self.fake.returns[ret.id]["id"] = bad
        return bad

    def add_dispute(self, order: OrderRef, *, status: str, reason: str, amount: str, initiated_at: datetime,
                    evidence_due_by: datetime | None = None) -> str:
        return self.fake.add_dispute(
            order.id, amount=amount, currency=self.currency, status=status, reason=reason, initiated_at=initiated_at,
            evidence_due_by=None if evidence_due_by is None else evidence_due_by.date().isoformat(),
        )

    def unknown_id(self, kind: str) -> str:
        return f"gid://shopify/{_GID_KINDS[kind]}/424242"

    # The mutations that carry out each action (2025-01 names, and the 2026 ones for refunds).
    _MUTATIONS = {"approve_return": ("returnApproveRequest",), "decline_return": ("returnDeclineRequest",),
                  "refund_return": ("returnProcess", "refundCreate", "returnRefund"),
                  "issue_store_credit": ("storeCreditAccountCredit",), "add_tags": ("tagsAdd",),
                  "open_return": ("returnCreate",)}

    # Actions whose mutation field is shared with another document: the operation to fault.
    _OPERATION = {"refund_shipping": "RefundShippingCreate", "reship_order": "DraftOrderComplete",
                  "refund_order": "RefundOrderCreate"}

    def lose_next_answer(self, action: str) -> None:
        """The next mutation that carries out `action` takes effect, then times out."""
        from integrations.shopify.documents import ALL_DOCUMENTS

        if action in self._OPERATION:
            self.fake.timeout_next(1, after_execute=True, operation=self._OPERATION[action])
            return
        for fld in self._MUTATIONS[action]:
            for text in ALL_DOCUMENTS.values():
                op = re.match(r"\s*mutation\s+(\w+)", text)
                if op and re.search(rf"\b{fld}\s*\(", text):
                    self.fake.timeout_next(1, after_execute=True, operation=op.group(1))
                    return
        raise AssertionError(f"no mutation document for {action}: update ShopifyWorld._MUTATIONS")

    def effects(self) -> Counter[str]:
        kinds = {"returnApproveRequest": "approve", "returnDeclineRequest": "decline", "returnRefund": "refund",
                 "returnProcess": "refund", "refundCreate": "refund", "storeCreditAccountCredit": "store_credit",
                 "draftOrderComplete": "reship", "draftOrderCreate": "reship_draft",
                 "disputeEvidenceUpdate": "dispute_evidence", "tagsAdd": "tags", "returnCreate": "return_opened"}
        bookkeeping = {"metafieldsSet"}  # the store-credit and reship ledgers
        return Counter(kinds.get(name, name) for name, _ in self.fake.mutations if name not in bookkeeping)

    def store_credit_balance(self, customer_id: str) -> Money:
        return Money(amount=self.fake.store_credit_balance(customer_id, self.currency), currency=self.currency)

    def close(self) -> None:
        self.client.close()
        self._http.close()


# Every adapter with a world; each runs the suites of the capabilities it lists.
WORLDS: tuple[type, ...] = (SampleWorld, ShopifyWorld)

for _w in WORLDS:
    assert set(_w.gaps) <= CLAUSES, f"{_w.name}: unknown clauses in gaps: {set(_w.gaps) - CLAUSES}"
    assert _w.capabilities <= CAPABILITIES, f"{_w.name}: unknown capabilities"
    assert _w.operations <= OPERATIONS, f"{_w.name}: unknown operations"
