"""After the 200: each topic decoded from the return read again from FakeLoop (never the
body), one details read each; the poller's windows (first run, the 120-day limit), states,
pages and poison items; and `returnsbot check` / settings naming a problem in one line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from integrations.loop import poller as lp
from integrations.loop.client import LoopAPI
from integrations.loop.connector import LoopConnector
from integrations.loop.poller import ReturnsPoller
from policy.lifecycle import ReturnStage
from policy.models import EventKind, ReturnOutcome, ReturnRequest
from tests.bot.cli_support import clean_env, restore_logging, run_check, sqlite_file  # noqa: F401
from tests.fakes.loop import FakeLoop

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
DETAILS = "/warehouse/return/details"
LIST = "/warehouse/return/list"


@pytest.fixture
def fake():
    fake = FakeLoop(now=lambda: NOW)
    with fake.serve():
        yield fake


def _loop(fake) -> LoopConnector:
    return LoopConnector(LoopAPI(fake.api_key, fake.base_url), webhook_secret=None, clock=lambda: NOW)


def test_a_return_event_is_read_again_not_taken_from_the_body(fake):
    ret = fake.add_return(state="review", flagged=True)
    stale = {**fake.webhook("return.updated", ret["id"]), "state": "open", "refund": "999.00"}
    event = _loop(fake).decode("return", stale)
    assert (event.kind, event.source, event.resource_id, event.order_id) == (
        EventKind.RETURN_REQUESTED, "loop", f"loop:{ret['id']}", "gid://shopify/Order/58997314")
    request = ReturnRequest.model_validate_json(event.detail["return"])
    assert request.line_items[0].requested_outcome is ReturnOutcome.REFUND
    facts = json.loads(event.detail["loop"])
    assert facts == {"state": "review", "flagged": True, "status_page_url": ret["status_page_url"],
                     "admin_url": f"https://admin.loopreturns.com/returns/{ret['id']}"}
    assert [(c.path, c.params) for c in fake.calls] == [(DETAILS, {"return_id": str(ret["id"]), "currency_type": "shop"})]


def test_a_legacy_trigger_is_the_same_event(fake):
    ret = fake.add_return()
    body = {**fake.webhook("return.updated", ret["id"]), "trigger": "updated"}
    assert _loop(fake).decode("return", body).kind is EventKind.RETURN_REQUESTED


@pytest.mark.parametrize("status, stage", [("pre_transit", ReturnStage.LABEL_SENT), ("in_transit", ReturnStage.IN_TRANSIT),
                                           ("out_for_delivery", ReturnStage.IN_TRANSIT),
                                           ("delivered", ReturnStage.DELIVERED_BACK)])
def test_label_statuses_become_stages_with_tracking(fake, status, stage):
    ret = fake.add_return(label_status=status)
    event = _loop(fake).decode("label", fake.webhook("label.updated", ret["id"]))
    assert event.kind is EventKind.RETURN_STAGE and event.stage.stage is stage
    assert (event.stage.tracking.carrier, event.stage.tracking.number) == ("USPS", "9400100000000000000000")
    assert event.stage.return_id == f"loop:{ret['id']}" and event.stage.source == "loop"


def test_a_failed_label_keeps_the_stage_and_says_so(fake):
    ret = fake.add_return(label_status="failure")
    event = _loop(fake).decode("label", fake.webhook("label.updated", ret["id"]))
    assert event.stage.stage is ReturnStage.REQUESTED  # the lowest rank: never moves a case
    assert event.stage.note == "Loop reports the return label as failure"


def test_restock_is_received(fake):
    ret = fake.add_return()
    event = _loop(fake).decode("restock", fake.webhook("restock.requested", ret["id"]))
    assert event.stage.stage is ReturnStage.RECEIVED


def test_process_then_closed_is_processed_and_a_close_is_closed(fake):
    api = LoopAPI(fake.api_key, fake.base_url)
    done, closed = fake.add_return(), fake.add_return()
    assert api.process(done["id"]) is True
    assert fake.returns[str(done["id"])]["state"] == "open"  # queued: nothing happened yet
    body = fake.complete_processing(done["id"])
    event = _loop(fake).decode("return", body)
    assert event.stage.stage is ReturnStage.PROCESSED and event.stage.refund.amount == 47.50
    assert api.close(closed["id"]) is True
    event = _loop(fake).decode("return", fake.webhook("return.closed", closed["id"]))
    assert event.stage.stage is ReturnStage.CLOSED and "without its outcomes" in event.stage.note


def test_cancelled_is_cancelled(fake):
    ret = fake.add_return()
    LoopAPI(fake.api_key, fake.base_url).cancel(ret["id"])
    event = _loop(fake).decode("return", fake.webhook("return.updated", ret["id"]))
    assert event.stage.stage is ReturnStage.CANCELLED


@pytest.mark.parametrize("message, said", [("Gift card provider unavailable", "Gift card provider unavailable"),
                                           (None, "Loop gave no reason"), ("  ", "Loop gave no reason")])
def test_processing_failed_is_an_action_failure_with_the_message(fake, message, said):
    ret = fake.add_return()
    LoopAPI(fake.api_key, fake.base_url).process(ret["id"])
    event = _loop(fake).decode("return.processing.failed", fake.fail_processing(ret["id"], message))
    assert (event.kind, event.resource_id, event.detail) == (EventKind.RETURN_ACTION_FAILED, f"loop:{ret['id']}",
                                                             {"message": said})
    assert fake.calls_to("GET", DETAILS) == []


def test_a_trigger_we_do_not_subscribe_to_is_ignored_without_a_call(fake):
    assert _loop(fake).decode("giftcard.requested", {"trigger": "giftcard.requested", "id": 1}) is None
    assert fake.calls == []


# --- the poller -------------------------------------------------------------------------------


def test_the_first_poll_reads_three_days_per_state_and_stores_the_windows_end(fake):
    old = fake.add_return(updated_at=NOW - timedelta(days=5))
    review = fake.add_return(state="review", updated_at=NOW - timedelta(days=1))
    closed = fake.add_return(state="closed", updated_at=NOW - timedelta(hours=2))
    page = ReturnsPoller(LoopAPI(fake.api_key, fake.base_url), clock=lambda: NOW).fetch(None)
    lists = fake.calls_to("GET", LIST)
    assert [c.params["state"] for c in lists] == list(lp.STATES)
    assert all(c.params["from"] == "2026-11-17 12:00:00" and c.params["to"] == "2026-11-20 12:00:00"
               and c.params["filter"] == "updated_at" and c.params["paginate"] == "true" for c in lists)
    assert [(e.resource_id, e.kind) for e in page.events] == [
        (f"loop:{review['id']}", EventKind.RETURN_REQUESTED), (f"loop:{review['id']}", EventKind.RETURN_STAGE),
        (f"loop:{closed['id']}", EventKind.RETURN_STAGE), (f"loop:{closed['id']}", EventKind.RETURN_STAGE)]
    assert f"loop:{old['id']}" not in {e.resource_id for e in page.events}
    assert page.cursor == NOW.isoformat() and not page.unmapped
    assert fake.calls_to("GET", DETAILS) == []  # list items are the API's returns already


def test_a_cursor_far_behind_moves_120_days_at_a_time(fake):
    behind = NOW - timedelta(days=300)
    poll = ReturnsPoller(LoopAPI(fake.api_key, fake.base_url), clock=lambda: NOW, states=("open",))
    page = poll.fetch(behind.isoformat())
    (call,) = fake.calls_to("GET", LIST)
    assert call.status == 200  # not Loop's 422
    start = behind - lp.OVERLAP
    assert datetime.fromisoformat(page.cursor) == start + timedelta(days=120)
    assert call.params["to"] == (start + timedelta(days=120)).strftime(lp.TIME_FORMAT)


def test_pages_are_followed_through_next_page_url(fake, monkeypatch):
    monkeypatch.setattr(lp, "PAGE_SIZE", 2)
    made = [fake.add_return(state="review", updated_at=NOW - timedelta(hours=i)) for i in range(5)]
    page = ReturnsPoller(LoopAPI(fake.api_key, fake.base_url), clock=lambda: NOW, states=("review",)).fetch(None)
    assert {e.resource_id for e in page.events} == {f"loop:{r['id']}" for r in made}
    lists = fake.calls_to("GET", LIST)
    assert len(lists) == 3 and "cursor" not in lists[0].params and all("cursor" in c.params for c in lists[1:])


def test_a_poison_item_is_parked_and_the_rest_go_on(fake):
    good = fake.add_return(state="review", updated_at=NOW - timedelta(hours=1))
    bad = fake.add_return(state="review", updated_at=NOW - timedelta(hours=2), currency=None)
    page = ReturnsPoller(LoopAPI(fake.api_key, fake.base_url), clock=lambda: NOW, states=("review",)).fetch(None)
    assert [e.resource_id for e in page.events if e.kind is EventKind.RETURN_REQUESTED] == [f"loop:{good['id']}"]
    assert [u.ref for u in page.unmapped] == [f"loop:{bad['id']}"] and "currency" in page.unmapped[0].error
    assert page.cursor == NOW.isoformat()


def test_the_fake_list_keeps_loops_rules(fake):
    api = LoopAPI(fake.api_key, fake.base_url)
    fake.add_return(state="review", created_at=NOW - timedelta(hours=3))
    fake.add_return(state="open", created_at=NOW - timedelta(days=2))
    assert api.get(LIST) == []  # no state: no review; no range: the last 24 h
    assert len(api.get(LIST, state="review")) == 1
    from integrations.loop.client import LoopRefused
    with pytest.raises(LoopRefused, match="120 days"):
        api.get(LIST, **{"from": "2026-01-01 00:00:00", "to": "2026-11-20 00:00:00"})
    with pytest.raises(LoopRefused, match="state is invalid"):
        api.get(LIST, state="open,review")


# --- check and settings -----------------------------------------------------------------------




def test_check_pings_loop(sqlite_file, fake, capsys):
    sqlite_file.setenv("LOOP_API_KEY", fake.api_key)
    sqlite_file.setenv("LOOP_API_URL", fake.base_url)
    code, out = run_check(capsys)
    assert "ok    loop: key accepted (Returns scope)" in out, out
    assert fake.api_key not in out
    assert [c.params for c in fake.calls_to("GET", LIST)] == [{"state": "review"}]


def test_check_says_a_refused_key_in_one_line(sqlite_file, fake, capsys):
    sqlite_file.setenv("LOOP_API_KEY", "loop_not_the_key_98765")
    sqlite_file.setenv("LOOP_API_URL", fake.base_url)
    code, out = run_check(capsys)
    line = next(line for line in out.splitlines() if "loop:" in line)
    assert code == 1 and line.startswith("FAIL") and "LOOP_API_KEY refused: the key needs the Returns scope" in line
    assert "98765" not in out


@pytest.mark.parametrize("values, line", [
    ({"LOOP_WEBHOOK_SECRET": "abc"}, "setting LOOP_API_KEY: required when LOOP_WEBHOOK_SECRET is set"),
    ({"LOOP_API_KEY": "Bearer abc"}, "setting LOOP_API_KEY: expected the bare API key"),
    ({"LOOP_API_KEY": "abc", "LOOP_API_URL": "http://loop.example.com/api/v1"},
     "setting LOOP_API_URL: expected an https:// address"),
])
def test_settings_that_cannot_work_are_one_line(sqlite_file, capsys, values, line):
    for k, v in values.items():
        sqlite_file.setenv(k, v)
    code, out = run_check(capsys)
    assert code == 1 and f"FAIL  settings: {line}" in out, out
    assert "abc" not in out
