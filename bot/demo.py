"""`returnsbot demo`: the real pipeline on the bundled sample store, printed as a queue,
then the returns after approval on the sample store's clock, fast-forwarded.

The demo runs on its own clock (`DemoClock`), shared by the container and the sample store,
so it can move time on: the store's warehouse labels, receives and disposes the approved
returns minutes after approval (`integrations.sample.stages`), and a return that gets no
label stalls after `[returns] label_within_days`. Its policy differs from the one given in
two ways, both printed: the money moves on receipt unless the policy says when
(`refund_on`), and one demo approver sits in the top tier to approve one return.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from datetime import datetime, timedelta
from typing import Protocol, TextIO

from blocks.digest import pipeline_text
from blocks.stages import status_line
from bot.container import Container
from bot.demo_tickets import ingest_tickets, write_tickets
from bot.services.decide import DecisionRefused
from bot.services.ingest import Outcome
from bot.services.stalls import StallRules
from bot.store import CaseRecord, CaseRepo
from bot.store.snapshots import SnapshotUnreadable
from policy.config import Policy, RefundOn
from policy.models import Action, CaseKind, CaseStatus, DomainEvent
from policy.ports import EventFeed

DEMO_APPROVER = "U0DEMO0001"  # in the demo's policy only: approves one return, as a person would in Slack


class DemoClock:
    """The demo's time: starts at `start`, moves only when the demo moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class StageFeed(Protocol):
    def stage_events(self) -> list[DomainEvent]: ...


def demo_policy(policy: Policy) -> Policy:
    """`policy` with refund on receipt (unless it says when the money moves) and the demo
    approver added to the top tier (who may decide every lower tier's cases too)."""
    data = policy.model_dump(mode="json")
    if "refund_on" not in policy.returns.model_fields_set:
        data["returns"]["refund_on"] = RefundOn.RECEIPT.value
    data["approval_tiers"][-1]["approvers"] = [*data["approval_tiers"][-1]["approvers"], DEMO_APPROVER]
    if not policy.moments:  # the sample store's own triggers, so the demo shows its moments
        from integrations.sample.moments import sample_moments

        data["moments"] = [m.model_dump(mode="json") for m in sample_moments()]
    return Policy.model_validate(data)


def demo_container(settings, policy: Policy, *, now: datetime, variant: str = "us") -> tuple[Container, DemoClock]:
    """The container over a fresh sample store, both on one `DemoClock` starting at `now`."""
    from integrations.sample.store import SampleStore

    clock = DemoClock(now)
    store = SampleStore.load(now=now, clock=clock, variant=variant)
    from integrations.sample.loop import connector_for as sample_loop  # the demo's returns platform
    from integrations.sample.payments import connector_for as sample_payments  # the demo's payment processor
    from integrations.sample.tickets import connector_for as sample_tickets  # the demo's helpdesk

    return Container.build(settings, clock=clock, store=store, policy=demo_policy(policy),
                           connectors=(sample_payments(store), sample_loop(store, clock=clock),
                                       sample_tickets(store))), clock


def run_demo(c: Container, out: TextIO, *, clock: DemoClock) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    feed: EventFeed = c.store  # type: ignore[assignment]  # the sample store replays its events
    # …and so do other sample connectors (the sample payment processor's fraud warning).
    feeds = [feed, *(x.source for x in c.registry.connectors
                     if x.source is not None and x.source is not c.store and hasattr(x.source, "events"))]
    for event in (e for f in feeds for e in f.events()):
        outcomes[c.ingest.ingest(event).outcome.value] += 1
    # What the store's own shipping feed says of its parcels (delayed shipments), if it has one.
    parcels = next((p for p in c.registry.store.pollers if p.name == f"{c.registry.store.name}.shipments"), None)
    if parcels is not None:
        for event in parcels.fetch(None).events:
            outcomes[c.ingest.ingest(event).outcome.value] += 1
    tickets = ingest_tickets(c, outcomes)  # the sample helpdesk's tickets, as its webhook brings them
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
    platforms = Counter(k.decided_in for k in review if k.kind is CaseKind.RETURN_REQUEST and k.external_status)
    for system, n in sorted(platforms.items()):
        out.write(f"Owner: {n} of these are {c.registry.label(system)} returns, decided here and carried out "
                  f"there; the column says how {system} holds each (review, open, flagged).\n")
    out.write("\n")
    write_tickets(c, out, tickets)
    moments_summary(c, out)
    after_approval(c, out, clock=clock, review=review, approve=outcomes[Outcome.CREATED.value] > 0)
    return dict(outcomes)


