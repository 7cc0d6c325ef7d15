"""The digest's SQL: every figure of two adjacent weeks, aggregated in the database.

Each query reads the range [previous week's start, this week's end) once, through an index
(`ix_cases_opened_at`, `ix_cases_decided_at`, `ix_cases_status_opened`,
`ix_orders_seen_placed_at`, primary keys), and splits the rows into the two weeks with a
`CASE` — so the work grows with the cases of those two weeks, not with the table.

Percentiles: PostgreSQL has `percentile_cont`; SQLite has no percentile aggregate, so it
numbers the durations with a window function and returns only the (at most 4) rows next
to each percentile, which are interpolated exactly as `percentile_cont` does. Durations are
whole seconds on both (`epoch(decided) − epoch(opened)`, each truncated to the second), so
both databases give the same figures.

The ledger (`digest_runs`) lives here too: claim = INSERT … ON CONFLICT DO NOTHING on the
period's primary key, re-claim = compare-and-set on a dead or failed row. Beside the
periods it holds one row keyed `started`: when the digest scheduler first ran, i.e. when
`serve` first started (see `started_at`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Integer,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)

from bot.actors import AUTOMATED_LIKE
from bot.schema import (UtcDateTime, audit_log, cases, decisions, digest_runs, integration_health, jobs, metadata,
                        orders_seen)
from bot.store.jobs import JobStatus
from bot.store.sql import insert_ignore
from policy.config import ReturnReason
from policy.models import CaseKind, CaseStatus, Money, SignalCode
from policy.tickets import TicketOperation

OPEN_STATUSES = (CaseStatus.OPEN.value, CaseStatus.ESCALATED.value)
STARTED = "started"  # the ledger row that remembers the scheduler's first run
# A decided ticket case the customer wrote to again (the audit event the reopening writes):
# such a ticket was not resolved in one touch.
TICKET_REOPENED = "case.ticket_reopened"
# A ticket's reply is looked for among the ticket cases decided up to this long before the
# week (the decision queues it; the job runner's retry budget is hours): the reply's job is
# reached through the indexed cases.decided_at, not a scan of every job.
REPLY_AFTER_DECISION = timedelta(days=7)
SATISFIED = 4  # a rating of 4 or 5 (of 5) counts as satisfied: Zendesk's "good" maps to 5


@dataclass
class WeekRows:
    """One week's figures as the queries add them up (minor units per currency);
    `bot.services.digest` turns it into `blocks.digest.WeekFigures`."""

    opened: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    per_day: list[int] = field(default_factory=lambda: [0] * 7)
    decided: int = 0
    auto_approved: int = 0
    closed_in_store: int = 0
    decisions_timed: int = 0
    median: float | None = None
    p90: float | None = None
    orders: int = 0
    order_value: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    followed: int = 0
    open_disputes: int = 0
    at_risk: dict[str, int] = field(default_factory=dict)
    disputes_opened: int = 0
    decided_value: dict[str, int] = field(default_factory=dict)
    by_outcome: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    flagged: int = 0
    vip: int = 0
    high_value: int = 0
    flagged_value: dict[str, int] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    # Per owner: the system a case's decision is carried out in (its owner, else its source:
    # "shopify", "loop", "stripe"): cases opened, decisions by people.
    opened_by_owner: dict[str, int] = field(default_factory=dict)
    decisions_by_owner: dict[str, int] = field(default_factory=dict)
    # Tickets (issue 12): first response (ticket created → our reply sent, whole seconds),
    # tickets a person sent a reply on, per person, how many of those were edited and how
    # many were one touch (unedited, not reopened), the ratings that arrived.
    replies_timed: int = 0
    first_response_median: float | None = None
    first_response_p90: float | None = None
    handled_by: dict[str, int] = field(default_factory=dict)
    edited: int = 0
    one_touch: int = 0
    reopened: int = 0
    rated: int = 0
    satisfied: int = 0
    csat_sum: int = 0

    @property
    def handled(self) -> int:
        return sum(self.handled_by.values())


@dataclass
class PipelineRows:
    """The return pipeline's raw figures; `bot.services.pipeline.build` turns them into the section."""

    in_stage: dict[str, int] = field(default_factory=dict)
    histories: dict[int, list[tuple[str, datetime]]] = field(default_factory=dict)
    requested_at: dict[int, datetime] = field(default_factory=dict)
    refund_on: list[str | None] = field(default_factory=list)
    followup_reasons: list[str] = field(default_factory=list)
    stalled: list[dict[str, Any]] = field(default_factory=list)


