"""Catch-up pollers: find what the webhooks missed, from a stored cursor.

A poll never stops at one bad item: an item the source could not map is parked as a dead
`ingest` job (an operator sees it in `returnsbot jobs`), an event whose ingest fails is
queued as an `ingest` job with the runner's retries, and the cursor moves past both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Engine

from bot.clock import Clock
from bot.jobs.errors import Permanent
from bot.jobs.kinds import Kind
from bot.jobs.runner import Done
from bot.services.ingest import IngestService, Outcome
from bot.store import OpsRepo
from bot.store.jobs import Job, NewJob, enqueue
from policy.models import DomainEvent
from policy.ports import IntegrationError, NotFound, PollPage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollReport:
    name: str
    seen: int
    created: int
    error: str | None = None
    queued: int = 0  # events left to the ingest jobs (their ingest failed this time)
    parked: int = 0  # items the source could not map


def ingest_job(event: DomainEvent, *, error: str | None = None) -> NewJob:
    return NewJob(kind=Kind.INGEST, system=event.source, operation=event.kind.value,
                  payload={"event": event.model_dump(mode="json")},
                  idempotency_key=f"ingest:{event.source}:{event.kind.value}:{event.resource_id}",
                  dead_reason=error)


class Poller:
    def __init__(self, *, name: str, fetch: Callable[[str | None], PollPage], ingest: IngestService,
                 ops: OpsRepo, clock: Clock, engine: Engine) -> None:
        self.name = name
        self.fetch = fetch
        self.ingest = ingest
        self.ops = ops
        self.clock = clock
        self.engine = engine

    def run_once(self) -> PollReport:
        """One poll. Never raises: a failure is recorded in health and in the report."""
        cursor = self.ops.cursor(self.name)
        try:
            page = self.fetch(cursor)
        except Exception as exc:  # noqa: BLE001 - one poller's failure must not stop the others
            error = str(exc) if isinstance(exc, IntegrationError) else f"{type(exc).__name__}: {exc}"
            self.ops.record_failure(self.name, at=self.clock(), error=error)
            log.warning("poller.failed", extra={"poller": self.name, "error": error},
                        exc_info=not isinstance(exc, IntegrationError))
            return PollReport(self.name, 0, 0, error)
        created, later = 0, []
        for event in page.events:
            try:
                result = self.ingest.ingest(event)
            except NotFound as exc:
                log.warning("poller.not_found", extra={"poller": self.name, "resource": event.resource_id,
                                                       "error": str(exc)})
                continue
            except Exception as exc:  # noqa: BLE001 - left to an ingest job and its retries
                later.append((event, exc))
                continue
            created += result.outcome is Outcome.CREATED
        now = self.clock()
        with self.engine.begin() as conn:  # the jobs and the new cursor commit together
            for event, exc in later:
                enqueue(conn, ingest_job(event), now=now)
            for item in page.unmapped:
                enqueue(conn, NewJob(kind=Kind.INGEST, system=self.name.split(".")[0], operation="unmapped",
                                     payload={"poller": self.name, "ref": item.ref},
                                     idempotency_key=f"parked:{self.name}:{item.ref}",
                                     dead_reason=f"could not map {item.ref}: {item.error}"), now=now)
            self.ops.set_cursor(self.name, page.cursor, at=now, conn=conn)
        if later:
            self.ops.record_failure(self.name, at=now, error=f"{len(later)} event(s) left for retry: {later[0][1]}")
        else:
            self.ops.record_success(self.name, at=now)
        log.info("poller.ran", extra={"poller": self.name, "seen": len(page.events), "new_cases": created,
                                      "queued": len(later), "parked": len(page.unmapped)})
        return PollReport(self.name, len(page.events), created, queued=len(later), parked=len(page.unmapped))


class PollJobs:
    """Runs `poll` jobs (one per poller per period, whichever replica claims it)."""

    records_health = True  # the poller keeps its own health row

    def __init__(self, pollers: list[Poller]) -> None:
        self.pollers = {p.name: p for p in pollers}

    def run(self, job: Job) -> Done:
        poller = self.pollers.get(job.payload["poller"])
        if poller is None:
            raise Permanent(f"no poller {job.payload['poller']!r}")
        r = poller.run_once()
        return Done(r.error or f"{r.seen} seen, {r.created} new, {r.queued} queued, {r.parked} parked")


class IngestJobs:
    """Runs `ingest` jobs: an event a poll found whose ingest failed the first time."""

    def __init__(self, ingest: IngestService) -> None:
        self.ingest = ingest

    def run(self, job: Job) -> Done:
        if "event" not in job.payload:
            raise Permanent("nothing to ingest: this item could not be mapped")
        event = DomainEvent.model_validate(job.payload["event"])
        try:
            return Done(self.ingest.ingest(event).outcome.value)
        except NotFound as exc:
            raise Permanent(f"not found: {exc}") from exc


class PeriodicJobs:
    """Runs `periodic` jobs: named functions, once per period across replicas."""

    def __init__(self, tasks: dict[str, Callable[[], object]]) -> None:
        self.tasks = tasks

    def run(self, job: Job) -> Done:
        task = self.tasks.get(job.operation)
        if task is None:
            raise Permanent(f"no periodic task {job.operation!r}")
        result = task()
        return Done(None if result is None else str(result))
