"""The return after approval, in our terms: stages, dispositions and the updates that move them.

Each connector translates its system's facts (Shopify's reverse deliveries and dispositions,
a carrier's tracking) into a `StageUpdate`; the lifecycle service records it on the case.
Stages only move forward: an update ranked at or below the case's stage is recorded as
history at most, never as the current stage (a late or replayed delivery can't move a case
back). The one way back is an explicit reopen of a closed or cancelled return.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from policy.models import Frozen, Money


class ReturnStage(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    LABEL_SENT = "label_sent"  # a label or tracking number is attached
    IN_TRANSIT = "in_transit"  # the carrier has the parcel
    DELIVERED_BACK = "delivered_back"  # the parcel reached the warehouse
    RECEIVED = "received"  # items inspected and disposed
    PROCESSED = "processed"  # refund / store credit / exchange done
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def terminal(self) -> bool:
        return self in (ReturnStage.CLOSED, ReturnStage.CANCELLED)


_RANK = {stage: i for i, stage in enumerate(ReturnStage)}
_RANK[ReturnStage.CANCELLED] = _RANK[ReturnStage.CLOSED]


class Disposition(StrEnum):
    """What the warehouse did with a returned line (Shopify's ReverseFulfillmentOrderDispositionType)."""

    RESTOCKED = "RESTOCKED"
    NOT_RESTOCKED = "NOT_RESTOCKED"  # damaged, used, wrong item
    PROCESSING_REQUIRED = "PROCESSING_REQUIRED"
    MISSING = "MISSING"


class DisposedLine(Frozen):
    return_line_id: str  # the return line (ReturnLineItem id) the disposition is for
    quantity: int = Field(ge=0)
    disposition: Disposition
    location: str | None = None  # where it was restocked, by name where known


class Tracking(Frozen):
    carrier: str | None = None
    number: str | None = None
    url: str | None = None
    label_url: str | None = None
    status: str | None = None  # the carrier's own words ("Out for delivery")


class StageUpdate(Frozen):
    """One fact about a return's progress from a connected system."""

    return_id: str  # the return, as the case's external id
    stage: ReturnStage
    at: datetime  # when it happened in the source (UTC)
    source: str  # the system that said so ("shopify", "sample", "shipstation")
    ref: str  # the source's id for this fact: with stage and source, the dedupe key
    by: str | None = None  # who, where the source says (approver, staff member)
    tracking: Tracking | None = None
    dispositions: tuple[DisposedLine, ...] = ()
    refund: Money | None = None  # processed: what was refunded
    refund_method: str | None = None  # "original payment", "store credit"
    exchange_released: bool = False
    note: str | None = None  # source text: escape before rendering
    # The source reopened a closed or cancelled return (Shopify's returns/reopen): the one
    # fact that may move a case back from a terminal stage.
    reopened: bool = False


def moves_forward(current: ReturnStage | None, update: ReturnStage) -> bool:
    """Whether a stage ranked `update` moves a case at `current` forward (never out of a
    terminal stage: see `becomes_current` for the reopen)."""
    if current is None:
        return True
    if current.terminal:
        return False
    return update.rank > current.rank


def becomes_current(current: ReturnStage | None, update: StageUpdate) -> bool:
    """Whether `update` becomes the case's current stage: it moves the case forward, or it
    reopens a closed/cancelled return to a stage that is not itself terminal. A reopen of a
    return that is not closed is history only (it is open already)."""
    if update.reopened and current is not None and current.terminal:
        return not update.stage.terminal
    return moves_forward(current, update.stage)


def _resolve_domain_event() -> None:
    from policy import models

    models.DomainEvent.model_rebuild(_types_namespace={"StageUpdate": StageUpdate})


_resolve_domain_event()
