"""The thread's one line per stage, posted from the card job: once, even when the job runs twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, inspect, select

from bot.jobs.kinds import Kind
from bot.schema import UtcDateTime
from bot.services.stage_lines import StageLines
from policy.lifecycle import ReturnStage, StageUpdate, Tracking
from tests.slack.dispatch import app_for

AT = datetime(2026, 11, 2, 11, 0, tzinfo=timezone.utc)


def _standin(engine) -> Table | None:
    """Core's return_stages (migration 0007) by the contract's columns, until it is on this branch."""
    md = MetaData()
    t = Table("return_stages", md,
              Column("id", Integer, primary_key=True, autoincrement=True), Column("case_id", Integer),
              Column("stage", String(16)), Column("at", UtcDateTime), Column("source", String(32)),
              Column("ref", String(255)), Column("detail", JSON), Column("recorded_at", UtcDateTime),
              Column("current", Boolean), Column("posted_at", UtcDateTime, nullable=True))
    if inspect(engine).has_table("return_stages"):
        return None  # core's migration made it
    md.create_all(engine)
    return t


@pytest.fixture
def harness(database_url):
    with app_for(database_url) as h:
        made = _standin(h.c.engine)
        yield h
        if made is not None:
            made.drop(h.c.engine)


def _record(engine, case_id: int, update: StageUpdate, *, current: bool = True) -> None:
    md = MetaData()
    t = Table("return_stages", md, autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(t.insert().values(case_id=case_id, stage=update.stage.value, at=update.at,
                                       source=update.source, ref=update.ref, detail=update.model_dump(mode="json"),
                                       recorded_at=update.at, current=current, posted_at=None))


def _update(stage: ReturnStage, at: datetime, **kw) -> StageUpdate:
    return StageUpdate(return_id="r1", stage=stage, at=at, source="shopify", ref=f"{stage.value}-1", **kw)


def _thread_lines(h, case) -> list[str]:
    return [c.params["text"] for c in h.slack.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == case.slack_ts and c.params["text"].startswith(":package:")]


def test_pending_stages_become_one_line_once_even_when_the_card_job_runs_twice(harness) -> None:
    h = harness
    case = h.open_case("#1034")
    lines = StageLines(engine=h.c.engine, gateway=h.c.gateway, clock=h.c.clock, tz="Europe/Berlin")
    h.c.handlers[Kind.CARD].stage_lines = lines
    _record(h.c.engine, case.id, _update(ReturnStage.LABEL_SENT, AT,
                                         tracking=Tracking(carrier="UPS <!here>", number="1Z999")))
    _record(h.c.engine, case.id, _update(ReturnStage.IN_TRANSIT, AT + timedelta(hours=1)))
    _record(h.c.engine, case.id, _update(ReturnStage.REQUESTED, AT - timedelta(days=1)), current=False)

    for _ in range(2):
        h.c.cases.queue_card(case.id, at=h.c.clock(), force=True)
        h.sync_cards()

    assert _thread_lines(h, case) == [":package: Label sent → In transit Nov 2 13:00 CET"]

    # A later stage gets its own line; the earlier ones are not repeated.
    _record(h.c.engine, case.id, _update(ReturnStage.DELIVERED_BACK, AT + timedelta(hours=5)))
    h.c.cases.queue_card(case.id, at=h.c.clock(), force=True)
    h.sync_cards()
    h.c.cases.queue_card(case.id, at=h.c.clock(), force=True)
    h.sync_cards()
    assert _thread_lines(h, case)[1:] == [":package: Delivered back Nov 2 17:00 CET"]
    assert all("<!here>" not in text for text in _thread_lines(h, case))


def test_slack_failing_leaves_the_line_for_the_next_card_job(harness) -> None:
    h = harness
    case = h.open_case("#1034")

    class Failing:
        calls = 0

        def post_message(self, *a, **kw):
            Failing.calls += 1
            from integrations.slack.gateway import SlackGatewayError
            raise SlackGatewayError("slack down")

    _record(h.c.engine, case.id, _update(ReturnStage.APPROVED, AT, by="Ana"))
    failing = StageLines(engine=h.c.engine, gateway=Failing(), clock=h.c.clock)
    with pytest.raises(Exception):
        failing.post_pending(case)
    assert Failing.calls == 1
    ok = StageLines(engine=h.c.engine, gateway=h.c.gateway, clock=h.c.clock)
    assert ok.post_pending(case) == 1
    assert ok.post_pending(case) == 0
    assert _thread_lines(h, case) == [":package: Approved Nov 2 11:00 UTC · by Ana"]
