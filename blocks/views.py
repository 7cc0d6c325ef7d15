"""What the renderers take: plain frozen dataclasses the bot layer fills from its store.

Text fields hold raw text exactly as received (customer notes, names, tags, error
messages); the renderers escape and shorten them. Datetimes must be timezone-aware (they
become Slack `<!date^…>` tokens, which need a real instant). Slack ids (`decided_by`,
approvers, playbook authors) are `U…`/`W…` user ids or `S…` user-group ids; anything else
is shown as plain text, never as a mention.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from blocks.stages import StagesView
from policy.disputes import EvidencePacket
from policy.models import (
    Action,
    CarrierStatus,
    CaseKind,
    CaseStatus,
    DeclineReason,
    DeliveryStatus,
    Money,
    Recommendation,
    Signal,
)


def _require_aware(obj: object) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{type(obj).__name__}.{f.name} must be timezone-aware")


@dataclass(frozen=True)
class CustomerView:
    name: str
    email: str | None = None
    orders_count: int | None = None
    lifetime_spend: Money | None = None
    returns_last_year: int | None = None
    tags: tuple[str, ...] = ()
    vip: bool = False


@dataclass(frozen=True)
class ItemView:
    title: str
    quantity: int
    amount: Money  # the line total (unit price × quantity)
    sku: str | None = None
    reason: str | None = None  # Shopify ReturnReason, e.g. SIZE_TOO_SMALL
    reason_note: str | None = None  # customer-supplied
    customer_note: str | None = None  # customer-supplied


@dataclass(frozen=True)
class ShippingView:
    status: DeliveryStatus
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    delivered_at: datetime | None = None
    # The carrier's own report, where a shipping system gave one (escape the text).
    carrier_status: CarrierStatus | None = None
    estimated_delivery_at: datetime | None = None
    last_scan: str | None = None
    last_scan_at: datetime | None = None
    exception: str | None = None

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True)
class DecisionView:
    """Who decided what, and when.

    `by` is the Slack user id of the person; None when nobody in Slack decided (the policy
    auto-approved: set `CaseView.auto_approved`; or the case was closed in the store admin:
    status CLOSED). `action` is the outcome that was chosen: REFUND, STORE_CREDIT, EXCHANGE,
    DENY or ACCEPT (escalations are `EscalationView`s).
    """

    action: Action
    at: datetime
    by: str | None = None
    note: str | None = None  # internal note, team only
    decline_reason: DeclineReason | None = None  # with action DENY

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True)
class EscalationView:
    """The case was escalated: by whom, when, why, to which tier, and where that card is."""

    by: str
    at: datetime
    note: str | None = None
    tier_label: str | None = None  # the tier it went to, e.g. "Tier 2 (≤ $1,000)"
    card_url: str | None = None  # permalink of the escalation-tier card

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True)
class PlaybookEntry:
    """A note the team left on an earlier, similar case: what to do next time."""

    author: str  # Slack user id
    created_at: datetime
    text: str

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True)
class FollowupView:
    """An exception at receipt waiting for a decision (the case's `followup` column)."""

    reason: str
    summary: str
    recommended: str  # "refund" | "partial_refund" | "store_credit" | "no_refund"
    suggested_amount: Money | None = None
    refundable: Money | None = None


@dataclass(frozen=True)
class ParcelClosedView:
    """A delayed-shipment case the parcel's own progress closed: what happened, and when."""

    progress: str  # policy.shipping.Progress: delivered, moving, shipped
    at: datetime | None = None
    last_scan: str | None = None  # the carrier's words: escape before rendering

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True)
class CaseView:
    """Everything the case card and the case modals show."""

    case_id: int
    version: int
    kind: CaseKind
    status: CaseStatus
    order_name: str  # "#1001"
    amount: Money  # the money the decision is about (shop money)
    recommendation: Recommendation
    tier_label: str  # required tier, e.g. "Tier 1 (≤ $250)" (see format.tier_label)
    now: datetime  # for relative times ("3 days ago")
    order_url: str | None = None  # the store's admin (admin_label)
    return_name: str | None = None  # "#1001-R1"
    return_url: str | None = None  # the store's admin
    customer: CustomerView | None = None
    items: tuple[ItemView, ...] = ()
    shipments: tuple[ShippingView, ...] = ()
    signals: tuple[Signal, ...] = ()
    approvers: tuple[str, ...] = ()  # Slack ids of who may decide at the required tier
    decision: DecisionView | None = None
    results: tuple[str, ...] = ()  # what ran: "refund $149.00 issued"
    error: str | None = None  # why execution failed (status FAILED)
    auto_approved: bool = False
    escalation: EscalationView | None = None
    # True for the card posted to the escalation tier: it carries the buttons while the
    # case is ESCALATED; the owner channel's card then only points to it.
    escalation_card: bool = False
    next_tier_label: str | None = None  # where Escalate would send it (escalate modal)
    playbook: tuple[PlaybookEntry, ...] = ()  # up to 3 are shown
    # The stored snapshot could not be read: the view holds only the case's own columns
    # (no items, shipping or reasons; signals without explanations). Still decidable.
    details_unavailable: bool = False
    # The case came from the bundled sample store, not a real shop: the card says so.
    sample_store: bool = False
    admin_label: str = "the store admin"  # where order_url/return_url lead: "Shopify admin"
    unavailable: tuple[str, ...] = ()  # connected systems that didn't answer: named on the card
    # `amount` as the customer was charged it, on a multi-currency order (another currency
    # than the shop's): shown beside it, "€145.00 · charged £124.10".
    charged: Money | None = None
    # The return's progress after approval (blocks.stages); None for cases without stages.
    stages: StagesView | None = None
    # An open follow-up decision at receipt (the case's `followup`): shown with its own buttons.
    followup: FollowupView | None = None
    # Payment-system facts (blocks/payments.py): the warning the case is about, how the
    # payment was linked to the order, the processor's risk, open warnings and disputes.
    payments: "PaymentsView | None" = None
    closed_reason: str | None = None  # closed by a fact from another system: why
    # Set when a delayed-shipment case closed itself (the parcel moved or was delivered).
    parcel_closed: ParcelClosedView | None = None
    dispute: DisputeView | None = None  # a dispute case: its packet and countdown
    platform: PlatformView | None = None  # a return a returns platform owns: decided there
    ticket: "TicketView | None" = None  # a ticket case: triage, the customer's words, the draft
    open_ticket: "OpenTicketView | None" = None  # a return case: the customer's open ticket it answers

    def __post_init__(self) -> None:
        _require_aware(self)

    @property
    def escalated(self) -> bool:
        return self.escalation is not None


