"""A return's progress after approval, in words: the card's status line, its stages list,
the one thread line per stage and the /order stages.

Pure: everything comes from a `StagesView`. Times are shown in the shop's zone (the
warehouse's day, not each viewer's), durations as "2 h ago". Every source text (carrier,
tracking number, location, note) is escaped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from blocks.escape import escape_mrkdwn, one_line
from policy.models import Money  # first: policy.lifecycle imported on its own is circular with policy.models
from policy.lifecycle import Disposition, ReturnStage, StageUpdate  # noqa: I001
from policy.lifecycle_rules import STAGE_WAITS

STAGE_LABELS: dict[ReturnStage, str] = {
    ReturnStage.REQUESTED: "Requested",
    ReturnStage.APPROVED: "Approved",
    ReturnStage.LABEL_SENT: "Label sent",
    ReturnStage.IN_TRANSIT: "In transit",
    ReturnStage.DELIVERED_BACK: "Delivered back",
    ReturnStage.RECEIVED: "Received",
    ReturnStage.PROCESSED: "Refunded",
    ReturnStage.CLOSED: "Closed",
    ReturnStage.CANCELLED: "Cancelled",
}

_DISPOSITION_WORDS = {
    Disposition.RESTOCKED: "restocked",
    Disposition.NOT_RESTOCKED: "not restocked",
    Disposition.PROCESSING_REQUIRED: "needs processing",
    Disposition.MISSING: "missing",
}


@dataclass(frozen=True)
class StagesView:
    """What the card knows about the return's stages (from CaseRecord + StageRepo.history)."""

    stage: ReturnStage | None
    stage_at: datetime | None
    history: tuple[StageUpdate, ...] = ()  # oldest first
    pending: Money | None = None  # the refund/credit that runs on receipt, if any
    pending_outcome: str = "refund"  # "refund" | "store_credit"
    followup_open: bool = False
    tz: str | None = None  # the shop's IANA zone; UTC when unknown


def short_ago(then: datetime, now: datetime) -> str:
    """"just now", "12 min ago", "2 h ago", "3 d ago"."""
    seconds = max((now - then).total_seconds(), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def shop_time(when: datetime, tz: str | None) -> str:
    """"Dec 2 14:05 CET" in the shop's zone (UTC when the zone is unknown)."""
    zone = ZoneInfo(tz) if tz else timezone.utc
    local = when.astimezone(zone)
    return f"{local:%b} {local.day} {local:%H:%M} {local.tzname()}"


def _current(view: StagesView) -> StageUpdate | None:
    for update in reversed(view.history):
        if update.stage is view.stage:
            return update
    return None


def _tracking_text(update: StageUpdate) -> str | None:
    t = update.tracking
    if t is None:
        return None
    parts = []
    if t.carrier:
        parts.append(escape_mrkdwn(one_line(t.carrier), 40))
    if t.number:
        number = escape_mrkdwn(one_line(t.number), 40)
        url = t.url if t.url and _safe_url(t.url) else None
        parts.append(f"<{url}|{number}>" if url else number)
    if t.status:
        parts.append(escape_mrkdwn(one_line(t.status), 60))
    return " ".join(parts) or None


def _safe_url(url: str) -> bool:
    # A link target goes into `<url|text>`: only plain https without mrkdwn's own characters.
    return url.startswith("https://") and not any(c in url for c in "<>| \n\r\t")


def _dispositions_text(update: StageUpdate) -> str | None:
    if not update.dispositions:
        return None
    counts: dict[Disposition, int] = {}
    for line in update.dispositions:
        counts[line.disposition] = counts.get(line.disposition, 0) + line.quantity
    if len(counts) == 1:
        return _DISPOSITION_WORDS[next(iter(counts))]
    return ", ".join(f"{n} {_DISPOSITION_WORDS[d]}" for d, n in counts.items())


def _next_step(view: StagesView, update: StageUpdate | None) -> str | None:
    stage = view.stage
    if view.followup_open:
        return "needs a decision"
    if stage in STAGE_WAITS:  # the stages a stall rule watches: what they wait for
        return STAGE_WAITS[stage].waiting_for  # None: the tracking says it
    if stage is ReturnStage.RECEIVED and view.pending is not None:
        what = "store credit" if view.pending_outcome == "store_credit" else "refund"
        return f"{what} {view.pending.format()} runs automatically"
    if stage is ReturnStage.PROCESSED and update is not None and update.refund is not None:
        method = f" to {escape_mrkdwn(one_line(update.refund_method), 40)}" if update.refund_method else ""
        return f"{update.refund.format()}{method}"
    return None


def status_line(view: StagesView, now: datetime) -> str | None:
    """"Received 2 h ago · restocked · refund €64.50 runs automatically"; None before any stage."""
    if view.stage is None:
        return None
    head = STAGE_LABELS[view.stage]
    if view.stage_at is not None:
        head += f" {short_ago(view.stage_at, now)}"
    parts = [f"*{head}*"]
    update = _current(view)
    if update is not None:
        detail = _tracking_text(update) if view.stage in (
            ReturnStage.LABEL_SENT, ReturnStage.IN_TRANSIT, ReturnStage.DELIVERED_BACK) else None
        detail = detail or (_dispositions_text(update) if view.stage is ReturnStage.RECEIVED else None)
        if detail:
            parts.append(detail)
    nxt = _next_step(view, update)
    if nxt:
        parts.append(nxt)
    return " · ".join(parts)


def stage_entry(update: StageUpdate, tz: str | None) -> str:
    """One compact line for a stage: "Label sent Dec 2 14:05 CET · UPS 1Z…"."""
    text = f"{STAGE_LABELS[update.stage]} {shop_time(update.at, tz)}"
    detail = _tracking_text(update) or _dispositions_text(update)
    if update.stage is ReturnStage.APPROVED and update.by:
        detail = f"by {escape_mrkdwn(one_line(update.by), 60)}"
    if update.stage is ReturnStage.PROCESSED and update.refund is not None:
        detail = update.refund.format()
    return f"{text} · {detail}" if detail else text


def stages_text(view: StagesView) -> str | None:
    """The stages list: one line per stage with its time, oldest first (later facts of a stage win)."""
    latest: dict[ReturnStage, StageUpdate] = {}
    for update in view.history:
        latest[update.stage] = update
    if not latest:
        return None
    ordered = sorted(latest.values(), key=lambda u: (u.stage.rank, u.at))
    return "\n".join(stage_entry(u, view.tz) for u in ordered)


def thread_line(updates: list[StageUpdate] | tuple[StageUpdate, ...], tz: str | None) -> str | None:
    """The one short thread line for the stages not yet posted: several collapse into one."""
    if not updates:
        return None
    ordered = sorted(updates, key=lambda u: (u.stage.rank, u.at))
    if len(ordered) == 1:
        return f":package: {stage_entry(ordered[0], tz)}"
    last = ordered[-1]
    earlier = " → ".join(STAGE_LABELS[u.stage] for u in ordered[:-1])
    return f":package: {earlier} → {stage_entry(last, tz)}"


def stages_compact(view: StagesView) -> str | None:
    """One line for /order: "Approved Nov 1 15:00 CET → Label sent Nov 2 14:00 CET"."""
    latest: dict[ReturnStage, StageUpdate] = {}
    for update in view.history:
        latest[update.stage] = update
    ordered = sorted(latest.values(), key=lambda u: (u.stage.rank, u.at))
    return " → ".join(f"{STAGE_LABELS[u.stage]} {shop_time(u.at, view.tz)}" for u in ordered) or None
