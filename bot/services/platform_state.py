"""How a returns platform (Loop) holds a return it owns, in one word, for `/order`:
review / flagged / open (as the platform last reported it, the case's `external_status`),
processing (our processing request is queued there: its job is still checking back),
processed / closed / cancelled (the return's stage once the platform finished it)."""

from __future__ import annotations

from bot.jobs.kinds import Kind
from bot.store import CaseRecord
from bot.store.jobs import JobRepo, JobStatus
from policy.lifecycle import ReturnStage
from policy.ports import Operation

_FINISHED = {ReturnStage.PROCESSED: "processed", ReturnStage.CLOSED: "closed", ReturnStage.CANCELLED: "cancelled"}
_WAITING = (JobStatus.PENDING.value, JobStatus.RUNNING.value)


def platform_state(case: CaseRecord, jobs: JobRepo | None) -> str:
    if case.stage in _FINISHED:
        return _FINISHED[case.stage]
    if jobs is not None and any(j.operation == Operation.PROCESS_RETURN.value and j.status in _WAITING
                                for j in jobs.for_case(case.id, kind=Kind.ACTION.value)):
        return "processing"
    return case.external_status or "open"