@dataclass(frozen=True)
class PlatformView:
    """A return a returns platform owns (Loop): where its decision is carried out."""

    label: str  # "Loop"
    state: str  # review | flagged | open (the case's `external_status`)
    admin_url: str | None = None
    status_page_url: str | None = None


@dataclass(frozen=True)
class OpenTicketView:
    """The customer's open ticket a return case answers (it did not join the case): the
    approval and deny messages drafted for it go there."""

    subject: str  # customer text: escaped when rendered
    helpdesk: str  # the connector's label
    url: str | None = None
    approve_text: str | None = None
    deny_text: str | None = None


@dataclass(frozen=True)
class TicketView:
    """A ticket case's own facts (blocks/ticket.py), from the snapshot's TicketReview."""

    subject: str
    helpdesk: str  # the connector's label: "Gorgias", "the sample helpdesk"
    message: str  # the customer's latest message (customer text: escaped when rendered)
    intent: str
    sentiment: str
    urgency: str
    language: str
    classified_by: str  # "claude" | "rules"
    priority: str  # level
    priority_score: int
    reply_due_at: datetime
    requester: str | None = None
    url: str | None = None
    fallback_reason: str | None = None  # why the rules classified instead of Claude
    priority_reasons: tuple[str, ...] = ()
    order_found_by: str | None = None
    asks_return_of: tuple[str, ...] = ()  # the items a return intent names
    draft: str | None = None
    drafted_by: str | None = None  # "claude" | "template"
    draft_problems: tuple[str, ...] = ()  # why Claude's draft was replaced (flagged)
    sends_as: str = "as the approver's helpdesk agent (by Slack email), else the default agent"
    sent_as: str | None = None  # after Approve & send: who it went out as
    no_order: str | None = None  # no order found: how we looked
    context_note: str | None = None  # the order-context note: "posted", "queued", "failed (…)"; None: none
    reopened: bool = False  # the customer wrote again after the reply was sent
    store_plan: str | None = None  # a return ticket: what Approve & send does in the store (ticket_returns)


@dataclass(frozen=True)
class DisputeView:
    """A dispute case's own facts (blocks/dispute.py): the packet policy/disputes built from
    the snapshot, who holds the dispute, who it is assigned to, where it went after."""

    packet: EvidencePacket
    system: str  # who holds the dispute: "Stripe", "Shopify"
    network_reason_code: str | None = None
    assignee: str | None = None  # Slack user id
    external_status: str | None = None  # DisputeStatus value, once it moved after the decision
    accept_by_api: bool = True  # False: the system has no call to accept a dispute (the card says so)


@dataclass(frozen=True)
class PaymentsView:
    warning: object | None = None  # policy.payments.EarlyFraudWarning
    links: tuple = ()  # policy.payments.PaymentLink
    risks: tuple = ()  # policy.models.PaymentRisk from payment systems
    other_warnings: tuple = ()
    disputes: tuple = ()  # open disputes from payment systems
    holder: object | None = None  # policy.payments.MoneyHolder: the processor holds the order's money

    @property
    def empty(self) -> bool:
        return not (self.warning or self.links or self.risks or self.other_warnings or self.disputes or self.holder)
