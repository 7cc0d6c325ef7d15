"""Cases, their snapshots, decisions and the audit log.

Every state change is one compare-and-set (`… WHERE id=:id AND status IN (:expected)`, and
`AND version=:seen` for a person's decision) in the same transaction as its audit row, its
card job and, for decisions with side effects, its action jobs (the outbox). Zero rows
updated means someone else got there first; the caller is told so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable


from sqlalchemy import Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.jobs.kinds import Kind
from bot.schema import audit_log, case_snapshots, cases, decisions, orders_seen
from bot.store.jobs import NewJob, enqueue
from bot.store import snapshots
from bot.store.outbox import add_actions
from bot.store.sql import insert_ignore
from policy.priority import UNRANKED, head_start, rank_of
from policy.ticket_case import review_of
from policy.lifecycle import ReturnStage
from policy.models import Assessment, CaseContext, CaseKind, CaseStatus, Money


@dataclass(frozen=True)
class NewCase:
    source: str
    external_id: str
    context: CaseContext
    assessment: Assessment
    channel: str | None
    opened_at: datetime
    customer_name: str | None = None
    # More that commits with the opening, given (conn, case id): a ticket case's context
    # note job (bot/services/ticket_note.py). Not called when the case already existed.
    within: Callable[[Any, int], None] | None = None
    policy_fingerprint: str | None = None  # of the policy that made `assessment` (bot.policy_fingerprint)

    @property
    def kind(self) -> CaseKind:
        return self.assessment.kind


@dataclass(frozen=True)
class CaseRecord:
    id: int
    source: str
    external_id: str
    kind: CaseKind
    status: CaseStatus
    version: int
    order_id: str | None
    order_name: str | None
    customer_id: str | None
    customer_name: str | None
    amount: Money
    risk_score: int
    recommended_action: str
    required_tier: int
    auto_approved: bool
    signal_codes: tuple[str, ...]
    channel: str | None
    slack_channel: str | None
    slack_ts: str | None
    card_version: int
    escalated_by: str | None
    escalation_note: str | None
    escalation_channel: str | None
    escalation_ts: str | None
    escalation_url: str | None
    requested_by: str | None
    reminded_at: datetime | None
    sla_escalated_at: datetime | None
    snapshot_id: int | None
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decided_action: str | None
    # The return after approval (migration 0007): its stage now, since when, and the open
    # follow-up decision after an exception at receipt (see bot/services/lifecycle.py).
    stage: ReturnStage | None = None
    stage_at: datetime | None = None
    followup: dict[str, Any] | None = None
    # Disputes (migration 0009): who it is assigned to, the dispute's status after the
    # decision (won / lost, in our terms), when evidence is due.
    assignee: str | None = None
    external_status: str | None = None
    due_at: datetime | None = None
    # Who holds the order's money when the store does not (migration 0010; from the
    # context's `money_held_by` when the case opened): refunds go there.
    money_system: str | None = None
    money_payment_id: str | None = None
    # The system that owns the decision when it is not the source (migration 0011): a Loop
    # return whose Shopify return reached us first.
    owner: str | None = None
    owner_ref: str | None = None
    # A ticket's priority (migration 0016; policy.priority.rank_of, 0 urgent … 3 low), its
    # reply's SLA, when the customer wrote, and the helpdesk's satisfaction score (1–5).
    priority_rank: int | None = None
    reply_due_at: datetime | None = None
    ticket_created_at: datetime | None = None
    csat: int | None = None

    @property
    def decided_in(self) -> str:
        """Where the case's decision is carried out: its owner, else its source."""
        return self.owner or self.source

    @property
    def decided_ref(self) -> str:
        """The owning system's id for what the case is about."""
        return self.owner_ref or self.external_id

    @classmethod
    def from_row(cls, row: Any) -> CaseRecord:
        m = row._mapping
        return cls(
            id=m["id"],
            source=m["source"],
            external_id=m["external_id"],
            kind=CaseKind(m["kind"]),
            status=CaseStatus(m["status"]),
            version=m["version"],
            order_id=m["order_id"],
            order_name=m["order_name"],
            customer_id=m["customer_id"],
            customer_name=m["customer_name"],
            amount=Money.from_minor(m["amount_minor"], m["currency"]),
            risk_score=m["risk_score"],
            recommended_action=m["recommended_action"],
            required_tier=m["required_tier"],
            auto_approved=bool(m["auto_approved"]),
            signal_codes=tuple(c for c in m["signal_codes"].split(",") if c),
            channel=m["channel"],
            slack_channel=m["slack_channel"],
            slack_ts=m["slack_ts"],
            card_version=m["card_version"],
            escalated_by=m["escalated_by"],
            escalation_note=m["escalation_note"],
            escalation_channel=m["escalation_channel"],
            escalation_ts=m["escalation_ts"],
            escalation_url=m["escalation_url"],
            requested_by=m["requested_by"],
            reminded_at=m["reminded_at"],
            sla_escalated_at=m["sla_escalated_at"],
            snapshot_id=m["snapshot_id"],
            opened_at=m["opened_at"],
            updated_at=m["updated_at"],
            decided_at=m["decided_at"],
            decided_by=m["decided_by"],
            decided_action=m["decided_action"],
            stage=ReturnStage(m["stage"]) if m.get("stage") else None,
            stage_at=m.get("stage_at"),
            followup=m.get("followup"),
            assignee=m.get("assignee"),
            external_status=m.get("external_status"),
            due_at=m.get("due_at"),
            money_system=m.get("money_system"),
            money_payment_id=m.get("money_payment_id"),
            owner=m.get("owner"),
            owner_ref=m.get("owner_ref"),
            priority_rank=m.get("priority_rank"),
            reply_due_at=m.get("reply_due_at"),
            ticket_created_at=m.get("ticket_created_at"),
            csat=m.get("csat"),
        )


