"""SLA reminders: an open case past `[sla] remind_after_hours` gets one reminder in its
card's thread; past `escalate_after_hours` it is escalated to the next tier (a card in the
escalation channel, linked from the thread), like a person pressing Escalate.

Each step is claimed in the database first (`reminded_at` set only where it is still
null; escalation is the status compare-and-set), so with several replicas a case is
reminded once and escalated once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, select, update

from blocks.format import mention
from bot import actors
from bot.clock import Clock
from bot.schema import cases
from bot.services.decide import DecideService, DecisionRefused
from bot.store import CaseRecord, CaseRepo
from policy.config import Policy
from policy.models import CaseStatus

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class ReminderReport:
    reminded: int
    escalated: int


class Reminders:
    def __init__(self, *, cases: CaseRepo, decide: DecideService, gateway, policy: Policy, clock: Clock) -> None:
        self.cases = cases
        self.decide = decide
        self.gateway = gateway
        self.policy = policy
        self.clock = clock

    def run_once(self) -> ReminderReport:
        now = self.clock()
        sla = self.policy.sla
        reminded = sum(self._remind(c, now) for c in self._due(now - timedelta(hours=sla.remind_after_hours),
                                                               cases.c.reminded_at))
        escalated = sum(self._escalate(c, now) for c in self._due(now - timedelta(hours=sla.escalate_after_hours),
                                                                  cases.c.sla_escalated_at))
        return ReminderReport(reminded, escalated)

    def _due(self, opened_before, marker) -> list[CaseRecord]:
        stmt = (
            select(cases)
            .where(cases.c.status == CaseStatus.OPEN.value, cases.c.opened_at <= opened_before,
                   cases.c.slack_ts.is_not(None), marker.is_(None))
            .order_by(cases.c.opened_at)
            .limit(100)
        )
        with self.cases.engine.connect() as conn:
            return [CaseRecord.from_row(r) for r in conn.execute(stmt)]

    def _claim(self, case_id: int, marker, now) -> bool:
        with self.cases.engine.begin() as conn:
            return conn.execute(
                update(cases).where(and_(cases.c.id == case_id, marker.is_(None))).values({marker.key: now})
            ).rowcount == 1

    def _remind(self, case: CaseRecord, now) -> int:
        if not self._claim(case.id, cases.c.reminded_at, now):
            return 0  # another replica got it
        tier = self.decide.tier_for(case)
        waiting = int((now - case.opened_at).total_seconds() // 3600)
        who = ", ".join(mention(a) for a in tier.approvers) or "the approvers in the policy file"
        text = (f":alarm_clock: Waiting for a decision for {waiting} h (reminder after "
                f"{self.policy.sla.remind_after_hours} h). Tier {tier.index + 1}: {who}.")
        try:
            self.gateway.post_message(case.slack_channel, thread_ts=case.slack_ts, blocks=None, text=text)
        except Exception:
            # Give the claim back so the next run tries again; never lose the reminder.
            with self.cases.engine.begin() as conn:
                conn.execute(update(cases).where(cases.c.id == case.id).values(reminded_at=None))
            log.exception("sla.remind_failed case_id=%s", case.id)
            return 0
        log.info("sla.reminded case_id=%s waiting_h=%s", case.id, waiting)
        return 1

    def _escalate(self, case: CaseRecord, now) -> int:
        hours = self.policy.sla.escalate_after_hours
        try:
            self.decide.escalate(case.id, actors.SLA, f"No decision after {hours} h (SLA).",
                                 extra={"sla_escalated_at": now})
        except DecisionRefused:
            return 0  # decided or escalated meanwhile
        log.info("sla.escalated case_id=%s", case.id)
        return 1
