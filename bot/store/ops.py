"""Operational state: poller cursors, integration health and job leases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.schema import integration_health, job_leases, poller_cursors
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


class OpsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # cursors
    def cursor(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(poller_cursors.c.cursor).where(poller_cursors.c.name == name)).scalar()

    def set_cursor(self, name: str, value: str | None, *, at: datetime) -> None:
        stmt = upsert(self.engine, poller_cursors, ["name"], {"name": name, "cursor": value, "updated_at": at}, ["cursor", "updated_at"])
        with self.engine.begin() as conn:
            conn.execute(stmt)

    # health
    def record_success(self, system: str, *, at: datetime) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(
                update(integration_health)
                .where(integration_health.c.system == system)
                .values(last_success_at=at, consecutive_failures=0)
            )
            if res.rowcount == 0:
                conn.execute(insert(integration_health).values(system=system, last_success_at=at, consecutive_failures=0))

    def record_failure(self, system: str, *, at: datetime, error: str) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(
                update(integration_health)
                .where(integration_health.c.system == system)
                .values(last_error_at=at, last_error=error[:2000],
                        consecutive_failures=integration_health.c.consecutive_failures + 1)
            )
            if res.rowcount == 0:
                conn.execute(
                    insert(integration_health).values(
                        system=system, last_error_at=at, last_error=error[:2000], consecutive_failures=1
                    )
                )

    def health(self) -> list[Health]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(integration_health).order_by(integration_health.c.system))
            return [Health(**dict(r._mapping)) for r in rows]

    # leases: one replica runs a periodic job at a time
    def try_lease(self, name: str, *, holder: str, now: datetime, ttl: timedelta) -> bool:
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(job_leases)
                .where(job_leases.c.name == name, (job_leases.c.until < now) | (job_leases.c.holder == holder))
                .values(holder=holder, until=now + ttl)
            ).rowcount
            if taken:
                return True
            exists = conn.execute(select(job_leases.c.name).where(job_leases.c.name == name)).first()
            if exists:
                return False
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(job_leases).values(name=name, holder=holder, until=now + ttl))
            return True
        except IntegrityError:
            return False

    def release(self, name: str, *, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(job_leases).where(job_leases.c.name == name, job_leases.c.holder == holder))
