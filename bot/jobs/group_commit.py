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

import json
import logging
import threading
from datetime import datetime, timezone
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
        self._raw = None  # SQLite: the driver connection the leader writes on

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
                self._write([w.job for w in batch])
            except Exception as exc:  # every caller in the batch is told; none is acked as saved
                log.exception("jobs.group_commit_failed", extra={"batch": len(batch)})
                for waiting in batch:
                    waiting.error = exc
            for waiting in batch:
                waiting.done.set()
            self.on_committed()

    def _write(self, batch: list[NewJob]) -> None:
        now = self.clock()
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as conn:
                conn.execute(jobs.insert(), [job_values(job, now) for job in batch])
            return
        # SQLite, the embedded default: one multi-row INSERT straight at the driver on a
        # connection kept for it. Through SQLAlchemy the statement machinery cost ~4× the
        # write itself, on the path a person's click waits for (bench/ack.py).
        stamps: dict[datetime, str] = {}  # a batch's rows share `now`: format it once
        rows = [_sqlite_row(job_values(job, now), stamps) for job in batch]
        if self._raw is None:
            self._raw = self.engine.raw_connection()
            # The commit that crosses WAL's checkpoint threshold copies the log into the
            # database and syncs it: milliseconds, on a click's ack. This connection leaves
            # checkpoints to the others (the workers' connections keep the default).
            self._raw.cursor().execute("PRAGMA wal_autocheckpoint=0")
        cursor = self._raw.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(_SQLITE_INSERT, rows)
            cursor.execute("COMMIT")
        except Exception:
            try:
                cursor.execute("ROLLBACK")
            except Exception:  # the connection is broken: the next batch opens another
                self._raw.invalidate() if hasattr(self._raw, "invalidate") else None
                self._raw = None
            raise
        finally:
            cursor.close()


_COLUMNS = ("kind", "system", "operation", "payload", "case_id", "order_key", "seq", "idempotency_key",
            "correlation_id", "status", "dead_reason", "last_error", "attempts", "token", "next_attempt_at",
            "created_at", "updated_at")
_SQLITE_INSERT = f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def _sqlite_row(values: dict, stamps: dict[datetime, str] | None = None) -> tuple:
    """The values as SQLAlchemy would bind them on SQLite: JSON text, naive-UTC timestamps
    in its storage format (bot.schema.UtcDateTime). `stamps` caches formatted timestamps
    across a batch (three per row, all the batch's `now`; strftime was a visible share of
    the leader's time in a profile of a click burst)."""
    if stamps is None:
        stamps = {}
    out = []
    for name in _COLUMNS:
        value = values[name]
        if name == "payload":
            value = json.dumps(value)
        elif isinstance(value, datetime):
            text = stamps.get(value)
            if text is None:
                text = stamps[value] = _stamp(value)
            value = text
        out.append(value)
    return tuple(out)


def _stamp(value: datetime) -> str:
    # isoformat with a space and microseconds is strftime("%Y-%m-%d %H:%M:%S.%f"), faster.
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
