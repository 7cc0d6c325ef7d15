"""Group commit for clicks written on a request's critical path, before their ack.

Fifty people clicking at once would be fifty transactions queueing on one write lock (and
on SQLite, one writer at a time) before fifty acks. Instead the first caller to arrive
becomes the leader: it writes everything waiting by then in one transaction (one
multi-row insert), wakes the others it wrote, and repeats while more arrived meanwhile;
the others just wait for their row. Alone, a caller commits its own row with no hand-off.
A caller returns only once its row is committed, so a crash right after the ack still
loses nothing; a burst costs a few commits, not fifty.

What is written is a click intent (`bot.schema.click_intents`: the payload and its time),
not a job: the narrow table with one index costs a third of a `jobs` row's insert
(bench/README.md). The clicks lane moves intents into jobs (bot.jobs.click_intake).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Engine

from bot.clock import Clock
from bot.schema import click_intents

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    payload: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, engine: Engine, clock: Clock, *, max_batch: int = 200, timeout: float = 5.0,
                 on_committed: Callable[[], None] = lambda: None) -> None:
        self.engine = engine
        self.clock = clock
        self.max_batch = max_batch
        self.timeout = timeout  # how long a follower waits for its leader's commit
        self.on_committed = on_committed  # wakes the lane that moves and runs these clicks
        self._queue: list[_Waiting] = []
        self._lock = threading.Lock()
        self._leading = False
        self._raw = None  # SQLite: the driver connection the leader writes on

    def submit(self, payload: dict[str, Any]) -> None:
        """Return once the intent `payload` is committed; raise what the commit raised (or
        TimeoutError)."""
        waiting = _Waiting(payload)
        with self._lock:
            self._queue.append(waiting)
            lead = not self._leading
            self._leading = self._leading or lead
        if lead:
            self._lead()
        elif not waiting.done.wait(self.timeout):
            raise TimeoutError("the database did not commit the click in time")
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
                self._write([w.payload for w in batch])
            except Exception as exc:  # every caller in the batch is told; none is acked as saved
                log.exception("jobs.group_commit_failed", extra={"batch": len(batch)})
                for waiting in batch:
                    waiting.error = exc
            for waiting in batch:
                waiting.done.set()
            self.on_committed()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        now = self.clock()
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as conn:
                conn.execute(_INSERT, [{"payload": payload, "created_at": now} for payload in batch])
            return
        # SQLite, the embedded default: one multi-row INSERT straight at the driver on a
        # connection kept for it. Through SQLAlchemy the statement machinery cost ~4× the
        # write itself, on the path a person's click waits for (bench/ack.py).
        stamp = _stamp(now)  # a batch shares its time
        rows = [(json.dumps(payload), stamp) for payload in batch]
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


_INSERT = click_intents.insert()  # built once (PostgreSQL), values bound per batch
_SQLITE_INSERT = "INSERT INTO click_intents (payload, created_at) VALUES (?, ?)"


def _stamp(value: datetime) -> str:
    """`value` as SQLAlchemy binds a UtcDateTime on SQLite (naive UTC, its storage format);
    isoformat with a space and microseconds is strftime("%Y-%m-%d %H:%M:%S.%f"), faster."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
