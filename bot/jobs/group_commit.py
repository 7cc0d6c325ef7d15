"""Group commit for jobs written on a request's critical path (a click, before its ack).

Fifty people clicking at once would be fifty transactions queueing on one write lock (and
on SQLite, one writer at a time) before fifty acks. Instead each caller hands its job to a
committer thread and waits; the committer writes everything that is waiting in one
transaction and wakes them all. A caller returns only once its row is committed, so a
crash right after the ack still loses nothing; a burst costs a few commits, not fifty.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Engine

from bot.clock import Clock
from bot.store.jobs import NewJob, enqueue

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    job: NewJob
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, engine: Engine, clock: Clock, *, max_batch: int = 200, timeout: float = 5.0,
                 on_committed: Callable[[], None] = lambda: None) -> None:
        self.engine = engine
        self.clock = clock
        self.max_batch = max_batch
        self.timeout = timeout  # how long a caller waits for its commit before giving up
        self.on_committed = on_committed  # wakes the lane that runs these jobs
        self._queue: list[_Waiting] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, job: NewJob) -> None:
        """Return once `job` is committed; raise what the commit raised (or TimeoutError)."""
        waiting = _Waiting(job)
        with self._cond:
            self._queue.append(waiting)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._cond.notify()
        if not waiting.done.wait(self.timeout):
            raise TimeoutError("the database did not commit the job in time")
        if waiting.error is not None:
            raise waiting.error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
            try:
                now = self.clock()
                with self.engine.begin() as conn:
                    for waiting in batch:
                        enqueue(conn, waiting.job, now=now)
            except Exception as exc:  # every caller in the batch is told; none is acked as saved
                log.exception("jobs.group_commit_failed", extra={"batch": len(batch)})
                for waiting in batch:
                    waiting.error = exc
            for waiting in batch:
                waiting.done.set()
            self.on_committed()
