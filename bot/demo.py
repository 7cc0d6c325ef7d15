"""`returnsbot demo`: the real pipeline on the bundled sample store, printed as a queue."""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import TextIO

from bot.container import Container
from bot.services.ingest import Outcome
from bot.store import CaseRecord
from policy.config import Policy
from policy.models import Action, CaseStatus
from policy.ports import EventFeed


def run_demo(c: Container, out: TextIO) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    feed: EventFeed = c.store  # type: ignore[assignment]  # the sample store replays its events
    for event in feed.events():
        outcomes[c.ingest.ingest(event).outcome.value] += 1
    executed = c.drain("actions")
    review = c.cases.list()
    out.write(render_queue(review, c.policy))
    out.write("\n")
    waiting = sum(1 for k in review if k.status is CaseStatus.OPEN)
    auto = sum(1 for k in review if k.auto_approved)
    out.write(
        f"{len(review)} cases stored ({outcomes[Outcome.CREATED.value]} new this run, "
        f"{outcomes[Outcome.DUPLICATE.value]} already known, {outcomes[Outcome.NO_CASE.value]} events needed no case); "
        f"{waiting} waiting for a person, {auto} auto-approved ({executed} store actions carried out).\n"
    )
    return dict(outcomes)


COLUMNS = [("case", 5), ("kind", 17), ("order", 6), ("customer", 18), ("amount", 10),
           ("signals", 30), ("recommendation", 22), ("tier", 9), ("status", 10)]


def render_queue(cases: list[CaseRecord], policy: Policy) -> str:
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
