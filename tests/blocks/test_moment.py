"""The moment's alert card and the open follow-ups list (blocks/moment.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from blocks.ids import ActionId, BlockId, OptionValue
from blocks.moment import (BadTaskRef, MomentView, OpenTask, TaskRef, TaskView, parse_block_ref, parse_snooze,
                           render_moment_card, render_open_tasks, snooze_value)
from tests.blocks.limits import check_limits

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)


def view(**over) -> MomentView:
    task = TaskView(id=7, version=3, text="Send a thank-you card", owner="U0OWNER001", due_at=NOW + timedelta(hours=24),
                    first_due_at=NOW + timedelta(hours=24))
    base = dict(id=1, trigger="first_order_over", why="First order, $740.00 (at least $500.00)", order_name="#2001",
                customer_name="Grace <!channel> Hopper", amount="$740.00", owner="C0VIPS0001",
                detail={"items": [{"title": "Parka & <b>", "quantity": 1, "amount": "$740.00"}] * 12,
                        "email": "grace@example.com", "lifetime_spend": "$740.00", "orders_count": 1,
                        "customer_tags": ["newsletter"], "history_orders": 1, "history_returns": 0, "history_days": 365},
                now=NOW, task=task, tags={"customer": ["vip-prospect"], "order": ["vip-order"]},
                tags_done={"customer": "Grace Hopper tagged vip-prospect"})
    base.update(over)
    return MomentView(**base)


def test_the_card_says_who_what_they_bought_their_value_and_the_follow_up():
    card = render_moment_card(view())
    check_limits(card)
    text = json.dumps(card, ensure_ascii=False)
    for fact in ("Big first order", "First order, $740.00", "What they bought", "Lifetime value", "over 1 order",
                 "History: 1 order(s)", "Send a thank-you card", "<@U0OWNER001>", "vip-prospect", "queued",
                 "…and 4 more"):
        assert fact in text, fact
    actions = [b for b in card["blocks"] if b["type"] == "actions"]
    assert len(actions) == 1 and actions[0]["block_id"] == f"{BlockId.FOLLOWUP_TASK}:task:7:3"
    ids = [e["action_id"] for e in actions[0]["elements"]]
    assert ids == [ActionId.FOLLOWUP_DONE, ActionId.FOLLOWUP_SNOOZE, ActionId.FOLLOWUP_REASSIGN]
    snoozes = [o["value"] for o in actions[0]["elements"][1]["options"]]
    assert [parse_snooze(v) for v in snoozes] == [(TaskRef(7, 3), 1), (TaskRef(7, 3), 7)]


def test_customer_text_is_escaped():
    text = json.dumps(render_moment_card(view()), ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<b>" not in text


def test_a_done_follow_up_has_no_buttons_and_says_who_and_whether_on_time():
    done = view(task=TaskView(id=7, version=4, text="Send a thank-you card", owner="U0OWNER001",
                              due_at=NOW, first_due_at=NOW, done_at=NOW + timedelta(hours=1), done_by="U0OTHER002"))
    card = render_moment_card(done)
    check_limits(card)
    text = json.dumps(card, ensure_ascii=False)
    assert "Follow-up done" in text and "<@U0OTHER002>" in text and "(late)" in text
    assert not [b for b in card["blocks"] if b["type"] == "actions"]


def test_an_overdue_follow_up_says_so():
    late = view(task=TaskView(id=7, version=3, text="Call", owner=None, due_at=NOW - timedelta(hours=1),
                              first_due_at=NOW - timedelta(hours=1)))
    text = json.dumps(render_moment_card(late), ensure_ascii=False)
    assert "overdue" in text and "anyone here" in text


@pytest.mark.parametrize("raw", [None, "", "task:0:1", "task:1", "case:1:2", "task:1:2:3", "x" * 50, 12])
def test_references_we_did_not_make_are_refused(raw):
    with pytest.raises(BadTaskRef):
        TaskRef.parse(raw)
    with pytest.raises(BadTaskRef):
        parse_snooze(f"{raw}|1d")
    with pytest.raises(BadTaskRef):
        parse_block_ref(f"{BlockId.FOLLOWUP_TASK}:{raw}")


def test_snooze_values_round_trip_and_unknown_choices_are_refused():
    ref = TaskRef(12, 0)
    assert parse_snooze(snooze_value(ref, OptionValue.SNOOZE_WEEK)) == (ref, 7)
    with pytest.raises(BadTaskRef):
        parse_snooze("task:12:0|1y")


def test_the_open_follow_ups_list():
    tasks = [OpenTask(text=f"Task {i}", owner="U0OWNER001" if i % 2 else None, due_at=NOW + timedelta(hours=i - 1),
                      title="Grace Hopper #2001") for i in range(25)]
    answer = render_open_tasks(tasks, NOW)
    check_limits(answer)
    text = json.dumps(answer, ensure_ascii=False)
    assert "Open follow-ups* (25)" in text and "unassigned" in text and "overdue" in text and "…and 5 more" in text
    empty = render_open_tasks([], NOW, whose="U0OWNER001")
    assert "none" in json.dumps(empty)