def moments_summary(c: Container, out: TextIO) -> None:
    """The high-value and VIP moments the events fired: who, why, the tags (as the store
    answered), the owner and the follow-up."""
    from blocks.moment import TRIGGER_LABELS
    from bot.services.moments import MomentAlerts

    found = [m for t, m in c.moment_repo.open_tasks(limit=100)]
    if not found:
        return
    out.write(f"High-value and VIP moments ({len(found)}; alerts go to the owner in Slack once it is connected):\n")
    alerts = MomentAlerts(repo=c.moment_repo, gateway=None, jobs=c.jobs, clock=c.clock)
    for moment in found:
        view = alerts.view(moment)
        label = re.sub(r":[a-z0-9_+-]+: *", "", TRIGGER_LABELS.get(moment.trigger, moment.trigger)).strip()
        out.write(f"  {label}: {moment.customer_name or 'guest'} {moment.order_name or ''} — {moment.why}\n")
        for target, state in sorted(view.tags_done.items()):
            out.write(f"        tags on the {target}: {state}\n")
        if view.task is not None:
            who = view.task.owner or f"anyone in {moment.owner}"
            out.write(f"        follow-up for {who}: {view.task.text} (due in "
                      f"{_span(view.task.due_at - c.clock())})\n")
    out.write("\n")


# --- the return after approval --------------------------------------------------------------


def after_approval(c: Container, out: TextIO, *, clock: DemoClock, review: list[CaseRecord],
                   approve: bool = True) -> None:
    """Approve one return as the demo approver (on the run that stored the cases), then
    move the clock on: the warehouse's stage events (the store's progress feed, as `serve`
    polls it) are ingested, the money moves on receipt, exceptions open follow-ups; after
    `label_within_days` a return with no label has stalled. Prints each return's stage
    line and the digest's return pipeline."""
    # The store's progress feed, and other sample connectors' (the sample Loop's closed returns).
    stage_feeds: list[StageFeed] = [c.store, *(x.source for x in c.registry.connectors  # type: ignore[list-item]
                                              if x.source is not None and x.source is not c.store
                                              and hasattr(x.source, "stage_events"))]
    start = clock()
    approved = _approve_some(c, review, out) if approve else []
    closed = _deny_in_platform(c, review, out) if approve else []
    steps = c.drain("actions")
    for delta in (timedelta(minutes=5), timedelta(days=StallRules.from_policy(c.policy).label_within_days, hours=1)):
        clock.advance(delta)
        while True:  # until a pass carries nothing out: a refund on receipt makes a stage of its own
            for event in (e for feed in stage_feeds for e in feed.stage_events()):
                c.ingest.ingest(event)
            done = c.drain("actions")
            steps += done
            if not done:
                break
    now = clock()
    returns = [case for case in c.cases.list() if case.kind is CaseKind.RETURN_REQUEST and case.stage is not None]
    out.write(f"The return after approval: the sample store's warehouse, fast-forwarded "
              f"{_span(now - start)} (refund on {c.policy.returns.refund_on.value}).\n")
    for case in approved:
        out.write(f"{DEMO_APPROVER} (the demo's approver) approved #{case.id} {case.customer_name or 'guest'} "
                  f"({Action(case.recommended_action).label} {case.amount.format()}).\n")
    for case in closed:
        out.write(f"{DEMO_APPROVER} (the demo's approver) denied #{case.id} {case.customer_name or 'guest'} "
                  f"({case.order_name}), a {c.registry.label(case.decided_in)} return: noted and closed there.\n")
    for case in sorted(returns, key=lambda k: k.id):
        view = c.views.build(case)
        line = status_line(view.stages, now) if view.stages is not None else None
        out.write(f"  #{case.id:<4} {case.order_name or '':<7} {(case.customer_name or 'guest')[:18]:<18} "
                  f"{_plain(line or case.status.value)}\n")
        if view.followup is not None and case.status is CaseStatus.OPEN:
            out.write(f"        follow-up: {_plain(view.followup.summary)} — recommended: "
                      f"{view.followup.recommended.replace('_', ' ')}\n")
    out.write(f"({steps} store actions carried out meanwhile.)\n\n")
    digest = c.digest.compute(now - timedelta(days=7), now)  # the seven days up to now
    if digest.pipeline is not None:
        out.write(_plain(pipeline_text(digest.pipeline, now)) + "\n")


