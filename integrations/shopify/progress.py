"""A Return's progress read (documents.RETURN_PROGRESS) → the StageUpdates it shows.

The read is authoritative: a webhook may be late, twice or missing, the read says where the
return stands. Each fact keeps the ref its webhook gives (reverse delivery id for a label,
the reverse fulfillment order plus the disposed quantities for a disposal), so a fact seen
by both the webhook and the poller is recorded once (refs match for labels and closes by
id; disposals match when the same quantities are seen).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from policy import models as _models  # noqa: F401  (first: policy.lifecycle resolves against it)
from policy.lifecycle import Disposition, DisposedLine, ReturnStage, StageUpdate, Tracking
from policy.models import utc

SOURCE = "shopify"


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    return utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _nodes(conn: Any) -> list[dict[str, Any]]:
    return [n for n in (conn or {}).get("nodes") or [] if isinstance(n, dict)]


def stage_updates(ret: dict[str, Any], *, now: datetime) -> list[StageUpdate]:
    """The stages a progress read shows, oldest first. `now` stands for facts the read
    gives no time for (a label's time is its createdAt where Shopify gives it)."""
    rid = ret["id"]
    out: list[StageUpdate] = []
    approved = _dt(ret.get("requestApprovedAt"))
    if approved is not None:
        out.append(StageUpdate(return_id=rid, stage=ReturnStage.APPROVED, at=approved, source=SOURCE, ref=rid))
    # dispositions are on the reverse fulfillment order's lines; the case knows return lines:
    # the two meet at the fulfillment line item
    return_line_of = {(li.get("fulfillmentLineItem") or {}).get("id"): li["id"]
                      for li in _nodes(ret.get("returnLineItems")) if li.get("fulfillmentLineItem")}
    for rfo in _nodes(ret.get("reverseFulfillmentOrders")):
        for delivery in _nodes(rfo.get("reverseDeliveries")):
            deliverable = delivery.get("deliverable") or {}
            label = deliverable.get("label") or {}
            tracking = deliverable.get("tracking") or {}
            t = Tracking(carrier=tracking.get("carrierName"), number=tracking.get("number"), url=tracking.get("url"),
                         label_url=label.get("publicFileUrl"))
            if any((t.carrier, t.number, t.url, t.label_url)):
                out.append(StageUpdate(return_id=rid, stage=ReturnStage.LABEL_SENT, at=_dt(label.get("createdAt")) or now,
                                       source=SOURCE, ref=delivery["id"], tracking=t))
        lines: list[DisposedLine] = []
        for li in _nodes(rfo.get("lineItems")):
            line_id = return_line_of.get((li.get("fulfillmentLineItem") or {}).get("id"), li["id"])
            for d in li.get("dispositions") or []:
                try:
                    disposition = Disposition(str(d.get("type")).upper())
                except ValueError:
                    continue  # a disposition type newer than ours: the webhook decoder refuses it too
                location = (d.get("location") or {}).get("name")
                lines.append(DisposedLine(return_line_id=line_id, quantity=int(d.get("quantity") or 0),
                                          disposition=disposition, location=location))
        if lines:
            ref = rfo["id"] + "#" + ",".join(f"{d.return_line_id}:{d.disposition}:{d.quantity}" for d in lines)
            out.append(StageUpdate(return_id=rid, stage=ReturnStage.RECEIVED, at=now, source=SOURCE, ref=ref[:255],
                                   dispositions=tuple(lines)))
    status = str(ret.get("status") or "").upper()
    closed = _dt(ret.get("closedAt"))
    if status == "CLOSED" and closed is not None:
        out.append(StageUpdate(return_id=rid, stage=ReturnStage.CLOSED, at=closed, source=SOURCE,
                               ref=f"{rid}@{closed.isoformat()}"))
    elif status == "CANCELED":
        out.append(StageUpdate(return_id=rid, stage=ReturnStage.CANCELLED, at=closed or now, source=SOURCE,
                               ref=f"{rid}@cancelled"))
    return sorted(out, key=lambda u: (u.at, u.stage.rank))
