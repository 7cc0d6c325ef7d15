"""The sample store's returns after approval, on a clock (issue 9).

Each return approved in the sample store follows a script, picked by the order in which
returns were approved (deterministic): the first is received and restocked, the second
arrives damaged (NOT_RESTOCKED), the third misses an item, the fourth stalls with no
label; the rest are restocked. The stages fall due minutes after the approval, so `serve`
with the sample store walks a case from approval to receipt (and, once the bot refunds, to
processed) in a few minutes. A return approved in the data itself (OPEN) counts as approved
a day after it was requested, so the demo shows it already received.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from policy import models as _models  # noqa: F401  (first: policy.lifecycle resolves against it)
from policy.lifecycle import Disposition, DisposedLine, ReturnStage, StageUpdate, Tracking
from policy.models import DomainEvent, EventKind, Money, ReturnRequest

RESTOCKED, DAMAGED, MISSING, STALLED = "restocked", "damaged", "missing", "stalled"
SCRIPTS = (RESTOCKED, DAMAGED, MISSING, STALLED)

# minutes after approval
LABEL_AFTER = timedelta(minutes=1)
IN_TRANSIT_AFTER = timedelta(minutes=2)
DELIVERED_AFTER = timedelta(minutes=3)
RECEIVED_AFTER = timedelta(minutes=4)
LOCATION = "Sample warehouse"


def script_for(position: int) -> str:
    """The script of the `position`-th approved return (0-based)."""
    return SCRIPTS[position] if position < len(SCRIPTS) else RESTOCKED


def timeline(ret: ReturnRequest, approved_at: datetime, script: str, *, source: str) -> list[StageUpdate]:
    """Every stage the return goes through, due or not (the caller filters by its clock)."""
    rid = ret.id
    number = f"SAMPLE{rid.rsplit('/', 1)[-1]}"

    def update(stage: ReturnStage, after: timedelta, **kw) -> StageUpdate:
        return StageUpdate(return_id=rid, stage=stage, at=approved_at + after, source=source,
                           ref=f"{rid}:{stage.value}", **kw)

    stages = [update(ReturnStage.APPROVED, timedelta(0), by="sample store")]
    if script == STALLED:
        return stages
    tracking = Tracking(carrier="Sample Post", number=number, url=f"https://track.example/{number}",
                        label_url=f"https://labels.example/{number}.pdf")
    stages += [
        update(ReturnStage.LABEL_SENT, LABEL_AFTER, tracking=tracking),
        update(ReturnStage.IN_TRANSIT, IN_TRANSIT_AFTER, tracking=tracking.model_copy(update={"status": "In transit"})),
        update(ReturnStage.DELIVERED_BACK, DELIVERED_AFTER, tracking=tracking.model_copy(update={"status": "Delivered"})),
        update(ReturnStage.RECEIVED, RECEIVED_AFTER, dispositions=_dispositions(ret, script)),
    ]
    return stages


def processed(ret: ReturnRequest, at: datetime, amount: Money, *, source: str, ref: str) -> StageUpdate:
    """The refund the bot made through the sample store, as the PROCESSED stage."""
    return StageUpdate(return_id=ret.id, stage=ReturnStage.PROCESSED, at=at, source=source, ref=ref,
                       refund=amount, refund_method="original payment")


def event(update: StageUpdate, ret: ReturnRequest, *, source: str) -> DomainEvent:
    return DomainEvent(source=source, kind=EventKind.RETURN_STAGE, resource_id=update.return_id,
                       order_id=ret.order_id, occurred_at=update.at, detail={"name": ret.name or ""}, stage=update)


def _dispositions(ret: ReturnRequest, script: str) -> tuple[DisposedLine, ...]:
    lines: list[DisposedLine] = []
    for i, li in enumerate(ret.line_items):
        if script == DAMAGED and i == 0:
            lines.append(DisposedLine(return_line_id=li.id, quantity=li.quantity, disposition=Disposition.NOT_RESTOCKED,
                                      location=LOCATION))
        elif script == MISSING and i == 0:
            # one unit never arrived; the rest (if any) restocked
            lines.append(DisposedLine(return_line_id=li.id, quantity=1, disposition=Disposition.MISSING))
            if li.quantity > 1:
                lines.append(DisposedLine(return_line_id=li.id, quantity=li.quantity - 1,
                                          disposition=Disposition.RESTOCKED, location=LOCATION))
        else:
            lines.append(DisposedLine(return_line_id=li.id, quantity=li.quantity, disposition=Disposition.RESTOCKED,
                                      location=LOCATION))
    return tuple(lines)