def _approve_some(c: Container, review: list[CaseRecord], out: TextIO) -> list[CaseRecord]:
    """Of the waiting return requests, the one recommended for a refund and the one for an
    exchange with the lowest risk, approved (the exchange shows what happens when its item
    is out of stock)."""
    approved = []
    for action in (Action.REFUND, Action.EXCHANGE):
        candidates = [k for k in review if k.kind is CaseKind.RETURN_REQUEST and k.status is CaseStatus.OPEN
                      and Action(k.recommended_action) is action]
        if not candidates:
            continue
        case = min(candidates, key=lambda k: (k.risk_score, k.id))
        try:
            approved.append(c.decide.approve(case.id, DEMO_APPROVER, version=case.version))
        except DecisionRefused as exc:  # a policy rule the demo approver doesn't pass: say so, go on
            out.write(f"{DEMO_APPROVER} (the demo's approver) could not approve #{case.id}: {exc}\n")
    return approved


def _deny_in_platform(c: Container, review: list[CaseRecord], out: TextIO) -> list[CaseRecord]:
    """Of the waiting returns a returns platform owns (the sample Loop's), the one
    recommended for a deny with the lowest risk, approved as recommended: a note and a
    close, carried out in the platform, whose closed return then comes back as a stage."""
    candidates = [k for k in review if k.kind is CaseKind.RETURN_REQUEST and k.status is CaseStatus.OPEN
                  and c.decide.platform_owned(k) and Action(k.recommended_action) is Action.DENY]
    if not candidates:
        return []
    case = min(candidates, key=lambda k: (k.risk_score, k.id))
    try:
        return [c.decide.approve(case.id, DEMO_APPROVER, version=case.version)]
    except DecisionRefused as exc:
        out.write(f"{DEMO_APPROVER} (the demo's approver) could not deny #{case.id}: {exc}\n")
        return []


def _span(delta: timedelta) -> str:
    days, hours = delta.days, delta.seconds // 3600
    return f"{days} d {hours} h" if days else f"{hours} h {delta.seconds // 60 % 60} min"


_MRKDWN = re.compile(r"\*|:[a-z_]+: ")


def _plain(mrkdwn: str) -> str:
    """A card's mrkdwn for a terminal: no bold, no emoji codes, entities unescaped."""
    text = _MRKDWN.sub("", mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


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
           ("signals", 30), ("recommendation", 25), ("tier", 9), ("status", 10), ("owner", 15), ("age", 6)]


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
            owner(case),
            age((since or {}).get(case.id, case.opened_at), now),
        ]
        lines.extend(_wrapped(cells))
    return "\n".join(lines) + "\n"


def owner(case: CaseRecord) -> str:
    """Where the decision is carried out ("shopify", "loop"), and for a returns platform's
    return how the platform holds it: "loop review", "loop flagged", "loop open"."""
    if case.kind is CaseKind.RETURN_REQUEST and case.external_status:
        return f"{case.decided_in} {case.external_status}"
    return case.decided_in


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
