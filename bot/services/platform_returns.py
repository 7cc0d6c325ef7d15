"""A return a returns platform owns (Loop), after the card: following it to the end.

- The platform's later reports of the return (`update`): the case keeps how the platform
  holds it (review / flagged / open, `external_status`); the same return first reported
  by the store is handed over to the platform while nobody decided it; and an approval
  that waits on the platform is carried out when it becomes due — no second click:
  - approved while in the platform's review queue (its API can't accept it): processed
    when the platform opens it (and `refund_on = "approval"`);
  - approved with `refund_on = "receipt"`: processed once the items are back (`on_stage`:
    the label delivered, or restocked).
- The platform's processing failed (`failed`): the queued processing job is buried with the
  platform's message, so the case shows it with Retry.
Queuing is one compare-and-set with the job (keyed per case: once).
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.actors import EXTERNAL
from bot.clock import Clock
from bot.jobs.errors import RetryLater
from bot.jobs.kinds import Kind
from bot.services.effects import platform_process_op, refund_on_for_case
from bot.store import CaseRecord, CaseRepo
from bot.store.jobs import JobRepo, JobStatus
from policy.config import Policy, RefundOn
from policy.lifecycle import ReturnStage, StageUpdate
from policy.models import CaseKind, CaseStatus, DomainEvent, ReturnPlatform
from policy.ports import Operation

log = logging.getLogger(__name__)

BACK = (ReturnStage.DELIVERED_BACK, ReturnStage.RECEIVED)  # the items are back: refund on receipt
WHEN_OPEN, ON_RECEIPT = "when_open", "on_receipt"  # what an approval waits for (decision detail "process")


class PlatformReturns:
    def __init__(self, *, cases: CaseRepo, jobs: JobRepo, policy: Policy, clock: Clock,
                 on_case_changed: Callable[[CaseRecord], None] = lambda case: None,
                 on_outbox: Callable[[], None] = lambda: None,
                 on_dead: Callable[..., None] = lambda job, reason: None) -> None:
        self.cases = cases
        self.jobs = jobs
        self.policy = policy
        self.clock = clock
        self.on_case_changed = on_case_changed
        self.on_outbox = on_outbox
        self.on_dead = on_dead  # ActionJobs.on_dead: the case fails with the reason, and offers Retry

    # --- the platform's view of the return --------------------------------------------

    def update(self, case: CaseRecord, platform: ReturnPlatform, ref: str) -> CaseRecord:
        """The platform reported the return again (`ref`: its id for it)."""
        if case.decided_in != platform.system:
            handed = self.cases.hand_over(case.id, owner=platform.system, owner_ref=ref, at=self.clock())
            if handed is None:  # decided already, in the store: the store's decision stands
                return case
            case = handed.case
        if case.external_status != platform.state:
            res = self.cases.transition(case.id, expected=case.status, expected_version=case.version, to=case.status,
                                        actor=EXTERNAL, at=self.clock(), event="case.platform_state",
                                        detail={"state": platform.state}, extra={"external_status": platform.state})
            if res.ok:
                case = res.case
                self.on_case_changed(case)
        if platform.state == "open" and self._waiting(case) == WHEN_OPEN and self._refund_on(case) is RefundOn.APPROVAL:
            case = self._queue_process(case, why="opened in the platform") or case
        return case

    def on_stage(self, case: CaseRecord, update: StageUpdate) -> CaseRecord:
        """A stage of a platform-owned return: the items back → an approval waiting for them
        is processed now."""
        if update.stage in BACK and case.external_status != "review" and self._waiting(case) is not None:
            return self._queue_process(case, why=f"{update.stage.value.replace('_', ' ')}") or case
        return case

    def failed(self, event: DomainEvent) -> CaseRecord | None:
        """The platform could not process the return: the waiting job dies with its message."""
        case = self.cases.find(event.source, event.resource_id, CaseKind.RETURN_REQUEST)
        if case is None:
            return None
        message = str(event.detail.get("message") or "no reason given")
        for job in self.jobs.for_case(case.id, kind=Kind.ACTION.value):
            if job.operation == Operation.PROCESS_RETURN.value and job.status in (JobStatus.PENDING.value,
                                                                                  JobStatus.RUNNING.value):
                reason = f"the platform could not process it: {message}"
                if not self.jobs.bury_waiting(job, now=self.clock(), reason=reason):
                    # It is checking on the platform right now: this delivery is retried.
                    raise RetryLater(f"case {case.id}: the processing job is running; trying again", retry_after=5)
                self.on_dead(job, reason)
        return self.cases.get(case.id)

    # --- internals -------------------------------------------------------------------------

    def _waiting(self, case: CaseRecord) -> str | None:
        """What the approval waits for before processing, while nothing was queued yet."""
        if case.status not in (CaseStatus.DONE, CaseStatus.APPROVED, CaseStatus.EXECUTING) or \
                case.decided_action in (None, "deny"):
            return None
        if any(j.operation == Operation.PROCESS_RETURN.value for j in self.jobs.for_case(case.id, kind=Kind.ACTION.value)):
            return None
        for d in reversed(self.cases.decisions(case.id)):
            detail = d.get("detail") or {}
            if detail.get("process") in (WHEN_OPEN, ON_RECEIPT):
                return detail["process"]
        return None

    def _refund_on(self, case: CaseRecord) -> RefundOn:
        return RefundOn(refund_on_for_case(case, self.policy, cases=self.cases))

    def _queue_process(self, case: CaseRecord, *, why: str) -> CaseRecord | None:
        res = self.cases.transition(case.id, expected=(CaseStatus.DONE, CaseStatus.APPROVED, CaseStatus.EXECUTING),
                                    to=CaseStatus.APPROVED, actor=EXTERNAL, at=self.clock(),
                                    event="case.process_queued", detail={"why": why}, ops=[platform_process_op(case)])
        if not res.ok:
            return None
        log.info("platform.process_queued case_id=%s why=%s", case.id, why)
        self.on_outbox()
        self.on_case_changed(res.case)
        return res.case
