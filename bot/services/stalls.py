"""Stalled returns: an approved return that gets no label, a parcel that stops moving, a
delivery that nobody inspects. Each gets one reminder in its card's thread naming the
owner (the approvers of its tier, as the SLA reminder does); if it is still there after the
same period again, one alert in the owner channel; and, when `[returns] expire_after_days`
is above 0, an approved return never shipped is closed in the store (CLOSE_RETURN, with a
note, recorded in the audit).

Which steps are due is a pure function of (case_id, stage, stage_at) rows and the rules
(`due_steps`, `stalled`), so it is tested without a database. Each step is claimed in the
`return_stall_reminders` ledger (primary key case, stage, step) before it is carried out,
so across replicas and runs a step happens once; a failed post gives its claim back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from blocks.format import mention
from bot import actors
from bot.clock import Clock
from bot.jobs.kinds import Kind
from bot.schema import audit_log, return_stall_reminders
from bot.store import CaseRecord, CaseRepo
from bot.store.jobs import NewJob, enqueue
from bot.store.outbox import order_key
from policy.config import Policy
from policy.lifecycle import ReturnStage
from policy.lifecycle_rules import STAGE_WAITS, stage_limit_days
from policy.ports import Operation

log = logging.getLogger(__name__)

REMIND, ALERT, EXPIRE = "remind", "alert", "expire"


@dataclass(frozen=True)
class StallRules:
    """`[returns]` label_within_days, stalled_after_days, inspect_within_days, expire_after_days."""

    label_within_days: int = 3
    stalled_after_days: int = 7
    inspect_within_days: int = 2
    expire_after_days: int = 0  # 0: never close a return automatically

    @classmethod
    def from_policy(cls, policy: Policy) -> StallRules:
        r = policy.returns
        return cls(*(int(getattr(r, f.name)) for f in fields(cls)))

    def limit(self, stage: ReturnStage) -> int | None:
        """Days a return may stay in `stage` before it is stalled; None: no rule for it."""
        return stage_limit_days(self, stage)  # the stage → key map lives beside the keys


# The stages a stall rule watches, in pipeline order, and how a reminder names each.
WATCHED = tuple(STAGE_WAITS)
WHAT_STALLS = {stage: wait.stalled_as for stage, wait in STAGE_WAITS.items()}


@dataclass(frozen=True)
class StallStep:
    case_id: int
    stage: ReturnStage
    step: str  # remind | alert | expire
    stage_at: datetime
    days: int  # whole days in the stage


def _days(now: datetime, since: datetime) -> int:
    return int((now - since).total_seconds() // 86400)


def due_steps(rows: Iterable[tuple[int, ReturnStage | str, datetime]], now: datetime,
              rules: StallRules) -> list[StallStep]:
    """Every step due for these (case_id, stage, stage_at) rows, whether done or not (the
    ledger says which are done). After the limit: remind; after twice the limit: alert;
    approved for expire_after_days (when > 0): expire."""
    steps: list[StallStep] = []
    for case_id, stage, at in rows:
        stage = ReturnStage(stage)
        limit = rules.limit(stage)
        if limit is None:
            continue
        age = now - at
        days = _days(now, at)
        if age >= timedelta(days=limit):
            steps.append(StallStep(case_id, stage, REMIND, at, days))
        if age >= timedelta(days=2 * limit):
            steps.append(StallStep(case_id, stage, ALERT, at, days))
        if (stage is ReturnStage.APPROVED and rules.expire_after_days > 0
                and age >= timedelta(days=rules.expire_after_days)):
            steps.append(StallStep(case_id, stage, EXPIRE, at, days))
    return steps


def stalled(rows: Iterable[tuple[int, ReturnStage | str, datetime]], now: datetime,
            rules: StallRules) -> list[StallStep]:
    """The returns stalled now (one entry each, the longest-stalled first): for the digest."""
    out = [s for s in due_steps(rows, now, rules) if s.step == REMIND]
    return sorted(out, key=lambda s: s.stage_at)


class StageSource(Protocol):
    """What the stall rules read: core's StageRepo (bot/store/stages.py)."""

    def in_stage(self, stage: ReturnStage, *, before: datetime | None = None) -> list[tuple[int, datetime]]: ...


@dataclass(frozen=True)
class StallReport:
    reminded: int = 0
    alerted: int = 0
    expired: int = 0


