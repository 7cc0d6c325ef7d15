"""Click intents → click jobs: the clicks lane's first step.

The ack path commits a click as an intent (bot.jobs.group_commit); this moves intents into
`click` jobs, oldest first, each batch in one transaction that inserts the jobs and deletes
the intents it read — so a click is one job whatever crashes, and a kill mid-move leaves
the intents for the next move. Several replicas may move at once: on PostgreSQL one at a
time takes the move (a transaction-scoped advisory lock; the others skip it, keeping the
jobs in arrival order), and a delete that finds fewer intents than it read rolls the batch
back, so even two movers can't make one click two jobs. SQLite has one writer at a time.

An intent that is not a click (a payload this version can't read) becomes a job born dead,
for an operator; one naming a case that doesn't exist becomes a job without the case (its
click is refused when it runs). Neither stops the clicks around it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Engine, delete, select, text

from bot.clock import Clock
from bot.schema import cases, click_intents
from bot.store.jobs import NewJob, enqueue

log = logging.getLogger(__name__)

# pg_try_advisory_xact_lock's key: "click intake", one per database.
_PG_LOCK = 0x636C6B69
_PG_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=_PG_LOCK)


class ClickIntake:
    """`feed()` before each claim of the clicks lane: moves the waiting intents, if any may
    be waiting. `nudge()` (the group commit's, after each commit) says some are; without a
    nudge it still looks every `sweep` seconds, for intents another replica committed and
    left behind (it died before moving them)."""

    def __init__(self, engine: Engine, clock: Clock, to_job: Callable[[Any, datetime], NewJob], *,
                 batch: int = 500, sweep: float = 1.0) -> None:
        self.engine = engine
        self.clock = clock
        self.to_job = to_job  # an intent's payload and arrival → its job (bot.services.clicks.click_job)
        self.batch = batch
        self.sweep = sweep
        self._nudged = threading.Event()
        self._nudged.set()  # at start: whatever a crash left
        self._looked = 0.0

    def nudge(self) -> None:
        self._nudged.set()

    def feed(self) -> int:
        if not self._nudged.is_set() and time.monotonic() - self._looked < self.sweep:
            return 0
        self._nudged.clear()  # before the move: a commit during it nudges again
        self._looked = time.monotonic()
        moved = 0
        try:
            while n := self.move():
                moved += n
        except IntakeRace as exc:  # nothing was moved twice; the next step moves the rest
            log.warning("clicks.intake_race %s", exc)
            self._nudged.set()
        except Exception:  # the database blinked: the intents wait, the next step retries
            self._nudged.set()
            raise
        return moved

    def move(self) -> int:
        """Move one batch of intents into jobs; how many were moved (0: none waiting, or
        another replica is moving them)."""
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql" and not conn.execute(_PG_TRY_LOCK).scalar():
                return 0
            rows = conn.execute(select(click_intents.c.id, click_intents.c.payload, click_intents.c.created_at)
                                .order_by(click_intents.c.id).limit(self.batch)).all()
            if not rows:
                return 0
            new = [self.to_job(row.payload, row.created_at) for row in rows]  # never raises: see to_job
            named = {job.case_id for job in new if job.case_id is not None}
            known = set(conn.execute(select(cases.c.id).where(cases.c.id.in_(named))).scalars()) if named else set()
            now = self.clock()
            for job in new:
                enqueue(conn, job if job.case_id in known or job.case_id is None else replace(job, case_id=None),
                        now=now)
            ids = [row.id for row in rows]
            gone = conn.execute(delete(click_intents).where(click_intents.c.id.in_(ids))).rowcount
            if gone != len(ids):  # another mover took some meanwhile: theirs, so none of ours
                raise IntakeRace(f"{len(ids) - gone} of {len(ids)} click intents were moved by another replica")
            return len(rows)


class IntakeRace(RuntimeError):
    """Two movers read the same intents; the batch was rolled back, the next move retries."""
