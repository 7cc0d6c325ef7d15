"""Interfaces the application needs from a store system (Shopify, or the bundled sample).

Defined here, beside the domain, so that integrations implement them and bot/ depends on
them without either importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Callable, Mapping
from datetime import datetime
from typing import Protocol

from policy.models import (
    Customer,
    CustomerHistory,
    Dispute,
    DomainEvent,
    Money,
    Order,
    Refund,
    ReturnRequest,
)


class NotFound(LookupError):
    """The store system has no such object (unknown order, return, customer)."""


class IntegrationError(RuntimeError):
    """A store system failed or refused; `retryable` says whether trying again may help,
    and `retry_after`, when the system said or we know, after how many seconds."""

    def __init__(
        self, message: str, *, retryable: bool = True, system: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.system = system
        self.retry_after = retry_after


class Underway(IntegrationError):
    """The system accepted the work and is doing it (Loop's queued processing): not a
    failure. The job checks back after `retry_after` seconds, within its retry budget, and
    is done when the system says it finished."""

    def __init__(self, message: str, *, system: str = "", retry_after: float = 60.0) -> None:
        super().__init__(message, retryable=True, system=system, retry_after=retry_after)


@dataclass(frozen=True)
class Unmapped:
    """An item a poll found but could not turn into a domain event (a poison item): it is
    parked for an operator with the reason, and the poll moves on past it."""

    ref: str  # the vendor's id for the item (a return gid, an order gid)
    error: str  # why it could not be mapped


@dataclass(frozen=True)
class PollPage:
    """One poll: the events found and the cursor to store for next time."""

    events: list[DomainEvent]
    cursor: str | None
    unmapped: list[Unmapped] = field(default_factory=list)


@dataclass(frozen=True)
class ActionResult:
    """What a mutation did, for the audit log and the card."""

    ok: bool
    summary: str  # "refund $149.00 issued"
    external_id: str | None = None  # refund id, etc.


@dataclass(frozen=True)
class ExchangeItem:
    """What the store says about one exchange item of a return, and its stock."""

    id: str  # the store's id for the exchange line
    title: str  # "Merino sweater — M" (customer-visible: escape before rendering)
    quantity: int  # still to release
    available: int | None  # sellable units in stock; None when the store doesn't track it
    in_stock: bool  # whether releasing `quantity` can be fulfilled now


class ExchangeOutOfStock(IntegrationError):
    """A release refused because exchange items are out of stock: nothing was released.

    Permanent (trying again will not restock the item); `items` names every item short, so
    the lifecycle can turn the refusal into a follow-up (refund or store credit) instead of
    a failed case."""

    reason = "exchange_out_of_stock"

    def __init__(self, message: str, *, items: tuple[ExchangeItem, ...], system: str = "") -> None:
        super().__init__(message, retryable=False, system=system)
        self.items = items


class StoreSource(Protocol):
    """Read side: authoritative objects for context assembly, and catch-up polling."""

    name: str

    def get_return(self, return_id: str) -> ReturnRequest: ...

    def get_order(self, order_id: str) -> Order: ...

    def get_customer(self, customer_id: str) -> Customer: ...

    def get_customer_history(self, customer_id: str, since: datetime) -> CustomerHistory: ...

    def get_order_returns(self, order_id: str) -> list[ReturnRequest]: ...

    def get_dispute(self, dispute_id: str) -> Dispute: ...

    def get_refund(self, refund_id: str) -> Refund: ...

    def order_disputes(self, order_id: str) -> list[Dispute]: ...

    def find_orders(self, query: str, limit: int = 5) -> list[Order]:
        """Order lookup by number ("1001"/"#1001"), email or gid."""
        ...

    def poll_requested_returns(self, cursor: str | None) -> PollPage: ...

    def poll_new_orders(self, cursor: str | None) -> PollPage: ...


class Operation(StrEnum):
    """The side effects a decision can have in a store system (an outbox job's operation)."""

    APPROVE_RETURN = "approve_return"
    DECLINE_RETURN = "decline_return"
    REFUND_RETURN = "refund_return"
    ISSUE_STORE_CREDIT = "issue_store_credit"
    CLOSE_RETURN = "close_return"  # a return approved and never shipped, expired by policy
    # A refund in the system that holds the money (a payment processor), by payment id:
    # payload {"payment_id", "amount", "currency", "reason"}.
    REFUND_PAYMENT = "refund_payment"
    # A dispute's answer, in the system that holds the dispute: payload {"dispute_id",
    # "evidence": {policy.disputes.EvidenceField value: text}}; and accepting the loss,
    # payload {"dispute_id"}.
    SUBMIT_DISPUTE_EVIDENCE = "submit_dispute_evidence"
    ACCEPT_DISPUTE = "accept_dispute"
    # The return refunded by the payment processor holding the money (REFUND_PAYMENT, first):
    # the store records the refund without moving money. Payload as REFUND_RETURN's plus
    # "refunded_in" (where the money went back, for the store's note).
    RECORD_REFUND = "record_refund"
    # A return a returns platform owns (Loop): carry out its outcomes as the customer chose
    # them, cancel it (they may return the items again), flag it for review, note on it.
    # Payloads {"return_id"} / {"return_id", "text"} (NOTE_RETURN, FLAG_RETURN's reason).
    PROCESS_RETURN = "process_return"
    CANCEL_RETURN = "cancel_return"
    FLAG_RETURN = "flag_return"
    NOTE_RETURN = "note_return"
    RELEASE_EXCHANGE = "release_exchange"  # send the exchange items the customer chose
    REMOVE_EXCHANGE = "remove_exchange"  # drop exchange items that won't ship (out of stock)
    # The delayed-shipment remedies, in the store that owns the order: payload {"order_id",
    # "amount", "currency"} (amount None: all the shipping left) / {"order_id", "note"}.
    REFUND_SHIPPING = "refund_shipping"
    RESHIP_ORDER = "reship_order"
    # A moment's tags (policy/moments.py) on the customer or the order: payload
    # {"resource_id", "tags"}.
    ADD_TAGS = "add_tags"
    # A refund on an order with no store return behind it (a return a support ticket asked
    # for, decided in Slack): payload {"order_id", "amount", "currency", "notify_customer",
    # "items"} (what is refunded, in words, for the refund's note).
    REFUND_ORDER = "refund_order"
    # A store return opened, approved, for what a support ticket asked to return: payload
    # {"order_id", "lines": [{"line_item_id", "quantity"}], "reason_note", "requested_at"
    # (ISO or None)}; the result's external_id is the return's id.
    OPEN_RETURN = "open_return"


# The action target "the store this deployment connects" (Shopify, or the sample store):
# what an outbox job names when it must run in the system that owns the order, whichever
# system the case came from. The connector registry resolves it.
STORE = "store"


class StoreActions(Protocol):
    """Write side: what an approved decision does. Each call carries an idempotency key.

    Money is what was decided: shop money (the case's amount). A store refunds a
    multi-currency order in the currency the customer paid (Shopify's refund transactions
    are in the order's presentment currency), converting at the rate of what is refunded;
    an amount already in that currency is taken as is, and any other is refused."""

    def approve_return(self, return_id: str, *, notify_customer: bool, idempotency_key: str) -> ActionResult: ...

    def decline_return(
        self,
        return_id: str,
        *,
        reason: str,
        note: str | None,
        notify_customer: bool,
        idempotency_key: str,
    ) -> ActionResult: ...

    def refund_return(
        self, return_id: str, *, amount: Money, notify_customer: bool, idempotency_key: str
    ) -> ActionResult: ...

    def record_refund(
        self, return_id: str, *, amount: Money, refunded_in: str, notify_customer: bool, idempotency_key: str
    ) -> ActionResult:
        """The return was refunded where the money is (`refunded_in`): record it on the
        return and the order, moving no money; refused when recording would move money."""
        ...

    def issue_store_credit(
        self, customer_id: str, *, amount: Money, idempotency_key: str
    ) -> ActionResult: ...

    def close_return(self, return_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
        """Close an approved return (one never shipped, expired by policy); closing a closed
        return is a repeat, not an error."""
        ...


    def release_exchange(self, return_id: str, *, notify_customer: bool, idempotency_key: str) -> ActionResult:
        """Release (process) the return's exchange items, so the store ships them; no money
        moves. Every item's stock is checked first: any short raises `ExchangeOutOfStock`
        with nothing released. Releasing what was already released is a repeat, not a second
        exchange. A return with no exchange items (the policy recommended an exchange the
        customer didn't choose in the store, or they were removed) releases nothing, and says so."""
        ...

    def remove_exchange(self, return_id: str, *, idempotency_key: str) -> ActionResult:
        """Remove the exchange items not released yet from the return (they will not ship:
        the money goes back instead), so processing the return later can't release them.
        Nothing left to remove is a repeat, not an error."""
        ...

    def refund_shipping(self, order_id: str, *, amount: Money | None, notify_customer: bool,
                        idempotency_key: str) -> ActionResult:
        """Refund the order's shipping charge: `amount` of it, or (None) all of the shipping
        not refunded yet. More than is left (or nothing left) raises a non-retryable
        IntegrationError, nothing refunded. The same key again is a repeat, not a second refund."""
        ...

    def refund_order(self, order_id: str, *, amount: Money, items: str | None, notify_customer: bool,
                     idempotency_key: str) -> ActionResult:
        """Refund `amount` of the order back to its payments, with no store return (a return
        asked for in a ticket; `items` names what it is for). More than is left to refund
        raises a non-retryable IntegrationError, nothing refunded. Checked before acting: a
        refund this key already made (an answer lost, a crash, a replay) is a repeat, never
        a second refund."""
        ...

    def open_return(self, order_id: str, *, lines: list[tuple[str, int]], reason_note: str | None,
                    requested_at: datetime | None, idempotency_key: str) -> ActionResult:
        """Open an approved return on the order for `lines` ((order line id, quantity)), so
        the store expects the items back; `external_id` is the return's id. A line not
        shipped (or fewer shipped) raises a non-retryable IntegrationError, nothing opened.
        Checked before acting: a return this key already opened (an answer lost, a crash, a
        replay) is a repeat with the same return's id, never a second return."""
        ...

    def reship_order(self, order_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
        """Send the order's undelivered items again (shipped, not delivered), at no charge to
        the customer: a replacement order in the store. `external_id` is the new order's id.
        Nothing undelivered (all delivered, or not shipped yet: the order itself still owes
        them) raises a non-retryable IntegrationError. The same key again is a repeat."""
        ...

    def add_tags(self, resource_id: str, *, tags: tuple[str, ...], idempotency_key: str) -> ActionResult:
        """Add `tags` to a customer or an order (by its id). Check before act: the resource's
        tags are read first, and when it carries every one of them already (compared without
        case, as stores do) nothing is sent and the result says so — a replay never calls the
        store's mutation again. An unknown resource raises NotFound."""
        ...


class DisputeActions(Protocol):
    """Answering a dispute the store system holds (Shopify Payments'): optional."""

    def submit_dispute_evidence(self, dispute_id: str, *, evidence: Mapping[str, str],
                                idempotency_key: str) -> ActionResult: ...

    def accept_dispute(self, dispute_id: str, *, idempotency_key: str) -> ActionResult:
        """Optional: not every system can accept a dispute by API."""
        ...


def dispute_actions(actions: Any) -> dict[str, Callable[[Mapping[str, Any], str], ActionResult]]:
    """A store's DisputeActions as a connector's actions: those it has (a system with no
    call to accept a dispute has no ACCEPT_DISPUTE, and the card says so)."""
    out: dict[str, Callable[[Mapping[str, Any], str], ActionResult]] = {}
    if hasattr(actions, "submit_dispute_evidence"):
        out[Operation.SUBMIT_DISPUTE_EVIDENCE] = lambda p, key: actions.submit_dispute_evidence(
            p["dispute_id"], evidence=p.get("evidence") or {}, idempotency_key=key)
    if hasattr(actions, "accept_dispute"):
        out[Operation.ACCEPT_DISPUTE] = lambda p, key: actions.accept_dispute(p["dispute_id"], idempotency_key=key)
    return out


class EventFeed(Protocol):
    """A source that can replay its events (the sample store, for the demo)."""

    def events(self) -> list[DomainEvent]: ...


def store_actions(actions: StoreActions) -> dict[str, Callable[[Mapping[str, Any], str], ActionResult]]:
    """A store's StoreActions as a connector's actions: an outbox job's payload and key →
    the call. One place turns payloads into calls, for every store adapter."""

    def money(p: Mapping[str, Any]) -> Money:
        return Money(amount=Decimal(p["amount"]), currency=p["currency"])

    def some_money(p: Mapping[str, Any]) -> Money | None:
        return None if p.get("amount") is None else money(p)

    return {
        Operation.APPROVE_RETURN: lambda p, key: actions.approve_return(
            p["return_id"], notify_customer=p["notify_customer"], idempotency_key=key),
        Operation.DECLINE_RETURN: lambda p, key: actions.decline_return(
            p["return_id"], reason=p["reason"], note=p.get("note"), notify_customer=p["notify_customer"],
            idempotency_key=key),
        Operation.REFUND_RETURN: lambda p, key: actions.refund_return(
            p["return_id"], amount=money(p), notify_customer=p["notify_customer"], idempotency_key=key),
        Operation.RECORD_REFUND: lambda p, key: actions.record_refund(
            p["return_id"], amount=money(p), refunded_in=p["refunded_in"], notify_customer=p["notify_customer"],
            idempotency_key=key),
        Operation.ISSUE_STORE_CREDIT: lambda p, key: actions.issue_store_credit(
            p["customer_id"], amount=money(p), idempotency_key=key),
        Operation.CLOSE_RETURN: lambda p, key: actions.close_return(
            p["return_id"], note=p.get("note"), idempotency_key=key),
        Operation.RELEASE_EXCHANGE: lambda p, key: actions.release_exchange(
            p["return_id"], notify_customer=p["notify_customer"], idempotency_key=key),
        Operation.REMOVE_EXCHANGE: lambda p, key: actions.remove_exchange(p["return_id"], idempotency_key=key),
        Operation.REFUND_SHIPPING: lambda p, key: actions.refund_shipping(
            p["order_id"], amount=some_money(p), notify_customer=p.get("notify_customer", True), idempotency_key=key),
        Operation.RESHIP_ORDER: lambda p, key: actions.reship_order(p["order_id"], note=p.get("note"), idempotency_key=key),
        Operation.ADD_TAGS: lambda p, key: actions.add_tags(p["resource_id"], tags=tuple(p["tags"]), idempotency_key=key),
        Operation.REFUND_ORDER: lambda p, key: actions.refund_order(
            p["order_id"], amount=money(p), items=p.get("items"), notify_customer=p.get("notify_customer", True),
            idempotency_key=key),
        Operation.OPEN_RETURN: lambda p, key: actions.open_return(
            p["order_id"], lines=[(li["line_item_id"], int(li["quantity"])) for li in p["lines"]],
            reason_note=p.get("reason_note"),
            requested_at=datetime.fromisoformat(p["requested_at"]) if p.get("requested_at") else None,
            idempotency_key=key),
    }