@dataclass(frozen=True)
class OutboxOp:
    """A side effect to carry out after the decision commits."""

    operation: str
    payload: dict[str, Any]
    idempotency_key: str
    # The system that carries it out; None: the case's source. (A delayed-shipment case
    # comes from the shipping system, its remedies run in the store: policy.ports.STORE; a
    # Stripe-direct return's refund runs in the system holding the money.)
    system: str | None = None


@dataclass(frozen=True)
class Decision:
    action: str  # approve | deny | escalate | close
    outcome: str | None
    followed_recommendation: bool
    note: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransitionResult:
    ok: bool
    case: CaseRecord  # the state after the attempt (theirs, when ok is False)


def new_snapshot(conn: Any, case_id: int, ctx: CaseContext, assessment: Assessment, *, at: datetime,
                 policy_fingerprint: str | None = None) -> int:
    """A new snapshot of the case's context and assessment, made the case's current one, in
    the caller's transaction; its id."""
    snap_id = conn.execute(insert(case_snapshots).values(
        case_id=case_id, taken_at=at, context=snapshots.dump(ctx), assessment=snapshots.dump(assessment),
        policy_fingerprint=policy_fingerprint,
    ).returning(case_snapshots.c.id)).scalar_one()
    conn.execute(update(cases).where(cases.c.id == case_id).values(snapshot_id=snap_id))
    return snap_id


class CaseRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Told (event, case) after each committed open or transition: metrics count them.
        self.observers: list[Callable[[str, CaseRecord], None]] = []
        # Told (conn, case row, decision id, at) inside the transaction that records a
        # decision, to queue work that must happen once per decision (a playbook proposal).
        self.decision_hooks: list[Callable[[Any, Any, int, datetime], None]] = []

    def _observed(self, event: str, case: CaseRecord) -> CaseRecord:
        for observe in self.observers:
            observe(event, case)
        return case

    # --- creating ---------------------------------------------------------------------

    def open(self, new: NewCase, *, actor: str = "returnsbot") -> tuple[CaseRecord, bool]:
        """Create the case unless its natural key, or its correlation key (the same return
        or order reported by another system), exists; returns (case, created)."""
        try:
            return self._open(new, actor=actor)
        except IntegrityError:
            # Another system's report of the same thing committed between our look and our
            # insert (uq_cases_correlation): theirs is the case.
            existing = self._correlated(new)
            if existing is None:
                raise
            return existing, False

    def _correlated(self, new: NewCase) -> CaseRecord | None:
        key = new.context.correlation_key
        if key is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.kind == new.kind.value,
                                                   cases.c.correlation_key == key)).first()
        return CaseRecord.from_row(row) if row else None

    def _open(self, new: NewCase, *, actor: str) -> tuple[CaseRecord, bool]:
        rec = new.assessment.recommendation
        ctx = new.context
        values = dict(
            source=new.source,
            external_id=new.external_id,
            kind=new.kind.value,
            status=CaseStatus.OPEN.value,
            version=1,
            order_id=ctx.order.id if ctx.order else None,  # None: a ticket about no order
            order_name=ctx.order.name if ctx.order else None,
            customer_id=ctx.customer.id if ctx.customer else ctx.order.customer_id if ctx.order else None,
            customer_name=new.customer_name or (ctx.customer.display_name if ctx.customer else None),
            amount_minor=rec.amount.to_minor(),
            currency=rec.amount.currency,
            risk_score=rec.risk_score,
            recommended_action=rec.action.value,
            required_tier=rec.tier.index,
            auto_approved=False,
            signal_codes=",".join(s.code.value for s in new.assessment.signals),
            return_reasons=",".join(sorted({li.reason for li in ctx.return_request.line_items}))
            if ctx.return_request else "",
            channel=new.channel,
            card_version=0,
            opened_at=new.opened_at,
            updated_at=new.opened_at,
            correlation_key=ctx.correlation_key,
            due_at=ctx.dispute.evidence_due_by if ctx.dispute is not None else None,
            external_status=ctx.platform.state if ctx.platform is not None else None,
            money_system=ctx.money_held_by.system if ctx.money_held_by else None,
            money_payment_id=ctx.money_held_by.payment_id if ctx.money_held_by else None,
            **ticket_columns(ctx),
        )
        correlated = self._correlated(new)
        if correlated is not None:
            return correlated, False
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
            case_id = conn.execute(
                insert_ignore(self.engine, cases, ["source", "external_id", "kind"])
                .values(**values)
                .returning(cases.c.id)
            ).scalar()
            if case_id is None:
                existing = conn.execute(
                    select(cases).where(
                        cases.c.source == new.source,
                        cases.c.external_id == new.external_id,
                        cases.c.kind == new.kind.value,
                    )
                ).one()
                return CaseRecord.from_row(existing), False
            new_snapshot(conn, case_id, ctx, new.assessment, at=new.opened_at,
                         policy_fingerprint=new.policy_fingerprint)
            conn.execute(
                insert(audit_log).values(
                    case_id=case_id,
                    at=new.opened_at,
                    actor=actor,
                    event="case.opened",
                    from_status=None,
                    to_status=CaseStatus.OPEN.value,
                    detail={"action": rec.action.value, "risk_score": rec.risk_score},
                )
            )
            row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
            _queue_card(conn, row, now=new.opened_at)
            if new.within is not None:
                new.within(conn, case_id)
        return self._observed("case.opened", CaseRecord.from_row(row)), True

    # --- reading ----------------------------------------------------------------------

    def get(self, case_id: int) -> CaseRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        return CaseRecord.from_row(row) if row else None

    def find(self, source: str, external_id: str, kind: CaseKind) -> CaseRecord | None:
        """The case a system's object is about: reported by that system, or owned by it
        (a Loop return whose Shopify return opened the case)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cases).where(
                    cases.c.source == source,
                    cases.c.external_id == external_id,
                    cases.c.kind == kind.value,
                )
            ).first()
            if row is None:
                row = conn.execute(select(cases).where(
                    cases.c.owner == source, cases.c.owner_ref == external_id, cases.c.kind == kind.value)).first()
        return CaseRecord.from_row(row) if row else None

    def hand_over(self, case_id: int, *, owner: str, owner_ref: str, at: datetime) -> TransitionResult | None:
        """The same return reported by the system that owns its decision: it decides now
        (only while nobody decided here). None when the case is decided already."""
        case = self.get(case_id)
        if case is None or case.status not in (CaseStatus.OPEN, CaseStatus.ESCALATED) or case.owner == owner:
            return None
        res = self.transition(case_id, expected=case.status, expected_version=case.version, to=case.status,
                              actor="returnsbot", at=at, event="case.owner_changed",
                              detail={"owner": owner, "owner_ref": owner_ref},
                              extra={"owner": owner, "owner_ref": owner_ref})
        return res if res.ok else None

    def snapshot(self, case: CaseRecord) -> tuple[CaseContext, Assessment]:
        """The case's snapshot as current models, from whichever release stored it.

        Raises `snapshots.SnapshotUnreadable` when it cannot be read (even upcast): the
        caller falls back on the case's own columns."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(case_snapshots.c.context, case_snapshots.c.assessment).where(
                    case_snapshots.c.id == case.snapshot_id
                )
            ).first()
        if row is None:
            raise snapshots.SnapshotUnreadable(f"case {case.id} has no snapshot {case.snapshot_id}")
        return snapshots.read(row.context, row.assessment)

    def list(
        self, *, statuses: Iterable[CaseStatus] | None = None, limit: int = 500
    ) -> list[CaseRecord]:
        stmt = select(cases).order_by(cases.c.opened_at, cases.c.id).limit(limit)
        if statuses is not None:
            stmt = stmt.where(cases.c.status.in_([s.value for s in statuses]))
        with self.engine.connect() as conn:
            return [CaseRecord.from_row(r) for r in conn.execute(stmt)]

    def queue(self, *, statuses: Iterable[CaseStatus], limit: int = 1000) -> list[CaseRecord]:
        """Cases in queue order: ticket cases by priority (`priority_rank`), every case then
        by how long it has waited (a ticket since the customer wrote, another case since it
        opened). A case without a priority ranks as a normal ticket (`policy.priority.UNRANKED`),
        so non-ticket cases keep their oldest-first order among themselves."""
        c = cases.c
        stmt = (select(cases).where(c.status.in_([s.value for s in statuses]))
                .order_by(func.coalesce(c.priority_rank, UNRANKED), func.coalesce(c.ticket_created_at, c.opened_at),
                          c.id)
                .limit(limit))
        with self.engine.connect() as conn:
            return [CaseRecord.from_row(r) for r in conn.execute(stmt)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(cases)).scalar_one()

    def audit(self, case_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit_log).where(audit_log.c.case_id == case_id).order_by(audit_log.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def decisions(self, case_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(decisions).where(decisions.c.case_id == case_id).order_by(decisions.c.id)
            )
            return [dict(r._mapping) for r in rows]

    # --- changing ---------------------------------------------------------------------

    def transition(
        self,
        case_id: int,
        *,
        expected: CaseStatus | Iterable[CaseStatus],
        to: CaseStatus,
        actor: str,
        at: datetime,
        event: str,
        expected_version: int | None = None,
        detail: dict[str, Any] | None = None,
        decision: Decision | None = None,
        ops: Iterable[OutboxOp] = (),
        extra: dict[str, Any] | None = None,
        within: Callable[[Any], None] | None = None,
    ) -> TransitionResult:
        """Compare-and-set: the case moves to `to` only if its status is one of `expected`
        and, when given, its version is `expected_version` (the version the person saw).
        Audit, decision and outbox rows commit with it; zero rows changed means someone
        else got there first, and the result carries their state."""
        allowed = [s.value for s in ([expected] if isinstance(expected, CaseStatus) else expected)]
        values: dict[str, Any] = {"status": to.value, "version": cases.c.version + 1, "updated_at": at}
        if decision is not None:
            values.update(decided_at=at, decided_by=actor, decided_action=decision.outcome or decision.action)
        values.update(extra or {})
        with self.engine.begin() as conn:
            # Lock the row before reading it (FOR UPDATE on PostgreSQL; SQLite's BEGIN
            # IMMEDIATE already holds the only write lock, and SQLAlchemy leaves the clause
            # out there). What we read is then what the UPDATE changes, so the audit row's
            # from_status is the truth. Without the lock, PostgreSQL's UPDATE waits for a
            # concurrent writer and re-checks its WHERE against *their* row: a status read
            # a moment earlier would be recorded for a row that no longer had it.
            row = conn.execute(
                select(cases.c.status, cases.c.version, cases.c.snapshot_id, cases.c.source)
                .where(cases.c.id == case_id)
                .with_for_update()
            ).first()
            if row is None:
                raise LookupError(f"no case {case_id}")
            if row.status not in allowed or (expected_version is not None and row.version != expected_version):
                current = conn.execute(select(cases).where(cases.c.id == case_id)).one()
                return TransitionResult(False, CaseRecord.from_row(current))
            conn.execute(
                update(cases).where(cases.c.id == case_id, cases.c.version == row.version).values(**values)
            )
            conn.execute(
                insert(audit_log).values(
                    case_id=case_id,
                    at=at,
                    actor=actor,
                    event=event,
                    from_status=row.status,
                    to_status=to.value,
                    detail=detail or {},
                )
            )
            decision_id = None
            if decision is not None:
                decision_id = conn.execute(
                    insert(decisions).returning(decisions.c.id).values(
                        case_id=case_id,
                        snapshot_id=row.snapshot_id,
                        action=decision.action,
                        outcome=decision.outcome,
                        decided_by=actor,
                        decided_at=at,
                        followed_recommendation=decision.followed_recommendation,
                        note=decision.note,
                        detail=decision.detail,
                    )
                ).scalar_one()
            add_actions(conn, case_id=case_id, system=row.source, ops=ops, now=at)
            if within is not None:  # more that must commit with this change (a Retry's jobs)
                within(conn)
            current = conn.execute(select(cases).where(cases.c.id == case_id)).one()
            _queue_card(conn, current, now=at)
            if decision_id is not None:
                for hook in self.decision_hooks:
                    hook(conn, current, decision_id, at)
        return TransitionResult(True, self._observed(event, CaseRecord.from_row(current)))

    def record_csat(self, case_id: int, score: int, *, at: datetime) -> bool:
        """The helpdesk's satisfaction score for a ticket case (1–5), when it is new or
        changed: the row (for the digest) and an audit row, together. No new version and
        no card update: the card does not show it. True when recorded."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(cases).where(cases.c.id == case_id, or_(cases.c.csat.is_(None), cases.c.csat != score))
                .values(csat=score, csat_at=at)
            ).rowcount
            if changed != 1:
                return False
            conn.execute(insert(audit_log).values(
                case_id=case_id, at=at, actor="returnsbot", event="case.ticket_rated", from_status=None,
                to_status=None, detail={"csat": score}))
        return True

    def record_refusal(self, case_id: int, *, actor: str, at: datetime, reason: str, detail: dict[str, Any] | None = None) -> None:
        """A click that changed nothing is still in the audit log."""
        with self.engine.begin() as conn:
            status = conn.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar_one()
            conn.execute(
                insert(audit_log).values(
                    case_id=case_id,
                    at=at,
                    actor=actor,
                    event="case.refused",
                    from_status=status,
                    to_status=status,
                    detail={"reason": reason, **(detail or {})},
                )
            )

    def record_order(self, source: str, order) -> None:
        """Every new order heard of, case or not (the digest's denominator)."""
        stmt = insert_ignore(self.engine, orders_seen, ["source", "order_id"]).values(
            source=source, order_id=order.id, order_name=order.name, placed_at=order.created_at,
            total_minor=order.total.to_minor(), currency=order.total.currency,
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    # --- Slack cards ----------------------------------------------------------------------

    def set_card(self, case_id: int, **values: Any) -> None:
        """Record where a card went (slack_channel/slack_ts, escalation_ts/escalation_url)
        the moment Slack answers, so a crash right after can't lead to a second post."""
        with self.engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.id == case_id).values(**values))

    def card_synced(self, case_id: int, *, version: int, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(cases)
                .where(cases.c.id == case_id, cases.c.card_version < version)
                .values(card_version=version, card_error=error)
            )

    def queue_card(self, case_id: int, *, at: datetime, force: bool = False) -> None:
        """Ask for the card to be synced (force: re-rendered even if it looks current, e.g.
        after a stale click showed someone an old card)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
            if row is not None:
                _queue_card(conn, row, now=at, force=force)

    # --- order lookup (/order) ------------------------------------------------------------

    def for_order(self, order_id: str, *, limit: int = 5) -> list[CaseRecord]:
        """The cases on an order, newest first (uses ix_cases_order_id)."""
        stmt = (select(cases).where(cases.c.order_id == order_id)
                .order_by(cases.c.opened_at.desc(), cases.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [CaseRecord.from_row(r) for r in conn.execute(stmt)]


def ticket_columns(ctx: CaseContext) -> dict[str, Any]:
    """A ticket case's priority, SLA and creation time, from its snapshot's review, as
    columns (migration 0016); nothing for other cases."""
    review = review_of(ctx) if ctx.kind is CaseKind.TICKET else None
    if review is None:
        return {}
    return {"priority_rank": rank_of(review.priority.level), "reply_due_at": review.priority.reply_due_at,
            "ticket_created_at": ctx.tickets[0].created_at if ctx.tickets else None}


def _queue_card(conn, row, *, now: datetime, force: bool = False) -> None:
    """A card job for this version of the case, in the transaction that made the version.
    One job per version (the key dedupes); they share an order key, so a case's card is
    never posted or updated by two workers at once. A card not posted yet is due a little
    before now by its priority (`head_start`): among cards waiting, the urgent ticket's
    posts first."""
    m = row._mapping
    if m["channel"] is None:
        return
    case_id, version = m["id"], m["version"]
    first_post = m["slack_ts"] is None
    enqueue(conn, NewJob(
        kind=Kind.CARD, system="slack", operation="sync_card", case_id=case_id, order_key=f"card:{case_id}",
        payload={"version": version, "force": force},
        idempotency_key=None if force else f"card:{case_id}:v{version}",
        run_at=now - head_start(m.get("priority_rank")) if first_post else None,
    ), now=now)
