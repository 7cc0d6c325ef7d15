"""Moments: a rule of `[[moments]]` fired (policy/moments.py) → tags, an owner alert and a
follow-up task, each once; then the follow-up lives in Slack until someone does it.

- `MomentService.consider(ctx, source)`: called by ingest with a new order's, a new return
  case's or a new delayed-shipment case's context. Each hit is recorded with its task, its
  tag actions (the outbox) and its alert job in one transaction (bot/store/moments.py);
  the natural key makes a replayed webhook or a retried job the same moment.
- `MomentAlerts` runs `moment` jobs: posts the alert card once (only the holder of the
  claim posts; the ts is saved at once), later re-renders it (chat.update).
- `FollowTasks`: Done, Snooze (1 day / 1 week), Reassign — compare-and-set on the version
  on the button, each re-rendering the card.
- `TaskReminders.run_once` (periodic): a due task gets one reminder in the alert's thread,
  then, `dm_after_hours` later and still open, one DM to its owner. Each is claimed in the
  database first, so several replicas remind once; a snooze starts both over.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select

from blocks.escape import escape_mrkdwn, one_line
from blocks.format import mention, slack_date
from blocks.moment import MomentView, OpenTask, TaskView, render_moment_card
from bot.clock import Clock
from bot.jobs.errors import Permanent, RetryLater
from bot.jobs.runner import Done
from bot.schema import jobs as jobs_table
from bot.store.jobs import Job, JobRepo
from bot.store.moments import (TAG_TARGETS, MomentRecord, MomentRepo, NewMoment, TaskConflict, TaskRecord,
                               tag_order_key)
from integrations.slack.gateway import SlackError, SlackGatewayError
from policy.config import Policy
from policy.models import CaseContext
from policy.moments import MomentHit, moments_for

log = logging.getLogger(__name__)

VIP_TRIGGERS = ("became_vip", "vip_order_delayed", "vip_order_returned")


class MomentService:
    def __init__(self, *, repo: MomentRepo, policy: Policy, clock: Clock,
                 on_queued: Callable[[], None] = lambda: None) -> None:
        self.repo = repo
        self.policy = policy
        self.clock = clock
        self.on_queued = on_queued  # nudge the actions and cards lanes

    def consider(self, ctx: CaseContext, source: str) -> list[MomentRecord]:
        """Record every moment this context triggers (once each); the new ones are returned."""
        if not self.policy.moments:
            return []
        created = []
        for hit in moments_for(ctx, self.policy):
            moment, new = self.repo.record(self._new(ctx, source, hit), now=self.clock())
            if new:
                log.info("moment.recorded moment_id=%s rule=%s order=%s", moment.id, moment.rule, moment.order_name)
                created.append(moment)
        if created:
            self.on_queued()
        return created

    def _new(self, ctx: CaseContext, source: str, hit: MomentHit) -> NewMoment:
        rule, customer = hit.rule, ctx.customer
        followup = rule.followup
        return NewMoment(
            source=source, order_id=ctx.order.id, rule=rule.name, trigger=rule.trigger.value,
            order_name=ctx.order.name, customer_id=customer.id if customer else None,
            customer_name=customer.display_name if customer else None, amount=hit.amount, owner=rule.owner,
            why=hit.why, detail=_detail(ctx),
            customer_tags=rule.customer_tags if customer else (), order_tags=rule.order_tags,
            task_text=followup.text if followup else None, task_owner=rule.task_owner,
            task_due_in=followup.due_in if followup else None,
            task_dm_after_hours=followup.dm_after_hours if followup else 0,
        )


def _detail(ctx: CaseContext) -> dict:
    """What the alert shows, as the context said when the moment fired."""
    order, customer, history = ctx.order, ctx.customer, ctx.history
    detail: dict = {
        "items": [{"title": li.title + (f" — {li.variant_title}" if li.variant_title else ""),
                   "quantity": li.quantity, "amount": str(li.unit_price * li.quantity)} for li in order.line_items],
        "email": (customer.email if customer else None) or order.email,
    }
    if customer is not None:
        detail.update(lifetime_spend=str(customer.lifetime_spend), orders_count=customer.orders_count,
                      customer_tags=list(customer.tags),
                      customer_since=customer.created_at.isoformat() if customer.created_at else None)
    if history is not None:
        detail.update(history_orders=history.orders_count, history_returns=len(history.returns),
                      history_days=max(0, (ctx.now - history.since).days))
    return detail


# --- the alert card ---------------------------------------------------------------------


class LeaseLost(RetryLater):
    """Another worker holds this job now; it will do the posting."""


class MomentAlerts:
    """Runs `moment` jobs: the alert card, posted once, then kept in step with its task."""

    def __init__(self, *, repo: MomentRepo, gateway, jobs: JobRepo, clock: Clock, sample_store: bool = False) -> None:
        self.repo = repo
        self.gateway = gateway
        self.jobs = jobs
        self.clock = clock
        self.sample_store = sample_store

    def run(self, job: Job) -> Done:
        moment = self.repo.get(int(job.payload.get("moment_id") or 0))
        if moment is None:
            return Done("moment gone")
        card = render_moment_card(self.view(moment))
        try:
            if moment.slack_ts is None:
                # chat.postMessage has no idempotency key: only the holder of the claim posts.
                if not self.jobs.holds(job):
                    raise LeaseLost(f"lost the claim on job {job.id} before posting")
                channel, ts = self.gateway.post_message_at(moment.owner, blocks=card["blocks"], text=card["text"])
                self.repo.set_alert(moment.id, channel=channel, ts=ts)  # at once: never post twice
                log.info("moment.alert_posted moment_id=%s channel=%s", moment.id, channel)
                return Done(f"alert posted in {channel}")
            self.gateway.update_message(moment.slack_channel, moment.slack_ts, blocks=card["blocks"],
                                        text=card["text"])
        except SlackError as exc:
            raise Permanent(f"Slack refused the alert of moment {moment.id}: {exc.error}") from exc
        except SlackGatewayError as exc:
            raise RetryLater(str(exc), retry_after=getattr(exc, "retry_after", None)) from exc
        return Done("alert updated")

    def view(self, moment: MomentRecord) -> MomentView:
        task = self.repo.task_of(moment.id)
        tags = {}
        tags_done = {}
        with self.repo.engine.connect() as conn:
            keys = [tag_order_key(moment.id, t) for t in TAG_TARGETS]
            for row in conn.execute(select(jobs_table.c.payload, jobs_table.c.status, jobs_table.c.result_summary,
                                           jobs_table.c.last_error, jobs_table.c.order_key)
                                    .where(jobs_table.c.order_key.in_(keys))):
                target = row.order_key.rsplit(":", 1)[1]
                tags[target] = list(row.payload.get("tags") or [])
                if row.status == "done":
                    tags_done[target] = row.result_summary or "done"
                elif row.status == "dead":
                    tags_done[target] = f"failed: {row.last_error or 'unknown error'}"
        return MomentView(
            id=moment.id, trigger=moment.trigger, why=moment.why, order_name=moment.order_name,
            customer_name=moment.customer_name, amount=str(moment.amount), owner=moment.owner,
            detail=moment.detail, now=self.clock(), task=task_view(task), tags=tags, tags_done=tags_done,
            sample_store=self.sample_store,
        )


def task_view(task: TaskRecord | None) -> TaskView | None:
    if task is None:
        return None
    return TaskView(id=task.id, version=task.version, text=task.text, owner=task.owner, due_at=task.due_at,
                    first_due_at=task.first_due_at, done_at=task.done_at, done_by=task.done_by)


# --- a person's changes -----------------------------------------------------------------


class TaskRefused(Exception):
    """A follow-up change that could not be made; the message says why, for the clicker."""


class FollowTasks:
    """Done / Snooze / Reassign. Anyone who can see the alert may act on its task (the card
    is in the owner's channel or DM); each change is a compare-and-set on the version the
    person saw, so a second click on an old card changes nothing and says so."""

    def __init__(self, *, repo: MomentRepo, clock: Clock, on_changed: Callable[[], None] = lambda: None) -> None:
        self.repo = repo
        self.clock = clock
        self.on_changed = on_changed  # nudge the cards lane

    def done(self, task_id: int, user: str, *, version: int) -> TaskRecord:
        return self._do(task_id, lambda now: self.repo.done(task_id, by=user, version=version, now=now), user, "done")

    def snooze(self, task_id: int, user: str, *, version: int, days: int) -> TaskRecord:
        def change(now):
            task = self.repo.task(task_id)
            base = max(now, task.due_at) if task is not None else now
            return self.repo.snooze(task_id, version=version, until=base + timedelta(days=days), now=now)

        return self._do(task_id, change, user, f"snoozed {days}d")

    def reassign(self, task_id: int, user: str, *, version: int, to: str) -> TaskRecord:
        return self._do(task_id, lambda now: self.repo.reassign(task_id, to=to, version=version, now=now), user,
                        f"reassigned to {to}")

    def _do(self, task_id: int, change, user: str, what: str) -> TaskRecord:
        try:
            task = change(self.clock())
        except TaskConflict as exc:
            if exc.task is None:
                raise TaskRefused("That follow-up no longer exists.") from None
            if not exc.task.is_open:
                raise TaskRefused(f"That follow-up was already done by {mention(exc.task.done_by)}.") from None
            raise TaskRefused("That follow-up changed since this card was shown; it has been refreshed — "
                              "try again there.") from None
        log.info("moment.task_changed task_id=%s user=%s change=%s", task_id, user, what)
        self.on_changed()
        return task

    def open_list(self, *, owner: str | None = None) -> list[OpenTask]:
        return [OpenTask(text=t.text, owner=t.owner, due_at=t.due_at,
                         title=" ".join(x for x in (m.customer_name or "guest", m.order_name or "") if x))
                for t, m in self.repo.open_tasks(owner=owner)]


# --- reminders --------------------------------------------------------------------------


class TaskReminders:
    def __init__(self, *, repo: MomentRepo, gateway, clock: Clock) -> None:
        self.repo = repo
        self.gateway = gateway
        self.clock = clock

    def run_once(self) -> str:
        now = self.clock()
        thread = sum(self._thread(t, now) for t in self.repo.due_for_thread(now))
        dms = sum(self._dm(t, now) for t in self.repo.due_for_dm(now))
        return f"{thread} follow-up reminder(s) in threads, {dms} by DM"

    def _thread(self, task: TaskRecord, now: datetime) -> int:
        moment = self.repo.get(task.moment_id)
        if moment is None or moment.slack_ts is None:
            return 0  # no alert yet: the next run reminds once it is posted
        if not self.repo.claim(task, "thread_reminded_at", now):
            return 0  # another replica got it
        who = mention(task.owner) if task.owner else "Anyone here"
        text = f":alarm_clock: {who}: follow-up due {slack_date(task.due_at)} — {escape_mrkdwn(one_line(task.text), 300)}"
        try:
            self.gateway.post_message(moment.slack_channel, thread_ts=moment.slack_ts, blocks=None, text=text)
        except Exception:
            self.repo.release(task.id, "thread_reminded_at")  # the next run tries again: never lost
            log.exception("moment.remind_failed task_id=%s", task.id)
            return 0
        log.info("moment.reminded task_id=%s where=thread", task.id)
        return 1

    def _dm(self, task: TaskRecord, now: datetime) -> int:
        moment = self.repo.get(task.moment_id)
        if moment is None or task.owner is None or not self.repo.claim(task, "dm_reminded_at", now):
            return 0
        link = ""
        try:
            if moment.slack_ts:
                link = f" {self.gateway.get_permalink(moment.slack_channel, moment.slack_ts)}"
        except Exception:  # the DM still goes, without the link
            link = ""
        # The customer's name is theirs to write: escaped, so it can't ping or forge a link.
        order = escape_mrkdwn(one_line(f"{moment.customer_name or 'guest'} {moment.order_name or ''}".strip()), 200)
        text = (f":alarm_clock: Your follow-up is overdue since {slack_date(task.due_at)}: "
                f"{escape_mrkdwn(one_line(task.text), 300)} ({order}){link}")
        try:
            self.gateway.post_message(task.owner, blocks=None, text=text)
        except Exception:
            self.repo.release(task.id, "dm_reminded_at")
            log.exception("moment.dm_failed task_id=%s", task.id)
            return 0
        log.info("moment.reminded task_id=%s where=dm", task.id)
        return 1
