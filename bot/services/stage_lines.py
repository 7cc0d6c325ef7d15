"""One short line in the card's thread per stage the return reached: never a flood.

Core's lifecycle service records a stage (`return_stages`, `current` when it became the
case's stage) and queues the card; the card job then calls `StageLines.post_pending`, which
posts the current rows whose `posted_at` is null — several pending at once collapse into one
line — and marks them.

Rows are claimed (posted_at set where still null) before posting, so a card job that runs
twice, or two workers, post a line once. Slack failing un-claims them for the next card job;
a crash between the claim and the post costs that line, never a duplicate (the card itself
lists every stage).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import JSON, Boolean, Engine, Integer, column, select, table, update

from blocks.stages import thread_line
from bot.schema import UtcDateTime
from bot.store import CaseRecord
from integrations.slack.gateway import SlackGateway
from policy.lifecycle import StageUpdate

log = logging.getLogger(__name__)

# Core's table (migration 0007, bot/schema.py `return_stages`), by the columns this module
# reads and writes: a lightweight construct so it does not depend on the schema object.
_stages = table(
    "return_stages",
    column("id", Integer),
    column("case_id", Integer),
    column("detail", JSON),
    column("current", Boolean),
    column("posted_at", UtcDateTime),
)


class StageLines:
    def __init__(self, *, engine: Engine, gateway: SlackGateway, clock: Callable[[], datetime],
                 tz: str | None = None) -> None:
        self.engine = engine
        self.gateway = gateway
        self.clock = clock
        self.tz = tz  # the shop's zone: the times in the line

    def post_stage_line(self, case: CaseRecord, update: StageUpdate | list[StageUpdate]) -> str | None:
        """Post the line for `update` (or several, collapsed) in the card's thread; returns its ts."""
        updates = update if isinstance(update, list) else [update]
        text = thread_line(updates, self.tz)
        if text is None or not case.slack_ts:
            return None
        return self.gateway.post_message(case.slack_channel or case.channel, thread_ts=case.slack_ts,
                                         blocks=None, text=text)

    def post_pending(self, case: CaseRecord) -> int:
        """Post one line for the case's current stages not yet posted; how many stages it covered."""
        if not case.slack_ts:
            return 0  # no card yet: the thread does not exist; the next card job posts them
        claimed = self._claim(case.id)
        if not claimed:
            return 0
        try:
            self.post_stage_line(case, [u for _, u in claimed])
        except Exception:
            self._release([row_id for row_id, _ in claimed])
            raise
        log.info("stage_lines.posted", extra={"case_id": case.id, "stages": len(claimed)})
        return len(claimed)

    def _claim(self, case_id: int) -> list[tuple[int, StageUpdate]]:
        now = self.clock()
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(_stages.c.id, _stages.c.detail)
                .where(_stages.c.case_id == case_id, _stages.c.current.is_(True), _stages.c.posted_at.is_(None))
                .order_by(_stages.c.id)
            ).all()
            claimed = []
            for row in rows:
                # Conditional: whoever sets it first posts; a concurrent run gets 0 rows.
                won = conn.execute(
                    update(_stages).where(_stages.c.id == row.id, _stages.c.posted_at.is_(None))
                    .values(posted_at=now)
                ).rowcount
                if not won:
                    continue
                try:
                    claimed.append((row.id, StageUpdate.model_validate(row.detail)))
                except ValueError as exc:  # unreadable detail: marked, never posted, never retried
                    log.warning("stage_lines.unreadable case_id=%s row=%s error=%s", case_id, row.id, exc)
        return claimed

    def _release(self, row_ids: list[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(_stages).where(_stages.c.id.in_(row_ids)).values(posted_at=None))
