"""The thread's one line per stage, posted from the card job: once, even when the job runs twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from bot.jobs.kinds import Kind
from bot.schema import return_stages
from bot.services.stage_lines import StageLines
from policy.lifecycle import ReturnStage, StageUpdate, Tracking
from tests.slack.dispatch import app_for

AT = datetime(2026, 11, 2, 11, 0, tzinfo=timezone.utc)


@pytest.fixture
def harness(database_url):
    with app_for(database_url) as h:
        yield h


def _record(engine, case_id: int, update: StageUpdate, *, current: bool = True) -> None:
    """A stage row as StageRepo keeps it, with `current` set by hand (the test says which)."""
    with engine.begin() as conn:
        conn.execute(return_stages.insert().values(
            case_id=case_id, stage=update.stage.value, at=update.at, source=update.source, ref=update.ref,
            detail=update.model_dump(mode="json"), recorded_at=update.at, current=current, posted_at=None))


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
