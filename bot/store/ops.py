"""Operational state: poller cursors and integration health."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from bot.schema import integration_health, poller_cursors
from bot.store.sql import upsert


@dataclass(frozen=True)
class Health:
    system: str
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int

    @property
    def ok(self) -> bool:
        return self.consecutive_failures == 0


# A healthy system's success is written at most this often per process: every job succeeding
# would otherwise add a write per job. A failure is always written at once.
SUCCESS_WRITE_EVERY = timedelta(seconds=30)


class OpsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._written_ok: dict[str, datetime] = {}  # system -> when we last wrote a success
        self._lock = threading.Lock()

    # cursors
    def cursor(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(poller_cursors.c.cursor).where(poller_cursors.c.name == name)).scalar()

    def set_cursor(self, name: str, value: str | None, *, at: datetime, conn: Connection | None = None) -> None:
        stmt = upsert(self.engine, poller_cursors, ["name"], {"name": name, "cursor": value, "updated_at": at},
                      ["cursor", "updated_at"])
        if conn is not None:
            conn.execute(stmt)
            return
        with self.engine.begin() as c:
            c.execute(stmt)

    # health: one upsert each, so two replicas recording at once can't collide on the key
    def record_success(self, system: str, *, at: datetime) -> None:
        with self._lock:
            last = self._written_ok.get(system)
            if last is not None and at - last < SUCCESS_WRITE_EVERY:
                return
            self._written_ok[system] = at
        stmt = upsert(self.engine, integration_health, ["system"],
                      {"system": system, "last_success_at": at, "consecutive_failures": 0},
                      ["last_success_at", "consecutive_failures"])
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def record_failure(self, system: str, *, at: datetime, error: str) -> None:
        with self._lock:
            self._written_ok.pop(system, None)  # the next success must be written
        stmt = upsert(self.engine, integration_health, ["system"],
                      {"system": system, "last_error_at": at, "last_error": error[:2000], "consecutive_failures": 1},
                      ["last_error_at", "last_error"],
                      increment={"consecutive_failures": 1})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def health(self) -> list[Health]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(integration_health).order_by(integration_health.c.system))
            return [Health(**dict(r._mapping)) for r in rows]
