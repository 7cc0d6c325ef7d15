"""`returnsbot demo`: the real pipeline on the bundled sample store, printed as a queue."""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import datetime
from typing import TextIO

from bot.container import Container
from bot.services.ingest import Outcome
from bot.store import CaseRecord, CaseRepo
from bot.store.snapshots import SnapshotUnreadable
from policy.config import Policy
from policy.models import Action, CaseStatus
from policy.ports import EventFeed


def run_demo(c: Container, out: TextIO) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    feed: EventFeed = c.store  # type: ignore[assignment]  # the sample store replays its events
    for event in feed.events():
        outcomes[c.ingest.ingest(event).outcome.value] += 1
    # What the store's own shipping feed says of its parcels (delayed shipments), if it has one.
    parcels = next((p for p in c.registry.store.pollers if p.name == f"{c.registry.store.name}.shipments"), None)
    if parcels is not None:
        for event in parcels.fetch(None).events:
            outcomes[c.ingest.ingest(event).outcome.value] += 1
    executed = c.drain("actions")
    now = c.clock()
    stored = c.cases.list()
    since = {case.id: waiting_since(c.cases, case) for case in stored}
    review = sorted(stored, key=lambda case: urgency(case, since[case.id]))
    out.write(render_queue(review, c.policy, now=now, since=since))
    out.write("\n")
    waiting = sum(1 for k in review if k.status is CaseStatus.OPEN)
    auto = sum(1 for k in review if k.auto_approved)
    out.write(
        f"{len(review)} cases stored ({outcomes[Outcome.CREATED.value]} new this run, "
        f"{outcomes[Outcome.DUPLICATE.value]} already known, {outcomes[Outcome.NO_CASE.value]} events needed no case); "
        f"{waiting} waiting for a person, {auto} auto-approved ({executed} store actions carried out).\n"
        f"Most urgent first; age: how long the request has been waiting. "
        f"Sample store — not a real shop ({getattr(c.store, 'shop_name', 'sample data')}).\n"
    )
    return dict(outcomes)


# --- urgency: the one rule for the queue's order --------------------------------------------

NEEDS_A_PERSON = (CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.FAILED)
IN_PROGRESS = (CaseStatus.APPROVED, CaseStatus.DENIED, CaseStatus.EXECUTING)


def urgency(case: CaseRecord, waiting_since: datetime) -> tuple:
    """Sort key, most urgent first:

    1. cases that need a person (open, escalated, failed) before those in progress
       (approved, denied, executing), before finished ones (done, closed);
    2. a higher required approval tier first (more money at stake, fewer people who can
       decide it);
    3. a higher risk score first;
    4. the longest waiting first (`waiting_since`, oldest first); then the case number.
    """
    group = 0 if case.status in NEEDS_A_PERSON else 1 if case.status in IN_PROGRESS else 2
    return (group, -case.required_tier, -case.risk_score, waiting_since, case.id)


def waiting_since(cases: CaseRepo, case: CaseRecord) -> datetime:
    """When the customer's request started waiting: the return was requested, the refund
    made, the dispute opened, the order placed (from the snapshot); else when the case
    opened."""
    try:
        ctx, _ = cases.snapshot(case)
    except SnapshotUnreadable:
        return case.opened_at
    return ctx.occurred_at


def age(since: datetime, now: datetime) -> str:
    """"45 min", "3 h", "2 d" (whole units, rounded down; never negative)."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


COLUMNS = [("case", 5), ("kind", 17), ("order", 6), ("customer", 18), ("amount", 10),
           ("signals", 30), ("recommendation", 22), ("tier", 9), ("status", 10), ("age", 6)]


def render_queue(cases: list[CaseRecord], policy: Policy, *, now: datetime,
                 since: dict[int, datetime] | None = None) -> str:
    lines = [_row([name for name, _ in COLUMNS]), _row(["-" * w for _, w in COLUMNS])]
    for case in cases:
        action = Action(case.recommended_action)
        rec = f"{action.label} (risk {case.risk_score})"
        cells = [
            f"#{case.id}",
            case.kind.value.replace("_", " "),
            case.order_name or "",
            case.customer_name or "guest",
            case.amount.format(),
            ", ".join(s.replace("_", " ") for s in case.signal_codes) or "none",
            rec,
            _tier(case.required_tier, policy),
            f"auto: {case.status.value}" if case.auto_approved else case.status.value,
            age((since or {}).get(case.id, case.opened_at), now),
        ]
        lines.extend(_wrapped(cells))
    return "\n".join(lines) + "\n"


def _tier(index: int, policy: Policy) -> str:
    tiers = policy.approval_tiers
    if not tiers:
        return "-"
    up_to = tiers[index].up_to
    return f"T{index + 1} ≤{up_to:,.0f}" if up_to is not None else f"T{index + 1}"


def _wrapped(cells: list[str]) -> list[str]:
    wrapped = [textwrap.wrap(cell, width) or [""] for cell, (_, width) in zip(cells, COLUMNS)]
    height = max(len(w) for w in wrapped)
    return [_row([w[i] if i < len(w) else "" for w in wrapped]) for i in range(height)]


def _row(cells: list[str]) -> str:
    return "  ".join(cell[:width].ljust(width) for cell, (_, width) in zip(cells, COLUMNS)).rstrip()
