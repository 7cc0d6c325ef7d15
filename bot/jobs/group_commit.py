"""Group commit for jobs written on a request's critical path (a click, before its ack).

Fifty people clicking at once would be fifty transactions queueing on one write lock (and
on SQLite, one writer at a time) before fifty acks. Instead the first caller to arrive
becomes the leader: it writes everything waiting by then in one transaction (one
multi-row insert), wakes the others it wrote, and repeats while more arrived meanwhile;
the others just wait for their row. Alone, a caller commits its own row with no hand-off.
A caller returns only once its row is committed, so a crash right after the ack still
loses nothing; a burst costs a few commits, not fifty.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Engine

from bot.clock import Clock
from bot.schema import jobs
from bot.store.jobs import NewJob, job_values

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
        self.timeout = timeout  # how long a follower waits for its leader's commit
        self.on_committed = on_committed  # wakes the lane that runs these jobs
        self._queue: list[_Waiting] = []
        self._lock = threading.Lock()
        self._leading = False

    def submit(self, job: NewJob) -> None:
        """Return once `job` is committed; raise what the commit raised (or TimeoutError)."""
        waiting = _Waiting(job)
        with self._lock:
            self._queue.append(waiting)
            lead = not self._leading
            self._leading = self._leading or lead
        if lead:
            self._lead()
        elif not waiting.done.wait(self.timeout):
            raise TimeoutError("the database did not commit the job in time")
        if waiting.error is not None:
            raise waiting.error

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
                if not batch:
                    self._leading = False
                    return
            try:
                now = self.clock()
                with self.engine.begin() as conn:
                    conn.execute(jobs.insert(), [job_values(w.job, now) for w in batch])
            except Exception as exc:  # every caller in the batch is told; none is acked as saved
                log.exception("jobs.group_commit_failed", extra={"batch": len(batch)})
                for waiting in batch:
                    waiting.error = exc
            for waiting in batch:
                waiting.done.set()
            self.on_committed()
