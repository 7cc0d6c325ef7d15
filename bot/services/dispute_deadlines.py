"""Reminders before a dispute's evidence is due: at each `[disputes] remind_before_hours`
mark (72 h and 24 h by default), one reminder in the card's thread naming who has it (the
assignee, else the approvers of its tier); at the last mark the assignee also gets a DM.

Which marks are due is `policy.disputes.reminders_due` (pure). Each is claimed in the
`return_stall_reminders` ledger (stage "dispute", step "due-<h>h") before it is posted, so
with several replicas a reminder goes out once; a failed post gives its claim back. Only
undecided disputes are reminded: a decided one has nothing left to do before the date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from blocks.dispute import countdown
from blocks.format import mention, slack_date
from bot.clock import Clock
from bot.schema import cases, return_stall_reminders
from bot.store import CaseRecord, CaseRepo
from policy.config import Policy
from policy.disputes import reminders_due
from policy.models import CaseKind, CaseStatus

log = logging.getLogger(__name__)

STAGE = "dispute"  # the ledger's stage for these steps


def step_name(hours: int) -> str:
    return f"due-{hours}h"


@dataclass(frozen=True)
class DeadlineReport:
    reminded: int = 0


class DisputeDeadlines:
    def __init__(self, *, cases: CaseRepo, decide, gateway, policy: Policy, clock: Clock) -> None:
        self.cases = cases
        self.decide = decide
        self.gateway = gateway
        self.policy = policy
        self.clock = clock

    def run_once(self) -> DeadlineReport:
        now = self.clock()
        marks = tuple(self.policy.disputes.remind_before_hours)
        if not marks:
            return DeadlineReport()
        due = self._due(now, max(marks))
        done = self._done({c.id for c in due})
        sent = 0
        for case in due:
            pending = [h for h in reminders_due(case.due_at, now, marks) if (case.id, step_name(h)) not in done]
            if pending:
                # One reminder, for the nearest mark passed; a late start that passed two marks
                # claims both with it rather than posting twice.
                sent += self._remind(case, min(pending), pending, now, last=min(pending) == min(marks))
        return DeadlineReport(reminded=sent)

    def _due(self, now: datetime, hours: int) -> list[CaseRecord]:
        c = cases.c
        with self.cases.engine.connect() as conn:
            rows = conn.execute(select(cases).where(
                c.kind == CaseKind.DISPUTE.value, c.status.in_([CaseStatus.OPEN.value, CaseStatus.ESCALATED.value]),
                c.due_at.is_not(None), c.due_at > now, c.due_at <= now + timedelta(hours=hours),
            ).order_by(c.due_at)).all()
        return [CaseRecord.from_row(r) for r in rows]

    def _done(self, case_ids: set[int]) -> set[tuple[int, str]]:
        if not case_ids:
            return set()
        t = return_stall_reminders
        with self.cases.engine.connect() as conn:
            return {(r.case_id, r.step) for r in conn.execute(
                select(t.c.case_id, t.c.step).where(t.c.case_id.in_(sorted(case_ids)), t.c.stage == STAGE))}

    def _remind(self, case: CaseRecord, hours: int, pending: list[int], now: datetime, *, last: bool) -> int:
        steps = [step_name(h) for h in pending]
        try:
            with self.cases.engine.begin() as conn:
                for step in steps:
                    conn.execute(insert(return_stall_reminders).values(
                        case_id=case.id, stage=STAGE, step=step, stage_at=case.due_at, claimed_at=now))
        except IntegrityError:
            return 0  # another replica got it
        try:
            text = (f":alarm_clock: Evidence for this dispute is due {slack_date(case.due_at)} "
                    f"({countdown(case.due_at, now)}). {self._who(case)}: submit it or accept the loss from the card.")
            if case.slack_ts:
                self.gateway.post_message(case.slack_channel, thread_ts=case.slack_ts, blocks=None, text=text)
            if last and case.assignee:
                self.gateway.post_message(case.assignee, blocks=None, text=text.replace(
                    "this dispute", f"the {case.order_name or 'order'} dispute"))
        except Exception:
            self._give_back(case.id, steps)
            log.exception("dispute.reminder_failed case_id=%s hours=%s", case.id, hours)
            return 0
        log.info("dispute.reminded case_id=%s hours=%s", case.id, hours)
        return 1

    def _who(self, case: CaseRecord) -> str:
        if case.assignee:
            return mention(case.assignee)
        tier = self.decide.tier_for(case)
        return ", ".join(mention(a) for a in tier.approvers) or "The approvers in the policy file"

    def _give_back(self, case_id: int, steps: list[str]) -> None:
        t = return_stall_reminders
        with self.cases.engine.begin() as conn:
            conn.execute(delete(t).where(and_(t.c.case_id == case_id, t.c.stage == STAGE, t.c.step.in_(steps))))