class Stalls:
    def __init__(self, *, cases: CaseRepo, stages: StageSource, decide, gateway, policy: Policy,
                 clock: Clock) -> None:
        self.cases = cases
        self.stages = stages
        self.decide = decide
        self.gateway = gateway
        self.policy = policy
        self.clock = clock

    @property
    def rules(self) -> StallRules:
        return StallRules.from_policy(self.policy)

    def rows(self, now: datetime) -> list[tuple[int, ReturnStage, datetime]]:
        """(case_id, stage, stage_at) of every return in a watched stage past its limit."""
        rules = self.rules
        out: list[tuple[int, ReturnStage, datetime]] = []
        for stage in WATCHED:
            limit = rules.limit(stage)
            if limit is None:
                continue
            first_due = min(limit, rules.expire_after_days) if (
                stage is ReturnStage.APPROVED and rules.expire_after_days > 0) else limit
            out += [(cid, stage, at) for cid, at in self.stages.in_stage(stage, before=now - timedelta(days=first_due))]
        return out

    def run_once(self) -> StallReport:
        now = self.clock()
        steps = due_steps(self.rows(now), now, self.rules)
        done = self._done({s.case_id for s in steps})
        counts = {REMIND: 0, ALERT: 0, EXPIRE: 0}
        for s in steps:
            if (s.case_id, s.stage.value, s.step) in done:
                continue
            counts[s.step] += self._carry_out(s, now)
        return StallReport(reminded=counts[REMIND], alerted=counts[ALERT], expired=counts[EXPIRE])

    # --- the ledger ---------------------------------------------------------------------

    def _done(self, case_ids: set[int]) -> set[tuple[int, str, str]]:
        if not case_ids:
            return set()
        t = return_stall_reminders
        with self.cases.engine.connect() as conn:
            return {(r.case_id, r.stage, r.step) for r in conn.execute(
                select(t.c.case_id, t.c.stage, t.c.step).where(t.c.case_id.in_(sorted(case_ids))))}

    @staticmethod
    def _claim(conn, s: StallStep, now: datetime) -> None:
        conn.execute(insert(return_stall_reminders).values(
            case_id=s.case_id, stage=s.stage.value, step=s.step, stage_at=s.stage_at, claimed_at=now))

    def _give_back(self, s: StallStep) -> None:
        t = return_stall_reminders
        with self.cases.engine.begin() as conn:
            conn.execute(delete(t).where(and_(t.c.case_id == s.case_id, t.c.stage == s.stage.value,
                                              t.c.step == s.step)))

    # --- the steps ----------------------------------------------------------------------

    def _carry_out(self, s: StallStep, now: datetime) -> int:
        case = self.cases.get(s.case_id)
        if case is None:
            return 0
        if s.step == EXPIRE:
            return self._expire(case, s, now)
        try:
            with self.cases.engine.begin() as conn:
                self._claim(conn, s, now)
        except IntegrityError:
            return 0  # another replica got it
        try:
            if s.step == REMIND:
                self._remind(case, s)
            else:
                self._alert(case, s)
        except Exception:
            # Give the claim back so the next run tries again; never lose the reminder.
            self._give_back(s)
            log.exception("stall.%s_failed case_id=%s stage=%s", s.step, case.id, s.stage)
            return 0
        log.info("stall.%s case_id=%s stage=%s days=%s", s.step, case.id, s.stage, s.days)
        return 1

    def _who(self, case: CaseRecord) -> str:
        tier = self.decide.tier_for(case)
        return ", ".join(mention(a) for a in tier.approvers) or "the approvers in the policy file"

    def _remind(self, case: CaseRecord, s: StallStep) -> None:
        if not case.slack_ts:
            return  # no card to thread on: the alert still names it
        text = (f":hourglass: Return {WHAT_STALLS[s.stage]} for {s.days} d "
                f"(limit {self.rules.limit(s.stage)} d). Owner: {self._who(case)}.")
        self.gateway.post_message(case.slack_channel, thread_ts=case.slack_ts, blocks=None, text=text)

    def owner_channel(self, case: CaseRecord) -> str | None:
        # The owner channel: the escalation channel where one is set, else the review
        # channel, else the card's own channel.
        slack = self.policy.slack
        return slack.escalation_channel or slack.review_channel or case.slack_channel

    def _alert(self, case: CaseRecord, s: StallStep) -> None:
        channel = self.owner_channel(case)
        if channel is None:
            raise RuntimeError("no owner channel for the stall alert")
        link = ""
        if case.slack_channel and case.slack_ts:
            try:
                link = f" <{self.gateway.get_permalink(case.slack_channel, case.slack_ts)}|card>"
            except Exception:  # the alert matters more than its link
                log.warning("stall.permalink_failed case_id=%s", case.id)
        text = (f":rotating_light: Return {case.external_id} {WHAT_STALLS[s.stage]} for {s.days} d "
                f"(reminded after {self.rules.limit(s.stage)} d).{link} Owner: {self._who(case)}.")
        self.gateway.post_message(channel, blocks=None, text=text)

    def _expire(self, case: CaseRecord, s: StallStep, now: datetime) -> int:
        """Close an approved return never shipped: the claim, the action job and the audit
        row in one transaction, so it is queued once or not at all."""
        days = self.rules.expire_after_days
        note = f"Closed by returnsbot: approved {s.days} days ago and never shipped (expires after {days} days)."
        try:
            with self.cases.engine.begin() as conn:
                self._claim(conn, s, now)
                enqueue(conn, NewJob(
                    kind=Kind.ACTION, system=case.source, operation=str(Operation.CLOSE_RETURN),
                    payload={"return_id": case.external_id, "note": note},
                    case_id=case.id, order_key=order_key(case.id), seq=0,
                    idempotency_key=f"returnsbot:{case.source}:case-{case.id}:close_return"), now=now)
                conn.execute(insert(audit_log).values(
                    case_id=case.id, at=now, actor=actors.SLA, event="case.return_expired",
                    from_status=case.status.value, to_status=case.status.value,
                    detail={"stage": s.stage.value, "stage_at": s.stage_at.isoformat(), "days": s.days,
                            "expire_after_days": days, "note": note}))
        except IntegrityError:
            return 0  # another replica got it
        log.info("stall.expired case_id=%s days=%s", case.id, s.days)
        return 1


def stalled_rows(stages: StageSource, now: datetime, rules: StallRules) -> list[StallStep]:
    """The stalled returns now, from the stage source (the digest's list)."""
    rows: list[tuple[int, ReturnStage, datetime]] = []
    for stage in WATCHED:
        limit = rules.limit(stage)
        if limit is not None:
            rows += [(cid, stage, at) for cid, at in stages.in_stage(stage, before=now - timedelta(days=limit))]
    return stalled(rows, now, rules)


__all__: Sequence[str] = ("StallRules", "StallStep", "StallReport", "Stalls", "due_steps", "stalled",
                          "stalled_rows", "REMIND", "ALERT", "EXPIRE", "WATCHED")
