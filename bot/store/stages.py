"""A return's stages as its connectors reported them (table return_stages, migration 0007).

Each fact is kept once per (case, source, stage, ref), so a webhook delivered twice or
caught up again by a poller is one row. Only a fact that moves the case forward (or a
reopen of a closed/cancelled return, `StageUpdate.reopened`) becomes the case's stage; the
rest is history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, String, cast, select, update

from bot.schema import cases, return_stages
from bot.store.sql import insert_ignore
from policy.lifecycle import ReturnStage, StageUpdate, becomes_current


class StageRepo:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, case_id: int, update_: StageUpdate, *, now: datetime) -> bool:
        """Keep the fact; False when it was already kept (nothing changes then). When it
        becomes the case's stage (`becomes_current`) the card is queued to re-render."""
        with self.engine.begin() as conn:
            return record_in(conn, self.engine, case_id, update_, now=now)

    def history(self, case_id: int) -> list[StageUpdate]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(return_stages.c.detail).where(return_stages.c.case_id == case_id)
                                .order_by(return_stages.c.at, return_stages.c.id))
            return [StageUpdate.model_validate(r.detail) for r in rows]

    def current(self, case_id: int) -> StageUpdate | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(return_stages.c.detail).where(
                return_stages.c.case_id == case_id, return_stages.c.current.is_(True))
                .order_by(return_stages.c.id.desc()).limit(1)).first()
            return StageUpdate.model_validate(row.detail) if row else None

    def latest(self, case_id: int, stage: ReturnStage) -> StageUpdate | None:
        with self.engine.connect() as conn:
            return latest_in(conn, case_id, stage)

    def in_stage(self, stage: ReturnStage, *, before: datetime | None = None) -> list[tuple[int, datetime]]:
        """Cases whose stage is `stage` (since before `before`, when given), oldest first."""
        stmt = select(cases.c.id, cases.c.stage_at).where(cases.c.stage == stage.value)
        if before is not None:
            stmt = stmt.where(cases.c.stage_at < before)
        with self.engine.connect() as conn:
            return [(r.id, r.stage_at) for r in conn.execute(stmt.order_by(cases.c.stage_at, cases.c.id))]


def _plain_tracking(number: str) -> bool:
    return 3 <= len(number) <= 64 and all(c.isascii() and (c.isalnum() or c == "-") for c in number)


def case_for_tracking(engine: Engine, number: str) -> int | None:
    """The return case whose label (a LABEL_SENT fact) carries this tracking number, the
    latest when several do. A carrier's report of a return parcel finds its case here."""
    if not _plain_tracking(number):
        return None  # tracking numbers are letters and digits; anything else matches nothing
    stmt = (select(return_stages.c.case_id, return_stages.c.detail)
            .where(return_stages.c.stage == ReturnStage.LABEL_SENT.value,
                   cast(return_stages.c.detail, String).ilike(f"%{number}%"))
            .order_by(return_stages.c.id.desc()))
    with engine.connect() as conn:
        for row in conn.execute(stmt):
            tracking = (row.detail or {}).get("tracking") or {}
            if str(tracking.get("number") or "").strip().upper() == number.strip().upper():
                return row.case_id
    return None


def latest_in(conn, case_id: int, stage: ReturnStage) -> StageUpdate | None:
    """The case's latest fact of `stage` (by its time, then by when it was kept), inside a
    caller's transaction."""
    row = conn.execute(select(return_stages.c.detail).where(
        return_stages.c.case_id == case_id, return_stages.c.stage == stage.value)
        .order_by(return_stages.c.at.desc(), return_stages.c.id.desc()).limit(1)).first()
    return StageUpdate.model_validate(row.detail) if row else None


def record_in(conn, engine: Engine, case_id: int, update_: StageUpdate, *, now: datetime,
              bump: bool = True) -> bool:
    """`StageRepo.record` inside a caller's transaction (so a stage and what it triggers commit
    together). `bump=False` inside `CaseRepo.transition`, which bumps the version and queues
    the card itself."""
    from bot.store.cases import _queue_card  # cases imports the schema this module shares

    row = conn.execute(select(cases.c.stage).where(cases.c.id == case_id).with_for_update()).first()
    if row is None:
        raise LookupError(f"no case {case_id}")
    current = ReturnStage(row.stage) if row.stage else None
    forward = becomes_current(current, update_)
    inserted = conn.execute(insert_ignore(engine, return_stages, ["case_id", "source", "stage", "ref"]).values(
        case_id=case_id, stage=update_.stage.value, at=update_.at, source=update_.source, ref=update_.ref,
        detail=update_.model_dump(mode="json"), recorded_at=now, current=forward,
    )).rowcount
    if not inserted:
        return False
    if forward:
        values = {"stage": update_.stage.value, "stage_at": update_.at}
        if bump:  # a new version, so the card job (keyed by version) renders the stage
            values.update(version=cases.c.version + 1, updated_at=now)
        conn.execute(update(cases).where(cases.c.id == case_id).values(**values))
        if bump:
            _queue_card(conn, conn.execute(select(cases).where(cases.c.id == case_id)).one(), now=now)
    return True
