"""Domain models shared by every package.

Money is always a Decimal with a currency; times are timezone-aware UTC. Vendor field
names never appear here: integrations map vendor JSON into these types.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# ISO 4217 minor units where they are not 2 (storage keeps integer minor units).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}
_CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_QUANTUM = {e: Decimal(1).scaleb(-e) for e in {2, *_MINOR_UNITS.values()}}
_GROUPED = {e: f",.{e}f" for e in _QUANTUM}
_ZEROS: dict[str, "Money"] = {}
_LIMITS: dict[tuple[str, str], "Money"] = {}
_new, _set = object.__new__, object.__setattr__


def _lenient(cls, value: object, **aliases):
    """An enum member by its value in any case, or by an older (vendor's) name: what our
    own enums read from snapshots, payloads and rows written before a rename."""
    text = str(value).upper()
    return aliases.get(text) or next((m for m in cls if m.value == text), None)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def utc(value: datetime) -> datetime:
    """Refuse naive datetimes; normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(timezone.utc)


class CurrencyMismatch(ValueError):
    pass


class Money(Frozen):
    amount: Decimal
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, v: Any) -> Any:
        if isinstance(v, float):
            raise ValueError("money amounts must not be floats; pass a str or Decimal")
        return v

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(amount=Decimal(str(amount)), currency=currency)

    @classmethod
    def limit(cls, amount: Decimal, currency: str) -> Money:
        """A policy's threshold or limit as Money: the same few on every case assessed (the
        simulator assesses every stored one), so each is built once. Keyed by the amount's
        text, so 500 and 500.00 stay apart."""
        key = (str(amount), currency)
        money = _LIMITS.get(key)
        if money is None:
            if len(_LIMITS) > 256:
                _LIMITS.clear()
            money = _LIMITS[key] = Money.of(amount, currency)
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        # Immutable, so one per (validated) currency is shared.
        zero = _ZEROS.get(currency)
        if zero is None or cls is not Money:
            zero = cls(amount=Decimal("0"), currency=currency)
            if cls is Money:
                _ZEROS[currency] = zero
        return zero

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    @classmethod
    def _derived(cls, amount: Decimal, currency: str) -> Money:
        """A result of arithmetic on valid Money: its currency is already checked and the
        amount is a Decimal, so validation could only repeat what is known (it is ~half of
        the cost of the policy's arithmetic). Anything else takes the validating path."""
        if type(amount) is not Decimal or not amount.is_finite():
            return cls(amount=amount, currency=currency)
        money = _new(cls)
        _set(money, "__dict__", {"amount": amount, "currency": currency})
        _set(money, "__pydantic_fields_set__", {"amount", "currency"})
        _set(money, "__pydantic_extra__", None)
        _set(money, "__pydantic_private__", None)
        return money

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money._derived(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money._derived(self.amount - other.amount, self.currency)

    def __mul__(self, qty: int) -> Money:
        return Money._derived(self.amount * qty, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    @property
    def exponent(self) -> int:
        return _MINOR_UNITS.get(self.currency, 2)

    def to_minor(self) -> int:
        """Integer minor units (cents); refuses amounts finer than the currency allows."""
        scaled = self.amount.scaleb(self.exponent)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{self.amount} {self.currency} has more decimals than the currency allows")
        return int(scaled)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        exp = _MINOR_UNITS.get(currency.upper(), 2)
        return cls(amount=Decimal(minor).scaleb(-exp), currency=currency)

    def quantized(self) -> Decimal:
        return self.amount.quantize(_QUANTUM[self.exponent], rounding=ROUND_HALF_UP)

    def format(self) -> str:
        """Human form: "$149.00", or "149.00 SEK" where there is no symbol we trust."""
        # Hot in the policy's explanations (the simulator formats ~4 per case): lookups, no rebuilt specs.
        currency = self.currency
        exponent = _MINOR_UNITS.get(currency, 2)
        q = self.amount.quantize(_QUANTUM[exponent], rounding=ROUND_HALF_UP)
        symbol = _CURRENCY_SYMBOLS.get(currency)
        sign = "-" if q < 0 else ""
        body = format(abs(q), _GROUPED[exponent])
        return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"

    def __str__(self) -> str:
        return self.format()


def total(values: Iterable[Money], currency: str) -> Money:
    # `zero + v + …` summed in Decimals (one Money at the end): the same sums in the same
    # order and the same currency check; a return's amount is read on every assessment.
    out = Money.zero(currency)
    amount, currency = out.amount, out.currency
    added = False
    for v in values:
        if v.currency != currency:
            raise CurrencyMismatch(f"{currency} vs {v.currency}")
        amount, added = amount + v.amount, True
    return Money._derived(amount, currency) if added else out


def charged_if_other(shop: Money, charged: Money | None) -> Money | None:
    """What the customer was charged, when it is in another currency than the shop's
    money (a multi-currency order); None when there is nothing else to show."""
    return charged if charged is not None and charged.currency != shop.currency else None


# --- the shop ---------------------------------------------------------------------------


class ShopFacts(Frozen):
    """What the primary store says about itself: the currency it prices in (every amount
    the policy compares is in it) and its IANA time zone (return windows, the digest)."""

    currency: str = Field(min_length=3, max_length=3)
    timezone: str
    name: str | None = None

    @field_validator("currency")
    @classmethod
    def _code(cls, v: str) -> str:
        if not (v.isascii() and v.isalpha()):
            raise ValueError(f"not a currency code: {v!r}")
        return v.upper()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not an IANA time zone: {v!r}") from None
        return v


# --- what the store systems tell us -----------------------------------------------------


class RiskLevel(StrEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class CheckResult(StrEnum):
    """A card verification check's result, in our terms."""

    PASS = "pass"
    FAIL = "fail"
    UNAVAILABLE = "unavailable"  # not checked, or the issuer didn't say


class PaymentRisk(Frozen):
    """A payment risk assessment: Shopify's order risk now, Stripe Radar later."""

    source: str  # "shopify", "stripe"
    level: RiskLevel
    score: int | None = None  # 0-100 where the source gives one
    facts: tuple[str, ...] = ()
    rule: str | None = None  # the processor's rule that matched (Radar), when it says
    seller_message: str | None = None  # the processor's words for the merchant: escape before rendering
    # What the card network checked at payment, where the processor says (evidence in a
    # dispute): the CVC, the billing address (line 1 / postal code), and 3D Secure.
    cvc_check: CheckResult | None = None
    address_check: CheckResult | None = None
    authenticated: bool | None = None  # the card holder passed 3D Secure


class DeliveryStatus(StrEnum):
    UNFULFILLED = "UNFULFILLED"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


class CarrierStatus(StrEnum):
    """A carrier's own status for a parcel, as tracking services report it (the codes are
    the industry's; each connector maps its system's names to these)."""

    UNKNOWN = "UN"
    ACCEPTED = "AC"
    IN_TRANSIT = "IT"
    DELIVERED = "DE"
    EXCEPTION = "EX"
    DELIVERY_ATTEMPT = "AT"
    NOT_YET_IN_SYSTEM = "NY"
    COLLECTION_POINT = "SP"  # delivered to a collection location, waiting for the customer

    @property
    def label(self) -> str:
        return _CARRIER_LABELS[self]


_CARRIER_LABELS = {
    CarrierStatus.UNKNOWN: "Unknown", CarrierStatus.ACCEPTED: "Accepted by the carrier",
    CarrierStatus.IN_TRANSIT: "In transit", CarrierStatus.DELIVERED: "Delivered",
    CarrierStatus.EXCEPTION: "Exception", CarrierStatus.DELIVERY_ATTEMPT: "Delivery attempted",
    CarrierStatus.NOT_YET_IN_SYSTEM: "Label created, not yet with the carrier",
    CarrierStatus.COLLECTION_POINT: "At a collection point",
}


class Shipment(Frozen):
    id: str
    status: DeliveryStatus
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    source: str = "shopify"
    # What the carrier itself says, where a tracking service reports it (ShipStation).
    carrier_status: CarrierStatus | None = None
    last_scan_at: datetime | None = None
    last_scan: str | None = None  # the carrier's words and place: escape before rendering
    exception: str | None = None  # the carrier's exception text: escape before rendering
    signed_by: str | None = None  # who signed for the delivery, per the carrier: escape before rendering


class ParcelUpdate(Frozen):
    """What a shipping system says of one parcel (or of an order it has not shipped yet:
    `shipment.status` UNFULFILLED), with what ties it to the store's order. The policy
    (policy/shipping.py) decides whether it is late."""

    order_ref: str | None  # the store's order number ("1001") or id, as the shipping system knows it
    shipment: Shipment
    ordered_at: datetime | None = None  # when the order was placed (for "not shipped in time")
    return_label: bool = False  # a return label: the parcel is coming back to the shop
    reported_at: datetime | None = None  # when the system said so (UTC)


class TicketStatus(StrEnum):
    """A helpdesk ticket's state in our words (each connector maps its own to these)."""

    OPEN = "open"  # waiting for the support team
    PENDING = "pending"  # waiting for the customer (or on hold)
    SOLVED = "solved"  # answered; the customer can still reopen it
    CLOSED = "closed"


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"  # a public message from the support team
    INTERNAL = "internal"  # an internal note: never shown to the customer


class TicketMessage(Frozen):
    id: str
    author: AuthorKind
    text: str  # plain text (customer-supplied: escape before rendering)
    created_at: datetime
    author_name: str | None = None
    author_email: str | None = None
    # The write this message came from, when returnsbot wrote it (see policy/tickets.py).
    marker: str | None = None

    @field_validator("created_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return utc(v)


class Ticket(Frozen):
    """A support ticket as a helpdesk reports it (policy/tickets.py is the port). Read
    from the helpdesk's API, never from a webhook body. `messages` are oldest first and
    complete on `get_ticket`; lists (`recent_tickets`, `tickets_of`) leave them empty."""

    id: str
    source: str  # the connector that owns it: "gorgias", "zendesk", "sample"
    subject: str
    status: TicketStatus
    created_at: datetime
    updated_at: datetime
    requester_name: str | None = None
    requester_email: str | None = None
    messages: tuple[TicketMessage, ...] = ()
    tags: tuple[str, ...] = ()
    channel: str | None = None  # how it came in: "email", "chat", "web", …
    url: str | None = None  # the ticket in the helpdesk's own UI
    language: str | None = None  # when the helpdesk says ("de", "en")
    csat: int | None = None  # satisfaction score when the helpdesk has one (1–5)

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return utc(v)

    @property
    def customer_messages(self) -> tuple[TicketMessage, ...]:
        return tuple(m for m in self.messages if m.author is AuthorKind.CUSTOMER)


# The slot's old name (CaseContext.tickets, policy/disputes.py read subject and status).
SupportTicket = Ticket


class LineItem(Frozen):
    id: str
    title: str
    sku: str | None = None
    variant_title: str | None = None
    quantity: int
    unit_price: Money  # what the customer paid per unit, after discounts (shop money)
    product_tags: tuple[str, ...] = ()
    # The same in the currency the customer paid in, on a multi-currency order (else None).
    presentment_unit_price: Money | None = None


class Refund(Frozen):
    id: str
    order_id: str
    created_at: datetime
    amount: Money  # shop money
    note: str | None = None
    presentment_amount: Money | None = None  # what went back to the customer, in their currency


class DisputeStatus(StrEnum):
    """Where a chargeback stands, in our terms; each connector maps its system's statuses
    (Shopify Payments', Stripe's) to these."""

    NEEDS_RESPONSE = "NEEDS_RESPONSE"
    UNDER_REVIEW = "UNDER_REVIEW"
    ACCEPTED = "ACCEPTED"  # the merchant gave in
    REFUNDED = "REFUNDED"  # the charge was refunded, which closes it
    WON = "WON"
    LOST = "LOST"

    @classmethod
    def _missing_(cls, value: object) -> DisputeStatus | None:
        return _lenient(cls, value, CHARGE_REFUNDED=cls.REFUNDED)

    @property
    def is_open(self) -> bool:
        return self in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW)


class Dispute(Frozen):
    id: str
    order_id: str | None
    status: DisputeStatus
    reason: str | None = None
    amount: Money
    initiated_at: datetime
    evidence_due_by: datetime | None = None
    # Where the dispute lives ("shopify", "stripe"), the card network's reason code and the
    # payment it is against, when the system says.
    source: str = "shopify"
    network_reason_code: str | None = None
    charge_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status.is_open


class Address(Frozen):
    """A postal address as the order has it (customer data: shown only where a dispute
    needs it, escaped before rendering)."""

    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    province: str | None = None
    zip: str | None = None
    country_code: str | None = None

    def one_line(self) -> str:
        return ", ".join(p for p in (self.name, self.line1, self.line2, self.city,
                                     " ".join(x for x in (self.province, self.zip) if x), self.country_code) if p)


class OrderFacts(Frozen):
    """What the store knows about how an order was placed, read only for a dispute's
    evidence: the buyer's IP, the billing and shipping addresses."""

    client_ip: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    billing_matches_shipping: bool | None = None


class Order(Frozen):
    id: str  # gid://shopify/Order/...
    name: str  # "#1001"
    created_at: datetime
    currency: str
    total: Money  # total price as placed (Shopify totalPriceSet)
    received: Money  # captured before refunds (Shopify totalReceivedSet); left to refund = received - refunded
    refunded: Money  # refunded so far (Shopify totalRefundedSet)
    financial_status: str | None = None
    fulfillment_status: str | None = None
    customer_id: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    risk: PaymentRisk | None = None
    cancelled_at: datetime | None = None
    # What the customer was charged, in the currency they paid in (Shopify's presentment
    # money): set only when it is not the shop's currency. Decisions use `total`.
    presentment_total: Money | None = None

    @property
    def presentment_currency(self) -> str:
        """The currency the customer paid in (the shop's unless multi-currency)."""
        return self.presentment_total.currency if self.presentment_total is not None else self.currency

    @property
    def number(self) -> str:
        return self.name.lstrip("#")

    @property
    def delivered_at(self) -> datetime | None:
        dates = [s.delivered_at for s in self.shipments if s.delivered_at]
        return max(dates) if dates else None

    @property
    def fulfilled_at(self) -> datetime | None:
        dates = [s.shipped_at for s in self.shipments if s.shipped_at]
        return max(dates) if dates else None


class Customer(Frozen):
    id: str
    display_name: str
    email: str | None = None
    tags: tuple[str, ...] = ()
    orders_count: int = 0
    lifetime_spend: Money
    created_at: datetime | None = None


class ReturnStatus(StrEnum):
    """Where a return stands, in our terms; each connector maps its system's statuses
    (Shopify's OPEN is APPROVED here)."""

    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    CLOSED = "CLOSED"
    CANCELED = "CANCELED"

    @classmethod
    def _missing_(cls, value: object) -> ReturnStatus | None:
        # Snapshots written before the names were ours said OPEN for an approved return.
        return _lenient(cls, value, OPEN=cls.APPROVED)


class ReturnOutcome(StrEnum):
    """What the customer asked for in place of the returned line (a returns platform says)."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    STORE_CREDIT = "store_credit"  # a gift card / store credit
    KEEP = "keep"  # refunded without sending the item back


class ReturnLineItem(Frozen):
    id: str
    line_item_id: str
    title: str
    sku: str | None = None
    quantity: int
    unit_price: Money
    reason: str  # Shopify ReturnReason, e.g. SIZE_TOO_SMALL, DEFECTIVE, OTHER
    reason_note: str | None = None  # customer-supplied: escape before rendering
    customer_note: str | None = None  # customer-supplied: escape before rendering
    product_tags: tuple[str, ...] = ()
    presentment_unit_price: Money | None = None  # in the customer's currency (multi-currency order)
    requested_outcome: ReturnOutcome | None = None  # None: the source doesn't say (Shopify)
    exchange_for: str | None = None  # EXCHANGE: the variant asked for, as the source names it

    @property
    def amount(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def presentment_amount(self) -> Money | None:
        return self.presentment_unit_price * self.quantity if self.presentment_unit_price is not None else None


class ReturnRequest(Frozen):
    id: str  # gid://shopify/Return/...
    name: str | None = None  # "#1001-R1"
    order_id: str
    status: ReturnStatus
    requested_at: datetime
    line_items: tuple[ReturnLineItem, ...] = Field(min_length=1)  # Shopify refuses empty returns
    status_page_url: str | None = None  # the customer's view of the return, where the source has one

    @property
    def currency(self) -> str:
        return self.line_items[0].unit_price.currency

    @property
    def amount(self) -> Money:
        return total([li.amount for li in self.line_items], self.currency)

    @property
    def presentment_amount(self) -> Money | None:
        """The same return in the currency the customer paid in, when every line says."""
        charged = [li.presentment_amount for li in self.line_items]
        if not charged or any(c is None for c in charged):
            return None
        return total(charged, charged[0].currency)  # type: ignore[arg-type, union-attr]


class PastReturn(Frozen):
    return_id: str
    order_id: str
    requested_at: datetime
    amount: Money
    status: ReturnStatus


class CustomerHistory(Frozen):
    """What the customer did before this case, over the look-back period."""

    since: datetime
    orders_count: int  # orders placed since `since`
    returns: tuple[PastReturn, ...] = ()  # returns requested since `since` (excluding this one)
    first_order_at: datetime | None = None


# --- events: what happened, as the pipeline sees it --------------------------------------


class EventKind(StrEnum):
    RETURN_REQUESTED = "return_requested"
    RETURN_APPROVED = "return_approved"
    RETURN_DECLINED = "return_declined"
    REFUND_CREATED = "refund_created"
    ORDER_CREATED = "order_created"
    DISPUTE_CREATED = "dispute_created"
    # A dispute moved (evidence submitted, won, lost, accepted): `detail["dispute"]` (the
    # Dispute as JSON) when the connector read it, else the store is asked.
    DISPUTE_UPDATED = "dispute_updated"
    RETURN_STAGE = "return_stage"  # a return moved after approval: `DomainEvent.stage` says how
    FRAUD_WARNING = "fraud_warning"  # an early fraud warning, actionable (policy/payments.py)
    FRAUD_WARNING_RESOLVED = "fraud_warning_resolved"  # no longer actionable: `detail["reason"]`
    SHIPMENT_TRACKED = "shipment_tracked"  # a shipping system's view of parcels: `DomainEvent.parcels`
    # A helpdesk ticket is new or changed (a later message too): `detail["ticket"]` is the
    # Ticket as JSON, read again from the helpdesk's API; resource_id is the ticket id.
    TICKET_RECEIVED = "ticket_received"
    # An action the source had accepted (queued) failed there later: `detail["message"]`.
    RETURN_ACTION_FAILED = "return_action_failed"


class DomainEvent(Frozen):
    """A thing that happened in a store system; carries ids, the source is authoritative."""

    source: str  # "shopify", "sample"
    kind: EventKind
    resource_id: str  # the return / order / refund / dispute id (gid form)
    order_id: str | None = None
    occurred_at: datetime | None = None
    # Fields known only from the delivery itself (e.g. decline reason, dispute amount).
    detail: dict[str, str] = Field(default_factory=dict)
    stage: "StageUpdate | None" = None  # for RETURN_STAGE events (policy/lifecycle.py)
    # For SHIPMENT_TRACKED events: what a shipping system says of parcels (policy/shipping.py).
    parcels: tuple[ParcelUpdate, ...] = ()


# --- cases --------------------------------------------------------------------------------


class CaseKind(StrEnum):
    RETURN_REQUEST = "return_request"
    HIGH_VALUE_REFUND = "high_value_refund"
    DISPUTE = "dispute"
    ORDER_REVIEW = "order_review"  # VIP / high-value / risky new order
    EARLY_FRAUD_WARNING = "early_fraud_warning"  # the card issuer reported the payment as fraud
    DELAYED_SHIPMENT = "delayed_shipment"  # unfulfilled too long, a carrier exception, or late
    TICKET = "ticket"  # a support ticket: classified, decided, a reply drafted (policy/ticket_case.py)


class CaseStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DENIED = "denied"
    ESCALATED = "escalated"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    CLOSED = "closed"  # resolved outside returnsbot (e.g. approved in Shopify admin)


class ReturnPlatform(Frozen):
    """A return owned by a returns platform (Loop) rather than the store: where the
    decision is carried out, and how the platform holds it now."""

    system: str  # the connector that owns it ("loop")
    label: str  # how people call it ("Loop")
    in_review: bool = False  # in the platform's review queue: its API can't accept it
    flagged: bool = False  # held by the platform: it refuses to process until unflagged there
    admin_url: str | None = None
    status_page_url: str | None = None

    @property
    def state(self) -> str:
        """How the platform holds it, in one word (the case keeps it: `external_status`)."""
        return "review" if self.in_review else "flagged" if self.flagged else "open"


class CaseContext(Frozen):
    """Everything a person (and the policy) needs to decide. Snapshotted with the case."""

    kind: CaseKind
    now: datetime
    # None only on a TICKET case about no order we could find (the wholesale enquiry):
    # every other kind is about an order. Readers that can see a ticket case check.
    order: Order | None
    customer: Customer | None = None
    history: CustomerHistory | None = None
    return_request: ReturnRequest | None = None
    refund: Refund | None = None
    dispute: Dispute | None = None
    # How the order was placed (IP, addresses): read for dispute cases only.
    order_facts: OrderFacts | None = None
    # A return a returns platform owns (Loop): the decision is carried out there.
    platform: ReturnPlatform | None = None
    # Slots that later integrations fill (Stripe, ShipStation, Gorgias).
    payments: tuple[PaymentRisk, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    open_disputes: tuple[Dispute, ...] = ()
    # The early fraud warning an EARLY_FRAUD_WARNING case is about; and open warnings and
    # disputes on this order or the customer's other orders, from payment systems
    # (policy/payments.py defines the types).
    fraud_warning: "EarlyFraudWarning | None" = None
    fraud_warnings: "tuple[EarlyFraudWarning, ...]" = ()
    # How the payment system's records were joined to this order (the card says).
    payment_links: "tuple[PaymentLink, ...]" = ()
    # Who holds the order's money when the store does not (a processor took the payment
    # directly); None: the store holds it and refunds go through the store.
    money_held_by: "MoneyHolder | None" = None
    # Other return requests already filed against this order (repeat claims).
    prior_returns_on_order: tuple[PastReturn, ...] = ()
    # Connected systems that didn't answer in time when the context was assembled (their
    # labels): the card names them, the rest of the context is still there.
    unavailable: tuple[str, ...] = ()
    # A TICKET case: how the ticket was triaged and the reply drafted (policy/ticket_case.py).
    # The ticket itself is `tickets[0]`; for a `return` intent, `return_request` is what the
    # ticket asks to return (derived, not a store return: its id starts "ticket:").
    # Kept as TicketReview's JSON and read with policy.ticket_case.review_of: the triage and
    # drafting types import this module, so they cannot be its field types.
    ticket_review: dict | None = None
    # A return case whose customer has a ticket open that did not join it: the drafted
    # approval and deny messages posted to that ticket (policy.ticket_case.TicketReplies'
    # JSON, read with `replies_of`; a dict for the same reason as `ticket_review`).
    ticket_replies: dict | None = None

    @property
    def correlation_key(self) -> str | None:
        """What makes two systems' reports of the same thing one case: a return request is
        its order and the lines and quantities it returns (Shopify and Loop both know those;
        only one of them knows the other's return id); an order review is its order."""
        if self.order is None:
            return None
        if self.kind is CaseKind.RETURN_REQUEST and self.return_request is not None:
            lines = ",".join(sorted(f"{li.line_item_id}x{li.quantity}" for li in self.return_request.line_items))
            return f"return:{self.order.id}:{lines}"
        if self.kind is CaseKind.ORDER_REVIEW:
            return f"order:{self.order.id}"
        return None

    @property
    def occurred_at(self) -> datetime:
        """When what the case is about happened: the return was requested, the refund made,
        the dispute opened, the order placed."""
        if self.return_request is not None:
            return self.return_request.requested_at
        if self.refund is not None:
            return self.refund.created_at
        if self.dispute is not None:
            return self.dispute.initiated_at
        if self.fraud_warning is not None:
            return self.fraud_warning.created_at
        if self.order is None:  # a ticket about no order: it waits since the customer wrote
            return self.tickets[0].created_at if self.tickets else self.now
        return self.order.created_at

    @property
    def amount(self) -> Money:
        """The money the decision is about."""
        if self.return_request is not None:
            return self.return_request.amount
        if self.refund is not None:
            return self.refund.amount
        if self.dispute is not None:
            return self.dispute.amount
        if self.fraud_warning is not None:
            return self.fraud_warning.left_to_refund
        if self.order is None:
            raise LookupError("a case about no order has no amount: use at_stake(shop currency)")
        return self.order.total

    def at_stake(self, shop_currency: str) -> Money:
        """`amount`, or nothing (zero in the shop's currency) on a ticket about no order:
        no money is asked for, so the lowest tier may answer it."""
        if self.order is None and self.return_request is None and self.refund is None and self.dispute is None \
                and self.fraud_warning is None:
            return Money.zero(shop_currency)
        return self.amount

    @property
    def charged(self) -> Money | None:
        """`amount` as the customer was charged it, when that is another currency (a
        multi-currency order): shown beside it on the card; decisions use `amount`."""
        if self.return_request is not None:
            charged = self.return_request.presentment_amount
        elif self.refund is not None:
            charged = self.refund.presentment_amount
        elif self.dispute is not None or self.fraud_warning is not None:
            charged = None
        elif self.order is None:
            return None
        else:
            charged = self.order.presentment_total
        return charged_if_other(self.amount, charged)


class SignalCode(StrEnum):
    OUTSIDE_WINDOW = "outside_window"
    HIGH_VALUE = "high_value"
    FINAL_SALE = "final_sale"
    SERIAL_RETURNER = "serial_returner"
    VIP_CUSTOMER = "vip_customer"
    HIGH_PAYMENT_RISK = "high_payment_risk"
    OPEN_DISPUTE = "open_dispute"
    NOT_DELIVERED = "not_delivered"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    REPEAT_CLAIM = "repeat_claim"
    SHIPMENT_DELAYED = "shipment_delayed"


class Signal(Frozen):
    code: SignalCode
    weight: int  # contribution to the risk score; negative lowers risk (VIP)
    explanation: str  # one line, for a person
    evidence: dict[str, str] = Field(default_factory=dict)


class Action(StrEnum):
    REFUND = "refund"
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"
    DENY = "deny"
    ESCALATE = "escalate"
    ACCEPT = "accept"  # no store side effect: acknowledge an order/refund review
    CONTEST = "contest"  # a dispute: submit the evidence packet to the payment system
    CONCEDE = "concede"  # a dispute: accept the loss (the money stays with the card holder)
    # A delayed shipment's remedies, carried out in the store that owns the order.
    RESHIP = "reship"
    REFUND_SHIPPING = "refund_shipping"

    @property
    def label(self) -> str:
        return {
            Action.REFUND: "refund",
            Action.STORE_CREDIT: "store credit",
            Action.EXCHANGE: "exchange",
            Action.DENY: "deny",
            Action.ESCALATE: "escalate",
            Action.ACCEPT: "acknowledge",
            Action.CONTEST: "submit evidence",
            Action.CONCEDE: "accept the loss",
            Action.RESHIP: "reship",
            Action.REFUND_SHIPPING: "refund shipping",
        }[self]


class Tier(Frozen):
    index: int  # 0-based position in approval_tiers
    up_to: Decimal | None  # None: above every configured limit (last tier)
    approvers: tuple[str, ...]


class Recommendation(Frozen):
    action: Action
    risk_score: int = Field(ge=0, le=100)
    amount: Money
    reasons: tuple[str, ...]
    conflicts: tuple[str, ...] = ()  # "outside window, but VIP … → store credit"
    tier: Tier
    auto_approve: bool = False
    channel: str | None = None  # owner channel from policy routing


class Assessment(Frozen):
    """Detection + recommendation for one case: what gets stored and rendered."""

    kind: CaseKind
    signals: tuple[Signal, ...]
    recommendation: Recommendation



def approve_outcome(kind: CaseKind, recommended: Action) -> Action:
    """What pressing Approve does — one rule, shared by the card's button label and the
    decision service, so the label never promises something else than what runs.

    An early fraud warning's Approve refunds the payment (what is left on it) in the
    payment system. A dispute's Approve submits the evidence (CONTEST). Reviews of orders
    and refunds have no store side effect: ACCEPT. A return
    request carries out the recommendation (refund, store credit, exchange, decline); when
    the recommendation is ESCALATE, approving grants the plain return: a refund.
    """
    if kind is CaseKind.EARLY_FRAUD_WARNING:
        return Action.REFUND
    if kind is CaseKind.DISPUTE:
        return Action.CONTEST  # "Submit evidence"; accepting the loss is its own button
    if kind is not CaseKind.RETURN_REQUEST:
        return Action.ACCEPT
    if recommended in (Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE, Action.DENY):
        return recommended
    return Action.REFUND


class DeclineReason(StrEnum):
    """Why a return is declined, in our terms; each connector maps them to its system's own
    (Shopify's ReturnDeclineReason in integrations/shopify)."""

    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
    FINAL_SALE = "FINAL_SALE"
    OTHER = "OTHER"

    @classmethod
    def _missing_(cls, value: object) -> DeclineReason | None:
        # Decisions, modal values and queued jobs written before the names were ours.
        return _lenient(cls, value, RETURN_PERIOD_ENDED=cls.OUTSIDE_WINDOW)

    @classmethod
    def parse(cls, value: str | None) -> DeclineReason | None:
        try:
            return cls(value) if value else None
        except ValueError:
            return None

    @property
    def label(self) -> str:
        return {
            DeclineReason.OUTSIDE_WINDOW: "Return period ended",
            DeclineReason.FINAL_SALE: "Final sale item",
            DeclineReason.OTHER: "Other reason",
        }[self]


def decline_reason_for(signal_codes: Iterable[str]) -> DeclineReason | None:
    """The decline reason the signals point to: the deny modal preselects it, and
    approving a "deny" recommendation declines with it (OTHER when none applies)."""
    codes = set(signal_codes)
    if SignalCode.OUTSIDE_WINDOW.value in codes:
        return DeclineReason.OUTSIDE_WINDOW
    if SignalCode.FINAL_SALE.value in codes:
        return DeclineReason.FINAL_SALE
    return None


# The lifecycle types use Frozen and Money from here; policy/lifecycle.py resolves
# DomainEvent.stage once both exist, whichever of the two is imported first.
import policy.lifecycle  # noqa: E402,F401
import policy.payments  # noqa: E402,F401  (resolves CaseContext's payment slots)
