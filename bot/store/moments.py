"""Moments and their follow-up tasks (policy/moments.py says when one fires).

`record` is one transaction: the moment (its natural key — source, order, rule — makes a
replayed webhook or a retried job the same moment), its follow-up task, the tag actions (the
outbox: `action` jobs with deterministic keys) and the alert job. So either all of it is
queued once, or nothing is.

A task changes by compare-and-set on the version the person saw (done, snooze, reassign),
in the transaction that queues the alert's re-render (a `moment` job, no key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, select, update

from bot.jobs.kinds import Kind
from bot.schema import audit_log, follow_tasks, jobs, moments
from bot.store.jobs import NewJob, enqueue
from bot.store.sql import insert_ignore
from policy.models import Money
from policy.ports import STORE, Operation

OPEN, DONE = "open", "done"
ALERT_SYSTEM = "slack"


@dataclass(frozen=True)
class NewMoment:
    source: str
    order_id: str
    rule: str
    trigger: str
    order_name: str | None
    customer_id: str | None
    customer_name: str | None
    amount: Money
    owner: str
    why: str
    detail: dict[str, Any]
    customer_tags: tuple[str, ...] = ()
    order_tags: tuple[str, ...] = ()
    task_text: str | None = None
    task_owner: str | None = None
    task_due_in: timedelta | None = None
    task_dm_after_hours: int = 0


@dataclass(frozen=True)
class MomentRecord:
    id: int
    source: str
    order_id: str
    rule: str
    trigger: str
    order_name: str | None
    customer_id: str | None
    customer_name: str | None
    amount: Money
    owner: str
    why: str
    detail: dict[str, Any]
    slack_channel: str | None
    slack_ts: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> MomentRecord:
        m = row._mapping
        return cls(id=m["id"], source=m["source"], order_id=m["order_id"], rule=m["rule"], trigger=m["trigger"],
                   order_name=m["order_name"], customer_id=m["customer_id"], customer_name=m["customer_name"],
                   amount=Money.from_minor(m["amount_minor"], m["currency"]), owner=m["owner"], why=m["why"],
                   detail=dict(m["detail"] or {}), slack_channel=m["slack_channel"], slack_ts=m["slack_ts"],
                   created_at=m["created_at"])


@dataclass(frozen=True)
class TaskRecord:
    id: int
    moment_id: int
    text: str
    owner: str | None
    status: str
    version: int
    first_due_at: datetime
    due_at: datetime
    dm_after_hours: int
    thread_reminded_at: datetime | None
    dm_reminded_at: datetime | None
    done_at: datetime | None
    done_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> TaskRecord:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at <= now


class TaskConflict(Exception):
    """The task changed since the person saw it (or is done): nothing was changed."""

    def __init__(self, task: TaskRecord | None) -> None:
        super().__init__("changed")
        self.task = task


TAG_TARGETS = ("customer", "order")


def tag_key(source: str, moment_id: int, target: str) -> str:
    return f"returnsbot:{source}:moment-{moment_id}:tags-{target}"


def tag_order_key(moment_id: int, target: str) -> str:
    return f"moment:{moment_id}:{target}"


class MomentRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- recording ----------------------------------------------------------------------

    def record(self, new: NewMoment, *, now: datetime) -> tuple[MomentRecord, bool]:
        """The moment with its task, tag actions and alert, once; (moment, created)."""
        with self.engine.begin() as conn:
            moment_id = conn.execute(
                insert_ignore(self.engine, moments, ["source", "order_id", "rule"]).values(
                    source=new.source, order_id=new.order_id, rule=new.rule, trigger=new.trigger,
                    order_name=new.order_name, customer_id=new.customer_id, customer_name=new.customer_name,
                    amount_minor=new.amount.to_minor(), currency=new.amount.currency, owner=new.owner,
                    why=new.why[:512], detail=new.detail, created_at=now,
                ).returning(moments.c.id)
            ).scalar()
            if moment_id is None:
                row = conn.execute(select(moments).where(moments.c.source == new.source,
                                                         moments.c.order_id == new.order_id,
                                                         moments.c.rule == new.rule)).one()
                return MomentRecord.from_row(row), False
            if new.task_text and new.task_due_in is not None:
                due = now + new.task_due_in
                conn.execute(follow_tasks.insert().values(
                    moment_id=moment_id, text=new.task_text, owner=new.task_owner, status=OPEN, version=1,
                    first_due_at=due, due_at=due, dm_after_hours=new.task_dm_after_hours,
                    created_at=now, updated_at=now))
            for target, resource, tags in (("customer", new.customer_id, new.customer_tags),
                                           ("order", new.order_id, new.order_tags)):
                if not tags or not resource:
                    continue
                # Each on its own order key: a customer tag that fails for good must not hold
                # up the order's (a dead action blocks what follows it on its key).
                enqueue(conn, NewJob(kind=Kind.ACTION, system=STORE, operation=Operation.ADD_TAGS.value,
                                     payload={"resource_id": resource, "tags": list(tags), "moment_id": moment_id,
                                              "target": target},
                                     order_key=tag_order_key(moment_id, target),
                                     idempotency_key=tag_key(new.source, moment_id, target)), now=now)
            self._queue_alert(conn, moment_id, now=now, key=f"returnsbot:moment-{moment_id}:alert")
            row = conn.execute(select(moments).where(moments.c.id == moment_id)).one()
        return MomentRecord.from_row(row), True

    @staticmethod
    def _queue_alert(conn, moment_id: int, *, now: datetime, key: str | None = None) -> None:
        # The first post carries a key (queued once with the moment); re-renders don't.
        enqueue(conn, NewJob(kind=Kind.MOMENT, system=ALERT_SYSTEM, operation="alert" if key else "update",
                             payload={"moment_id": moment_id}, order_key=f"moment-card:{moment_id}",
                             idempotency_key=key), now=now)

    def queue_update(self, moment_id: int, *, now: datetime) -> None:
        """Re-render the alert (its tags finished)."""
        with self.engine.begin() as conn:
            self._queue_alert(conn, moment_id, now=now)

    # --- reading ------------------------------------------------------------------------

    def get(self, moment_id: int) -> MomentRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(moments).where(moments.c.id == moment_id)).first()
        return MomentRecord.from_row(row) if row else None

    def task_of(self, moment_id: int) -> TaskRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(follow_tasks).where(follow_tasks.c.moment_id == moment_id)).first()
        return TaskRecord.from_row(row) if row else None

    def task(self, task_id: int) -> TaskRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(follow_tasks).where(follow_tasks.c.id == task_id)).first()
        return TaskRecord.from_row(row) if row else None

    def open_tasks(self, *, owner: str | None = None, limit: int = 50) -> list[tuple[TaskRecord, MomentRecord]]:
        """Open follow-ups with their moments, soonest due first; `owner`: only that person's."""
        stmt = (select(follow_tasks).where(follow_tasks.c.status == OPEN)
                .order_by(follow_tasks.c.due_at, follow_tasks.c.id).limit(limit))
        if owner is not None:
            stmt = stmt.where(follow_tasks.c.owner == owner)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
            tasks = [TaskRecord.from_row(r) for r in rows]
            ms = {r._mapping["id"]: MomentRecord.from_row(r) for r in conn.execute(
                select(moments).where(moments.c.id.in_([t.moment_id for t in tasks])))} if tasks else {}
        return [(t, ms[t.moment_id]) for t in tasks]

    def set_alert(self, moment_id: int, *, channel: str, ts: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(moments).where(moments.c.id == moment_id).values(slack_channel=channel, slack_ts=ts))

    # --- a person's changes (compare-and-set) ---------------------------------------------

    def done(self, task_id: int, *, by: str, version: int, now: datetime) -> TaskRecord:
        return self._change(task_id, version, now, status=DONE, done_at=now, done_by=by)

    def snooze(self, task_id: int, *, version: int, until: datetime, now: datetime) -> TaskRecord:
        # Reminders start over from the new due time.
        return self._change(task_id, version, now, due_at=until, thread_reminded_at=None, dm_reminded_at=None)

    def reassign(self, task_id: int, *, to: str, version: int, now: datetime) -> TaskRecord:
        return self._change(task_id, version, now, owner=to, dm_reminded_at=None)

    def _change(self, task_id: int, version: int, now: datetime, **values: Any) -> TaskRecord:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(follow_tasks)
                .where(follow_tasks.c.id == task_id, follow_tasks.c.version == version,
                       follow_tasks.c.status == OPEN)
                .values(version=follow_tasks.c.version + 1, updated_at=now, **values)
            ).rowcount
            row = conn.execute(select(follow_tasks).where(follow_tasks.c.id == task_id)).first()
            if not changed:
                raise TaskConflict(TaskRecord.from_row(row) if row else None)
            task = TaskRecord.from_row(row)
            self._queue_alert(conn, task.moment_id, now=now)
        return task

    # --- reminders (claimed once across replicas) -----------------------------------------

    def due_for_thread(self, now: datetime, limit: int = 100) -> list[TaskRecord]:
        return self._due(and_(follow_tasks.c.due_at <= now, follow_tasks.c.thread_reminded_at.is_(None)), limit)

    def due_for_dm(self, now: datetime, limit: int = 100) -> list[TaskRecord]:
        # due_at + dm_after_hours <= now, computed here (portable date arithmetic is not).
        tasks = self._due(and_(follow_tasks.c.due_at <= now, follow_tasks.c.owner.is_not(None),
                               follow_tasks.c.thread_reminded_at.is_not(None),
                               follow_tasks.c.dm_reminded_at.is_(None)), limit)
        return [t for t in tasks if t.due_at + timedelta(hours=t.dm_after_hours) <= now]

    def _due(self, condition, limit: int) -> list[TaskRecord]:
        stmt = (select(follow_tasks).where(follow_tasks.c.status == OPEN, condition)
                .order_by(follow_tasks.c.due_at).limit(limit))
        with self.engine.connect() as conn:
            return [TaskRecord.from_row(r) for r in conn.execute(stmt)]

    def claim(self, task: TaskRecord, marker: str, now: datetime) -> bool:
        """Set the reminder marker where it is still null for this due time: one replica wins."""
        column = follow_tasks.c[marker]
        with self.engine.begin() as conn:
            return conn.execute(
                update(follow_tasks).where(follow_tasks.c.id == task.id, column.is_(None),
                                           follow_tasks.c.due_at == task.due_at, follow_tasks.c.status == OPEN)
                .values({marker: now})
            ).rowcount == 1

    def release(self, task_id: int, marker: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(follow_tasks).where(follow_tasks.c.id == task_id).values({marker: None}))

    # --- the digest --------------------------------------------------------------------------

    def week(self, start: datetime, end: datetime, *, vip_triggers: tuple[str, ...]) -> dict[str, Any]:
        """What the digest's moments section shows for [start, end)."""
        in_week = and_(moments.c.created_at >= start, moments.c.created_at < end)
        with self.engine.connect() as conn:
            by_trigger = {r.trigger: r.n for r in conn.execute(
                select(moments.c.trigger, func.count().label("n")).where(in_week).group_by(moments.c.trigger))}
            # Revenue touched: each order once, however many moments it fired.
            per_order = (select(moments.c.source, moments.c.order_id, moments.c.currency,
                                func.max(moments.c.amount_minor).label("minor"))
                         .where(in_week).group_by(moments.c.source, moments.c.order_id, moments.c.currency)
                         .subquery())
            revenue = {r.currency: r.minor for r in conn.execute(
                select(per_order.c.currency, func.sum(per_order.c.minor).label("minor")).group_by(per_order.c.currency))}
            vip_orders = conn.execute(select(func.count(func.distinct(moments.c.order_id)))
                                      .where(in_week, moments.c.trigger.in_(vip_triggers))).scalar() or 0
            t = follow_tasks.c
            created = conn.execute(select(func.count()).where(t.created_at >= start, t.created_at < end)).scalar() or 0
            done_on_time = conn.execute(select(func.count()).where(
                t.status == DONE, t.done_at >= start, t.done_at < end, t.done_at <= t.first_due_at)).scalar() or 0
            done_late = conn.execute(select(func.count()).where(
                t.status == DONE, t.done_at >= start, t.done_at < end, t.done_at > t.first_due_at)).scalar() or 0
            overdue = conn.execute(select(func.count()).where(t.status == OPEN, t.due_at <= end)).scalar() or 0
            # Which automations ran: tag operations carried out (the resource carries the tags
            # now; a retry that found them there is the same operation, counted once), refunds
            # that went out on receipt (the lifecycle's audit event).
            j = jobs.c
            tagged = conn.execute(select(func.count()).where(
                j.kind == Kind.ACTION.value, j.operation == Operation.ADD_TAGS.value, j.status == "done",
                j.finished_at >= start, j.finished_at < end
            )).scalar() or 0
            on_receipt = conn.execute(select(func.count()).where(
                audit_log.c.event == "case.refund_on_receipt", audit_log.c.at >= start,
                audit_log.c.at < end)).scalar() or 0
        return {"by_trigger": by_trigger, "vip_orders": int(vip_orders), "tags_added": int(tagged),
                "refunds_on_receipt": int(on_receipt),
                "revenue": {cur: int(minor) for cur, minor in revenue.items()},
                "followups_created": int(created), "done_on_time": int(done_on_time), "done_late": int(done_late),
                "overdue": int(overdue)}
