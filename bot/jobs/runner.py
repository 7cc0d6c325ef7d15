"""The one job runner: claim → run the kind's handler while renewing the lease → complete,
retry later, or bury — the same discipline for every kind of background work.

Failures, by what they say about trying again:
- `RetryLater` (and a retryable `IntegrationError`): back off exponentially, honouring the
  vendor's Retry-After, until the retry budget (hours, from the first failure) is spent;
  then the job is dead, with the reason.
- `Permanent` (and `NotFound`, a non-retryable `IntegrationError`): dead at once.
- Anything else is a bug or a poison input: it counts as an attempt, and after a few the
  job is dead — never an endless loop.
Every failure is recorded in integration health under the job's system; a success clears it.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable, Protocol

from bot.clock import Clock
from bot.jobs.errors import Permanent, RetryLater
from bot.logging_setup import log_context
from bot.store.jobs import Job, JobRepo
from bot.store.ops import OpsRepo
from policy.ports import IntegrationError, NotFound, Underway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """What a handler reports when a job succeeded (kept on the row, shown to operators)."""

    summary: str | None = None
    external_id: str | None = None


class Handler(Protocol):
    """Runs one kind of job. Optional hooks: `after_done(job)` once the job is recorded done,
    `on_dead(job, reason)` once it is buried; `records_health = True` when the handler
    keeps integration health itself."""

    def run(self, job: Job) -> Done | None: ...


@dataclass(frozen=True)
class RetryPolicy:
    budget: timedelta = timedelta(hours=24)  # from a job's first failure to its burial
    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=10)  # the longest wait between two attempts
    unexpected_attempts: int = 3  # a bug: a few tries (it may be a passing state), then dead

    def delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        backoff = min(self.cap, self.base * (2 ** max(attempts - 1, 0)))
        backoff = backoff * (1 + random.random() / 4)  # replicas don't retry in lockstep
        if retry_after is not None:
            backoff = max(backoff, timedelta(seconds=retry_after))
        return backoff


class JobRunner:
    """Runs jobs of the given kinds. `run_once` is one claim; a Worker thread loops it."""

    def __init__(self, *, repo: JobRepo, ops: OpsRepo, clock: Clock, handlers: dict[str, Handler],
                 holder: str, lease: timedelta = timedelta(seconds=30), retry: RetryPolicy = RetryPolicy(),
                 kinds: Iterable[str] | None = None, on_finished: Callable[[Job], None] = lambda job: None,
                 on_failure: Callable[[Job, Exception], None] = lambda job, exc: None,
                 feed: Callable[[], object] | None = None) -> None:
        self.repo = repo
        self.ops = ops
        self.clock = clock
        self.handlers = handlers
        self.holder = holder
        self.lease = lease
        self.retry = retry
        self.kinds = list(kinds) if kinds is not None else list(handlers)
        self.on_finished = on_finished
        self.on_failure = on_failure  # metrics: vendor errors by system and code
        self.feed = feed  # before each claim: work queued outside the jobs table moves in (click intents)
        self._held: dict[int, int] = {}  # job id -> token, renewed by the heartbeat
        self._lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()

    # --- the loop ---------------------------------------------------------------------

    def run_once(self, limit: int = 1) -> int:
        if self.feed is not None:
            self.feed()
        jobs = self.repo.claim(now=self.clock(), holder=self.holder, lease=self.lease, limit=limit, kinds=self.kinds)
        for job in jobs:  # held (and renewed) from the claim on, also while waiting their turn
            self._hold(job)
        for job in jobs:
            self.execute(job)
        return len(jobs)

    def drain(self, max_jobs: int = 10_000) -> int:
        """Run until nothing is due (tests, `poll`, and the demo)."""
        done = 0
        while done < max_jobs and (n := self.run_once(limit=10)):
            done += n
        return done

    def execute(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        fields = {"correlation_id": job.correlation_id, "case_id": job.case_id, "job_id": job.id, "job_kind": job.kind}
        with log_context(**{k: v for k, v in fields.items() if v is not None}):
            self._hold(job)
            try:
                result = handler.run(job)
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                self._failed(job, exc)
                return
            finally:
                self._release(job)
            now = self.clock()
            result = result or Done()
            if not self.repo.complete(job, now=now, summary=result.summary, external_id=result.external_id):
                log.warning("job.lease_lost", extra={"job_id": job.id, "kind": job.kind})
                return
            if not getattr(handler, "records_health", False):
                self.ops.record_success(job.system, at=now)
            log.debug("job.done", extra={"job_id": job.id, "kind": job.kind, "op": job.operation})
            if hasattr(handler, "after_done"):
                try:
                    handler.after_done(job)
                except Exception:  # the job is done; what follows it is retried by its own means
                    log.exception("job.after_done_failed", extra={"job_id": job.id, "kind": job.kind})
            self.on_finished(job)

    # --- failures ---------------------------------------------------------------------

    def _failed(self, job: Job, exc: Exception) -> None:
        now = self.clock()
        if isinstance(exc, Underway):
            self._check_back(job, exc, now)
            return
        error = _describe(exc)
        self.on_failure(job, exc)
        self.ops.record_failure(job.system, at=now, error=f"{job.kind} {job.operation}: {error}")
        retry_after, permanent = _classify(exc)
        if not permanent and retry_after is False:  # unexpected: a bug or a poison input
            log.error("job.crashed", exc_info=exc,
                      extra={"job_id": job.id, "kind": job.kind, "op": job.operation, "attempt": job.attempts})
            if job.attempts >= self.retry.unexpected_attempts:
                self._bury(job, f"failed {job.attempts} times unexpectedly: {error}")
                return
            retry_after = None
        elif permanent:
            self._bury(job, error)
            return
        started = job.budget_started_at or now
        at = now + self.retry.delay(job.attempts, retry_after)
        if at - started > self.retry.budget:
            hours = self.retry.budget.total_seconds() / 3600
            self._bury(job, f"still failing after {job.attempts} attempts over {hours:g} h: {error}")
            return
        if self.repo.retry_later(job, now=now, at=at, error=error):
            log.warning("job.retry", extra={"job_id": job.id, "kind": job.kind, "op": job.operation,
                                             "attempt": job.attempts, "at": at.isoformat(), "error": error})
            self.on_finished(job)

    def _check_back(self, job: Job, exc: Underway, now) -> None:
        """The vendor is doing the work: look again later. Not a failure (no health record,
        no failure count), but bounded by the same budget: work that never finishes dies."""
        started = job.budget_started_at or now
        at = now + timedelta(seconds=exc.retry_after or 60)
        if at - started > self.retry.budget:
            hours = self.retry.budget.total_seconds() / 3600
            self._bury(job, f"not finished after {hours:g} h: {exc}")
            return
        if self.repo.retry_later(job, now=now, at=at, error=str(exc)):
            log.info("job.underway", extra={"job_id": job.id, "kind": job.kind, "op": job.operation,
                                            "at": at.isoformat()})
            self.on_finished(job)

    def _bury(self, job: Job, reason: str) -> None:
        if not self.repo.bury(job, now=self.clock(), reason=reason):
            log.warning("job.lease_lost", extra={"job_id": job.id, "kind": job.kind})
            return
        log.error("job.dead", extra={"job_id": job.id, "kind": job.kind, "op": job.operation, "reason": reason})
        hook = self.handlers.get(job.kind)
        if hasattr(hook, "on_dead"):
            try:
                hook.on_dead(job, reason)  # type: ignore[union-attr]
            except Exception:  # the job is already dead; its hook failing must not loop
                log.exception("job.on_dead_failed", extra={"job_id": job.id, "kind": job.kind})
        self.on_finished(job)

    # --- leases: renewed while a handler runs, so a long vendor call keeps its claim ----

    def _hold(self, job: Job) -> None:
        with self._lock:
            self._held[job.id] = job.token
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name=f"lease-{self.holder}", daemon=True)
                self._heartbeat.start()

    def _release(self, job: Job) -> None:
        with self._lock:
            self._held.pop(job.id, None)

    def _beat(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            with self._lock:
                held = list(self._held.items())
            if not held:
                continue
            try:
                kept = self.repo.renew(held, now=self.clock(), lease=self.lease)
            except Exception:  # the database blinked: the next beat tries again
                log.exception("job.renew_failed")
                continue
            with self._lock:  # a job that finished meanwhile wasn't lost, just done
                lost = [job_id for job_id, _ in held if job_id not in kept and job_id in self._held]
            for job_id in lost:
                log.warning("job.lease_lost", extra={"job_id": job_id, "while": "renewing"})

    def stop(self) -> None:
        self._stop.set()


def _classify(exc: Exception) -> tuple[float | None | bool, bool]:
    """(retry_after seconds | None | False for "unexpected", permanent?)."""
    if isinstance(exc, Permanent | NotFound):
        return None, True
    if isinstance(exc, RetryLater):
        return exc.retry_after, False
    if isinstance(exc, IntegrationError):
        return getattr(exc, "retry_after", None), not exc.retryable
    return False, False


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, Permanent | RetryLater | IntegrationError | NotFound):
        text = f"{type(exc).__name__}: {text}"
    return text[:2000]
