"""A Loop return (as read from the API) → the domain event it means. Shared by the webhook
decoder and the poller, so a missed webhook caught up by a poll is the same event.

- open / review → RETURN_REQUESTED, with the ReturnRequest and Loop's facts in `detail`
  (the lead's ingest opens or updates the case from it);
- closed → RETURN_STAGE PROCESSED when outcomes were carried out (a refund made, an
  exchange order or gift card placed), else CLOSED; cancelled → CANCELLED; expired →
  CLOSED with the reason;
- the label's status → LABEL_SENT / IN_TRANSIT / DELIVERED_BACK (failure/error keep the
  stage they are at, with a note); a restock → RECEIVED.
"""

from __future__ import annotations

import json
from datetime import datetime

from integrations.loop import mapping
from integrations.loop.mapping import LoopReturn, LoopState
from policy.lifecycle import ReturnStage, StageUpdate, Tracking
from policy.models import DomainEvent, EventKind, ReturnPlatform

SOURCE = mapping.SOURCE

# EasyPost's label statuses (Loop's label_status) → the stage they show.
LABEL_STAGES = {"pre_transit": ReturnStage.LABEL_SENT, "in_transit": ReturnStage.IN_TRANSIT,
                "out_for_delivery": ReturnStage.IN_TRANSIT, "delivered": ReturnStage.DELIVERED_BACK}
LABEL_PROBLEMS = ("failure", "error", "return_to_sender", "cancelled")  # noted, no stage change


def requested(ret: LoopReturn) -> DomainEvent:
    request = mapping.return_request(ret)
    platform = ReturnPlatform(system=SOURCE, label=mapping.LABEL, in_review=ret.state is LoopState.REVIEW,
                              flagged=ret.flagged, admin_url=ret.admin_url, status_page_url=ret.status_page_url)
    return DomainEvent(source=SOURCE, kind=EventKind.RETURN_REQUESTED, resource_id=ret.external_id,
                       order_id=ret.order_gid, occurred_at=ret.updated_at or ret.created_at,
                       detail={"return": request.model_dump_json(), "platform": platform.model_dump_json(),
                               "loop": json.dumps(mapping.loop_facts(ret))})


def stage(ret: LoopReturn, to: ReturnStage, *, ref: str, at: datetime | None, note: str | None = None,
          tracking: Tracking | None = None) -> DomainEvent:
    refunded = None
    if to is ReturnStage.PROCESSED and ret.refunds:
        refunded = sum(ret.refunds[1:], ret.refunds[0]) if len({r.currency for r in ret.refunds}) == 1 else None
    update = StageUpdate(return_id=ret.external_id, stage=to, at=at or ret.updated_at or ret.created_at,
                         source=SOURCE, ref=ref, tracking=tracking, note=note, refund=refunded,
                         exchange_released=to is ReturnStage.PROCESSED and ret.exchange_order_id is not None)
    return DomainEvent(source=SOURCE, kind=EventKind.RETURN_STAGE, resource_id=ret.external_id,
                       order_id=ret.order_gid, occurred_at=update.at, stage=update,
                       detail={"loop": json.dumps(mapping.loop_facts(ret))})


def for_state(ret: LoopReturn) -> DomainEvent:
    """What the return's state says, whichever trigger (or poll) brought it."""
    at = ret.updated_at or ret.created_at
    ref = f"state:{ret.state.value}"
    if ret.state in (LoopState.OPEN, LoopState.REVIEW):
        return requested(ret)
    if ret.state is LoopState.CLOSED:
        if ret.fulfilled:
            return stage(ret, ReturnStage.PROCESSED, ref=ref, at=at, note=_fulfilled_note(ret))
        return stage(ret, ReturnStage.CLOSED, ref=ref, at=at, note="closed in Loop without its outcomes")
    if ret.state is LoopState.CANCELLED:
        return stage(ret, ReturnStage.CANCELLED, ref=ref, at=at, note="cancelled in Loop")
    return stage(ret, ReturnStage.CLOSED, ref=ref, at=at,
                 note="expired in Loop (the label was not used within 28 days)")


def label(ret: LoopReturn) -> DomainEvent | None:
    """The label's status as a stage; None when there is no label status to show."""
    status = (ret.label.status or "").lower()
    if not status:
        return None
    tracking = Tracking(carrier=ret.label.carrier, number=ret.label.tracking_number, label_url=ret.label.url,
                        status=status.replace("_", " "))
    at = ret.label.updated_at or ret.updated_at or ret.created_at
    ref = f"label:{status}:{ret.label.tracking_number or '-'}"
    if status in LABEL_STAGES:
        return stage(ret, LABEL_STAGES[status], ref=ref, at=at, tracking=tracking)
    if status == "new":  # created, not yet scanned: a label is attached
        return stage(ret, ReturnStage.LABEL_SENT, ref=ref, at=at, tracking=tracking)
    if status in LABEL_PROBLEMS:
        # The lowest stage never moves a case (policy.lifecycle.moves_forward): it keeps the
        # stage it is at, and the note says what went wrong with the label.
        return stage(ret, ReturnStage.REQUESTED, ref=ref, at=at, tracking=tracking,
                     note=f"Loop reports the return label as {status}")
    return None


def restocked(ret: LoopReturn, *, ref: str) -> DomainEvent:
    return stage(ret, ReturnStage.RECEIVED, ref=ref, at=ret.updated_at, note="restocked in Shopify by Loop")


def action_failed(return_id: str, message: str | None, *, at: datetime) -> DomainEvent:
    text = (message or "").strip() or "Loop gave no reason"
    return DomainEvent(source=SOURCE, kind=EventKind.RETURN_ACTION_FAILED, resource_id=mapping.external_id(return_id),
                       occurred_at=at, detail={"message": text})


def _fulfilled_note(ret: LoopReturn) -> str:
    done = []
    if ret.refunds:
        done.append("refund made")
    if ret.exchange_order_id:
        done.append("exchange order placed")
    if ret.gift_card_order_id:
        done.append("gift card issued")
    return "processed in Loop: " + ", ".join(done)