def _utc(at: datetime) -> datetime:
    # min() over a UtcDateTime column comes back untyped on SQLite (a string or naive value).
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _paid_when(detail: dict) -> str | None:
    """How a money decision paid out: "receipt" (the refund on receipt, or a follow-up decided
    at receipt), "approval" (paid when approved), or None for an approval that only approved
    and left the money for receipt (nothing paid by that decision)."""
    if "receipt" in detail:
        return "receipt"
    if detail.get("refund_on") == "receipt":
        return None
    return "approval"


def _parse_at(value: Any) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(value)) if value else None
    except (TypeError, ValueError):
        return None


def money(by_currency: dict[str, int]) -> tuple[Money, ...]:
    """Minor-unit sums per currency → Money, by currency code (zero sums left out)."""
    return tuple(Money.from_minor(int(v), cur) for cur, v in sorted(by_currency.items()) if v)


def _add(target: dict[str, int], currency: str, value: Any) -> None:
    target[currency] = target.get(currency, 0) + int(value or 0)


def _has_signal(code: str):
    """`signal_codes` is a comma list: match whole codes only."""
    return (literal(",") + cases.c.signal_codes + literal(",")).like(f"%,{code},%")


def _has_reason(reason: str):
    """`return_reasons` is a comma list too (a return counts once per distinct reason)."""
    return (literal(",") + cases.c.return_reasons + literal(",")).like(f"%,{reason},%")


class DigestStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def _pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # --- figures ---------------------------------------------------------------------------

    def weeks(self, *, prev_start: datetime, start: datetime, end: datetime,
              day_edges: list[datetime]) -> tuple[WeekRows, WeekRows]:
        """(this week, last week) for [start, end) and [prev_start, start).

        `day_edges`: the 15 local-midnight-aligned instants prev_start … end that split the
        two weeks into days (computed by the caller in the store's time zone)."""
        this, last = WeekRows(), WeekRows()
        weeks = {1: this, 0: last}
        with self.engine.connect() as conn:
            self._opened(conn, weeks, prev_start, start, end, day_edges)
            self._opened_by_owner(conn, weeks, prev_start, start, end)
            self._decided(conn, weeks, prev_start, start, end)
            self._closed(conn, weeks, prev_start, start, end)
            self._speed(conn, weeks, prev_start, start, end)
            self._adherence(conn, weeks, prev_start, start, end)
            self._orders(conn, weeks, prev_start, start, end)
            self._open_at(conn, weeks, start, end)
            self._first_response(conn, weeks, prev_start, start, end)
            self._tickets_handled(conn, weeks, prev_start, start, end)
            self._csat(conn, weeks, prev_start, start, end)
        return this, last

    def _opened(self, conn, weeks, prev_start, start, end, edges) -> None:
        c = cases.c
        wk = case((c.opened_at >= start, 1), else_=0).label("wk")
        count = func.count()
        vip, high = _has_signal(SignalCode.VIP_CUSTOMER.value), _has_signal(SignalCode.HIGH_VALUE.value)
        review = c.kind == CaseKind.ORDER_REVIEW.value
        dispute = c.kind == CaseKind.DISPUTE.value
        cols = [
            c.currency, wk, count.label("n"),
            *[count.filter(c.kind == k.value).label(f"k_{k.value}") for k in CaseKind],
            count.filter(dispute).label("disputes"),
            count.filter(and_(review, or_(vip, high))).label("flagged"),
            count.filter(and_(review, vip)).label("vip"),
            count.filter(and_(review, high)).label("high"),
            func.sum(c.amount_minor).filter(and_(review, or_(vip, high))).label("flagged_value"),
            *[count.filter(_has_signal(s.value)).label(f"s_{s.value}") for s in SignalCode],
            *[count.filter(_has_reason(r.value)).label(f"r_{r.value}") for r in ReturnReason],
            *[count.filter(and_(c.opened_at >= edges[i], c.opened_at < edges[i + 1])).label(f"d_{i}")
              for i in range(14)],
        ]
        stmt = (select(*cols)
                .where(c.opened_at >= prev_start, c.opened_at < end)
                .group_by(c.currency, wk))
        for row in conn.execute(stmt):
            m = row._mapping
            w = weeks[m["wk"]]
            w.opened += m["n"]
            for k in CaseKind:
                w.by_kind[k.value] = w.by_kind.get(k.value, 0) + m[f"k_{k.value}"]
            w.disputes_opened += m["disputes"]
            w.flagged += m["flagged"]
            w.vip += m["vip"]
            w.high_value += m["high"]
            _add(w.flagged_value, m["currency"], m["flagged_value"])
            for s in SignalCode:
                w.signals[s.value] = w.signals.get(s.value, 0) + m[f"s_{s.value}"]
            for r in ReturnReason:
                if m[f"r_{r.value}"]:
                    w.reasons[r.value] = w.reasons.get(r.value, 0) + m[f"r_{r.value}"]
            for i in range(14):
                target = weeks[1] if i >= 7 else weeks[0]
                target.per_day[i % 7] += m[f"d_{i}"]

    def _opened_by_owner(self, conn, weeks, prev_start, start, end) -> None:
        c = cases.c
        wk = case((c.opened_at >= start, 1), else_=0).label("wk")
        owner = func.coalesce(c.owner, c.source).label("owner")
        stmt = (select(wk, owner, func.count().label("n"))
                .where(c.opened_at >= prev_start, c.opened_at < end)
                .group_by(wk, owner))
        for row in conn.execute(stmt):
            by = weeks[row.wk].opened_by_owner
            by[row.owner] = by.get(row.owner, 0) + row.n

    def _decided(self, conn, weeks, prev_start, start, end) -> None:
        c = cases.c
        wk = case((c.decided_at >= start, 1), else_=0).label("wk")
        stmt = (select(wk, c.currency, c.decided_action, c.auto_approved, func.count().label("n"),
                       func.sum(c.amount_minor).label("amount"))
                .where(c.decided_at >= prev_start, c.decided_at < end)
                .group_by(wk, c.currency, c.decided_action, c.auto_approved))
        for row in conn.execute(stmt):
            w = weeks[row.wk]
            if row.auto_approved:
                w.auto_approved += row.n
            else:
                w.decided += row.n
            _add(w.decided_value, row.currency, row.amount)
            _add(w.by_outcome[row.decided_action or "other"], row.currency, row.amount)

    def _closed(self, conn, weeks, prev_start, start, end) -> None:
        # Closed in the store admin: status `closed`, and its last change is the close.
        c = cases.c
        wk = case((c.updated_at >= start, 1), else_=0).label("wk")
        stmt = (select(wk, func.count().label("n"))
                .where(c.status == CaseStatus.CLOSED.value, c.opened_at < end,
                       c.updated_at >= prev_start, c.updated_at < end)
                .group_by(wk))
        for row in conn.execute(stmt):
            weeks[row.wk].closed_in_store += row.n

    def _speed(self, conn, weeks, prev_start, start, end) -> None:
        c = cases.c
        wk = case((c.decided_at >= start, 1), else_=0)
        where = and_(c.decided_at >= prev_start, c.decided_at < end, c.auto_approved == false())
        d = select(wk.label("wk"), self._seconds(c.decided_at, c.opened_at).label("secs")).where(where).subquery()
        for key, (n, p50, p90) in self._percentiles(conn, d).items():
            w = weeks[key]
            w.decisions_timed, w.median, w.p90 = n, p50, p90

    def _seconds(self, later, earlier):
        """Whole seconds from `earlier` to `later`, each truncated to the second, the same on both."""
        if self._pg:
            return cast(func.floor(func.extract("epoch", later)) - func.floor(func.extract("epoch", earlier)), Float)
        return cast(func.strftime("%s", later), Integer) - cast(func.strftime("%s", earlier), Integer)

    def _percentiles(self, conn, d) -> dict[int, tuple[int, float | None, float | None]]:
        """{week: (n, median, p90)} of a subquery's (wk, secs), as `percentile_cont`."""
        out: dict[int, tuple[int, float | None, float | None]] = {}
        if self._pg:
            stmt = select(d.c.wk, func.count().label("n"),
                          func.percentile_cont(0.5).within_group(d.c.secs).label("p50"),
                          func.percentile_cont(0.9).within_group(d.c.secs).label("p90")).group_by(d.c.wk)
            for row in conn.execute(stmt):
                out[row.wk] = (row.n, float(row.p50), float(row.p90))
            return out
        r = select(
            d.c.wk, d.c.secs,
            (func.row_number().over(partition_by=d.c.wk, order_by=d.c.secs) - 1).label("i"),
            func.count().over(partition_by=d.c.wk).label("n"),
        ).subquery()
        lo50, lo90 = cast(0.5 * (r.c.n - 1), Integer), cast(0.9 * (r.c.n - 1), Integer)
        stmt = select(r.c.wk, r.c.n, r.c.i, r.c.secs).where(
            or_(r.c.i == lo50, r.c.i == lo50 + 1, r.c.i == lo90, r.c.i == lo90 + 1))
        found: dict[int, tuple[int, dict[int, float]]] = {}
        for row in conn.execute(stmt):
            n, values = found.setdefault(row.wk, (row.n, {}))
            values[row.i] = float(row.secs)
        for key, (n, values) in found.items():
            out[key] = (n, _interpolate(values, n, 0.5), _interpolate(values, n, 0.9))
        return out

    def _deciding(self):
        """cases ⋈ the decision that decided each case (same case, same `decided_at`: the
        transition writes one instant into both). Driven by the indexed cases.decided_at and
        probing ix_decisions_case_id per case; on PostgreSQL a LATERAL … OFFSET 0 keeps the
        planner from hashing the whole decisions table instead."""
        d = decisions.c
        cols = (d.id, d.action, d.outcome, d.decided_by, d.decided_at, d.followed_recommendation, d.detail)
        match = and_(d.case_id == cases.c.id, d.decided_at == cases.c.decided_at)
        if self._pg:
            lat = select(*cols).where(match).offset(0).lateral("d")
            return cases.join(lat, true()), lat.c
        return cases.join(decisions, match), d

    def _adherence(self, conn, weeks, prev_start, start, end) -> None:
        c = cases.c
        frm, d = self._deciding()
        wk = case((c.decided_at >= start, 1), else_=0).label("wk")
        owner = func.coalesce(c.owner, c.source).label("owner")
        stmt = (select(wk, owner, func.count().label("n"),
                       func.count().filter(d.followed_recommendation == true()).label("followed"))
                .select_from(frm)
                .where(c.decided_at >= prev_start, c.decided_at < end, d.decided_by.not_like(AUTOMATED_LIKE))
                .group_by(wk, owner))
        for row in conn.execute(stmt):
            w = weeks[row.wk]
            w.decisions += row.n
            w.followed += row.followed
            w.decisions_by_owner[row.owner] = w.decisions_by_owner.get(row.owner, 0) + row.n

    def _orders(self, conn, weeks, prev_start, start, end) -> None:
        o = orders_seen.c
        wk = case((o.placed_at >= start, 1), else_=0).label("wk")
        stmt = (select(wk, o.currency, func.count().label("n"), func.sum(o.total_minor).label("total"))
                .where(o.placed_at >= prev_start, o.placed_at < end)
                .group_by(wk, o.currency))
        for row in conn.execute(stmt):
            w = weeks[row.wk]
            w.orders += row.n
            _add(w.order_value, row.currency, row.total)

    def _open_at(self, conn, weeks, start, end) -> None:
        """Cases undecided at `end` (this week) and at `start` (last week's end), and the
        disputes among them with their amounts — reconstructed from timestamps, so a past
        period reads as it stood then. A case was open at T when it was opened before T and
        not decided or closed before T. Three index-friendly parts, disjoint:
          still open now (status), decided since `start` (decided_at), closed since `start`."""
        c = cases.c
        cols = (c.currency, c.kind, c.amount_minor, c.opened_at)
        # No `opened_at < end` in the first and last part (the FILTERs below check it):
        # SQLite would take it as the reason to walk ix_cases_opened_at over all history.
        decided_since = select(*cols, c.decided_at.label("resolved_at")).where(c.decided_at >= start)
        still_open = select(*cols, cast(null(), UtcDateTime).label("resolved_at")).where(
            c.status.in_(OPEN_STATUSES), c.opened_at < end)
        closed_since = select(*cols, c.updated_at.label("resolved_at")).where(
            c.status == CaseStatus.CLOSED.value, c.updated_at >= start)
        u = union_all(decided_since, still_open, closed_since).subquery()

        def open_at(t):
            return and_(u.c.opened_at < t, or_(u.c.resolved_at.is_(None), u.c.resolved_at >= t))

        dispute = u.c.kind == CaseKind.DISPUTE.value
        stmt = select(
            u.c.currency,
            func.count().filter(open_at(end)).label("open_end"),
            func.count().filter(open_at(start)).label("open_start"),
            func.count().filter(and_(dispute, open_at(end))).label("disputes_end"),
            func.count().filter(and_(dispute, open_at(start))).label("disputes_start"),
            func.sum(u.c.amount_minor).filter(and_(dispute, open_at(end))).label("risk_end"),
            func.sum(u.c.amount_minor).filter(and_(dispute, open_at(start))).label("risk_start"),
        ).group_by(u.c.currency)
        this, last = weeks[1], weeks[0]
        for row in conn.execute(stmt):
            this.backlog += row.open_end
            last.backlog += row.open_start
            this.open_disputes += row.disputes_end
            last.open_disputes += row.disputes_start
            _add(this.at_risk, row.currency, row.risk_end)
            _add(last.at_risk, row.currency, row.risk_start)

    # --- tickets (issue 12) ----------------------------------------------------------------

    def _first_response(self, conn, weeks, prev_start, start, end) -> None:
        """Ticket created → our first reply sent (its POST_REPLY job done), for the replies
        sent in each week. The jobs are reached through the decisions made since
        `REPLY_AFTER_DECISION` before the range (ix_decisions_decided_at, then
        ix_jobs_case_id) — decisions, not `cases.decided_at`, which a reopened ticket clears.
        No `kind` or job `status` in the WHEREs: SQLite would walk every ticket
        (uq_cases_correlation leads with kind) or every done job (ix_jobs_due) instead; a
        case that is not a ticket has no reply job, and only a done job has `finished_at`."""
        c, d, j = cases.c, decisions.c, jobs.c
        decided = select(d.case_id).where(d.decided_at >= prev_start - REPLY_AFTER_DECISION, d.decided_at < end)
        sent = (select(j.case_id, func.min(j.finished_at).filter(j.status == JobStatus.DONE.value).label("sent_at"))
                .where(j.case_id.in_(decided), j.operation == TicketOperation.POST_REPLY)
                .group_by(j.case_id).subquery())
        rows = (select(case((sent.c.sent_at >= start, 1), else_=0).label("wk"),
                       self._seconds(sent.c.sent_at, func.coalesce(c.ticket_created_at, c.opened_at)).label("secs"))
                .select_from(sent.join(cases, c.id == sent.c.case_id))
                .where(sent.c.sent_at >= prev_start, sent.c.sent_at < end)).subquery()
        for key, (n, p50, p90) in self._percentiles(conn, rows).items():
            w = weeks[key]
            w.replies_timed, w.first_response_median, w.first_response_p90 = n, p50, p90

    def _tickets_handled(self, conn, weeks, prev_start, start, end) -> None:
        """Replies a person approved on ticket cases in each week (each send decision; a
        reopened ticket sent again counts again), per person; of them, edited before sending
        (the decision's `edited`) and reopened (`case.ticket_reopened` after the send) by the
        week's end. Driven by ix_decisions_decided_at; the kind is tested in the FILTERs,
        not the WHERE (see `_first_response`)."""
        c, d, a = cases.c, decisions.c, audit_log.c
        wk = case((d.decided_at >= start, 1), else_=0).label("wk")
        week_end = case((d.decided_at >= start, end), else_=start)
        ticket = c.kind == CaseKind.TICKET.value
        edited = func.coalesce(d.detail["edited"].as_boolean(), false()) == true()
        reopened = (select(a.id).where(a.case_id == d.case_id, a.event == TICKET_REOPENED, a.at >= d.decided_at,
                                       a.at < week_end).exists())
        n = func.count().filter(ticket)
        stmt = (select(wk, d.decided_by, n.label("n"),
                       func.count().filter(and_(ticket, edited)).label("edited"),
                       func.count().filter(and_(ticket, reopened)).label("reopened"),
                       func.count().filter(and_(ticket, ~edited, ~reopened)).label("one_touch"))
                .select_from(decisions.join(cases, c.id == d.case_id))
                .where(d.decided_at >= prev_start, d.decided_at < end,
                       d.action == "approve", d.decided_by.not_like(AUTOMATED_LIKE))
                .group_by(wk, d.decided_by)
                .having(n > 0))
        for row in conn.execute(stmt):
            w = weeks[row.wk]
            w.handled_by[row.decided_by] = w.handled_by.get(row.decided_by, 0) + row.n
            w.edited += row.edited
            w.reopened += row.reopened
            w.one_touch += row.one_touch

    def _csat(self, conn, weeks, prev_start, start, end) -> None:
        """The helpdesk's satisfaction scores that reached us in each week (ix_cases_csat_at)."""
        c = cases.c
        wk = case((c.csat_at >= start, 1), else_=0).label("wk")
        stmt = (select(wk, func.count().label("n"), func.count().filter(c.csat >= SATISFIED).label("satisfied"),
                       func.sum(c.csat).label("total"))
                .where(c.csat_at >= prev_start, c.csat_at < end, c.csat.is_not(None))
                .group_by(wk))
        for row in conn.execute(stmt):
            w = weeks[row.wk]
            w.rated, w.satisfied, w.csat_sum = row.n, row.satisfied, int(row.total or 0)

    # --- lists -----------------------------------------------------------------------------

    def overrides(self, *, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
        """This week's decisions by people that went against the recommendation, newest first."""
        c = cases.c
        frm, d = self._deciding()
        stmt = (select(c.id, c.kind, c.order_name, c.amount_minor, c.currency, c.recommended_action,
                       d.outcome, d.action, d.decided_by, d.decided_at)
                .select_from(frm)
                .where(c.decided_at >= start, c.decided_at < end,
                       d.followed_recommendation == false(),
                       d.decided_by.not_like(AUTOMATED_LIKE))
                .order_by(c.decided_at.desc(), d.id.desc())
                .limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def oldest_open(self, *, before: datetime, limit: int) -> list[dict[str, Any]]:
        """Cases waiting for a decision now, opened before `before`, oldest first."""
        c = cases.c
        stmt = (select(c.id, c.kind, c.status, c.order_name, c.customer_name, c.amount_minor, c.currency,
                       c.opened_at, c.slack_channel, c.slack_ts)
                .where(c.status.in_(OPEN_STATUSES), c.opened_at < before)
                .order_by(c.opened_at, c.id)
                .limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    # --- the return pipeline (issue 9) ------------------------------------------------------
    # Reads core's `cases.stage` / `stage_at` / `followup` and `return_stages` (migration
    # 0007). Until those are in the schema the pipeline is None and the section left out.

    def has_stages(self) -> bool:
        return "stage" in cases.c and "return_stages" in metadata.tables

    def pipeline_rows(self, *, start: datetime, end: datetime, stalled_before: datetime) -> PipelineRows | None:
        """Aggregates only: stage counts (GROUP BY), the histories of the returns processed
        in [start, end) (a week's, not the table's), the week's refund decisions' `refund_on`,
        and the returns sitting in a watched stage since before `stalled_before`."""
        if not self.has_stages():
            return None
        c = cases.c
        rs = metadata.tables["return_stages"].c
        out = PipelineRows()
        with self.engine.connect() as conn:
            out.in_stage = {st: int(n) for st, n in conn.execute(
                select(c.stage, func.count()).where(c.stage.is_not(None)).group_by(c.stage))}
            first_processed = (select(rs.case_id, func.min(rs.at).label("done"))
                               .where(rs.stage == "processed").group_by(rs.case_id).subquery())
            done_ids = select(first_processed.c.case_id).where(
                first_processed.c.done >= start, first_processed.c.done < end)
            for cid, st, at in conn.execute(
                    select(rs.case_id, rs.stage, func.min(rs.at)).where(rs.case_id.in_(done_ids))
                    .group_by(rs.case_id, rs.stage)):
                out.histories.setdefault(cid, []).append((st, _utc(at)))
            if out.histories:
                out.requested_at = {cid: at for cid, at in conn.execute(
                    select(c.id, c.opened_at).where(c.id.in_(sorted(out.histories))))}
            out.refund_on = [
                how for (d,) in conn.execute(
                    select(decisions.c.detail).select_from(cases.join(decisions, decisions.c.case_id == c.id))
                    .where(c.decided_at >= start, c.decided_at < end, decisions.c.decided_at >= start,
                           decisions.c.decided_at < end,
                           decisions.c.outcome.in_(("refund", "store_credit"))))
                if (how := _paid_when(d or {})) is not None]
            # A follow-up opens at receipt, so its case has a stage reached around then: the
            # (stage, stage_at) index keeps this off a scan of every case (a week of slack
            # for a receipt the source reported late).
            for (f,) in conn.execute(select(c.followup).where(
                    c.stage.is_not(None), c.stage_at >= start - timedelta(days=7), c.followup.is_not(None))):
                opened = _parse_at((f or {}).get("opened_at"))
                if opened is not None and start <= opened < end and f.get("reason"):
                    out.followup_reasons.append(f["reason"])
            out.stalled = [dict(r._mapping) for r in conn.execute(
                select(c.id, c.stage, c.stage_at, c.order_name, c.slack_channel, c.slack_ts)
                .where(c.stage.in_(("approved", "label_sent", "in_transit", "delivered_back")),
                       c.stage_at < stalled_before))]
        return out

    def health(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(integration_health).order_by(integration_health.c.system))
            return [dict(r._mapping) for r in rows]

    # --- when returnsbot started ----------------------------------------------------------

    def started_at(self) -> datetime | None:
        """When returnsbot started keeping records here: the earliest of the first case it
        opened (`cases.opened_at`, indexed) and the digest scheduler's first run (the
        `started` ledger row, written by `mark_started` when `serve` first runs it). Orders'
        `placed_at` is the shop's time, not ours (the first poll looks back a day), so it
        does not count. None: nothing recorded yet."""
        with self.engine.connect() as conn:
            first_case = conn.execute(select(func.min(cases.c.opened_at))).scalar()
            marker = conn.execute(
                select(digest_runs.c.started_at).where(digest_runs.c.period == STARTED)).scalar()
        found = [t for t in (first_case, marker) if t is not None]
        return min(found) if found else None

    def mark_started(self, *, holder: str, now: datetime) -> None:
        """Remember the scheduler's first run (once: later calls change nothing)."""
        with self.engine.begin() as conn:
            conn.execute(insert_ignore(self.engine, digest_runs, ["period"]).values(
                period=STARTED, holder=holder, status=STARTED, started_at=now, claimed_until=now))

    # --- the period ledger -----------------------------------------------------------------

    def claim(self, period: str, *, holder: str, now: datetime, lease: timedelta,
              retry_window: timedelta) -> bool:
        """Take the period for this holder. A new period: the INSERT wins or loses on the
        primary key. An existing one: only a run that died (`running`, lease over) or failed
        (`failed`, retry time reached) is taken again — by one holder (compare-and-set) and
        only within `retry_window` of the first claim. Posted periods are never taken."""
        r = digest_runs.c
        with self.engine.begin() as conn:
            inserted = conn.execute(
                insert_ignore(self.engine, digest_runs, ["period"])
                .values(period=period, holder=holder, status="running", started_at=now,
                        claimed_until=now + lease)
                .returning(r.period)
            ).scalar()
        if inserted is not None:
            return True
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(digest_runs)
                .where(r.period == period, r.status.in_(("running", "failed")), r.claimed_until <= now,
                       r.started_at > now - retry_window)
                .values(holder=holder, status="running", claimed_until=now + lease)
            ).rowcount
        return taken == 1

    def mark_posted(self, period: str, *, at: datetime, channel: str, ts: str) -> None:
        # Whoever holds it now: the message is out, so the period is done.
        with self.engine.begin() as conn:
            conn.execute(update(digest_runs).where(digest_runs.c.period == period)
                         .values(status="posted", posted_at=at, channel=channel, ts=ts, error=None))

    def mark_failed(self, period: str, *, holder: str, error: str, retry_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(digest_runs)
                         .where(digest_runs.c.period == period, digest_runs.c.holder == holder,
                                digest_runs.c.status == "running")
                         .values(status="failed", error=error[:2000], claimed_until=retry_at))

    def run(self, period: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(digest_runs).where(digest_runs.c.period == period)).first()
        return dict(row._mapping) if row else None


def _interpolate(values: dict[int, float], n: int, p: float) -> float | None:
    """`percentile_cont`: linear between the two rows around position p·(n−1)."""
    if n == 0:
        return None
    pos = p * (n - 1)
    lo = int(pos)
    frac = pos - lo
    low = values[lo]
    if frac == 0 or lo + 1 >= n:
        return low
    return low + (values[lo + 1] - low) * frac

