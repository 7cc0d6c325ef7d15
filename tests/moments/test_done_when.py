"""Issue 13's "done when", on both databases: a new order over the threshold from a
first-time customer tags the customer once in Shopify (every tagsAdd FakeShopify received is
counted, across a webhook replay and a job retry), posts one owner alert with a follow-up
that reminds when due and can be done / snoozed / reassigned from Slack, and appears in the
digest."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from blocks.ids import ActionId, BlockId, OptionValue
from blocks.digest import moments_text, render_digest
from blocks.moment import TaskRef, snooze_value
from bot.jobs.kinds import Kind
from bot.schema import moments
from tests.fakes import slack_requests as sr
from tests.moments.harness import OTHER, OWNER, SIGNING_SECRET, VIPS, shop_for


def first_big_order(shop):
    customer = shop.fake.add_customer(display_name="Grace Hopper", created_at=shop.clock() - timedelta(days=1))
    order = shop.fake.add_order(customer_id=customer, name="#2001",
                                line_items=[{"title": "Expedition parka", "price": "740.00"}])
    return customer, order


def test_a_big_first_order_tags_once_alerts_once_and_its_follow_up_gets_done(database_url):
    with shop_for(database_url) as shop:
        customer, order = first_big_order(shop)
        assert shop.deliver_order(order, delivery="d-1")
        assert not shop.deliver_order(order, delivery="d-1")  # Shopify's retry of the same delivery
        shop.drain()
        assert shop.deliver_order(order, delivery="d-2")  # the same order reported again
        shop.drain()

        # Tags: once on the customer, once on the order — replay and retry included.
        assert len(shop.tags_add_calls()) == 2
        assert shop.rerun_finished(Kind.ACTION) >= 2  # the tag jobs run again, as after a crash
        assert shop.rerun_finished(Kind.MOMENT) >= 1  # and the alert job
        calls = shop.tags_add_calls()
        assert [(c.variables["id"], sorted(c.variables["tags"])) for c in calls] == [
            (customer, ["big-first-order", "vip-prospect"]), (order, ["vip-order"])]
        assert {"vip-prospect", "big-first-order"} <= set(shop.fake.customers[customer]["tags"])
        assert "vip-order" in shop.fake.orders[order]["tags"]

        # One alert, in the owner channel: who, what they bought, lifetime value, the follow-up.
        [post] = shop.alert_posts()
        with shop.c.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(moments)).scalar() == 1
        [(task, moment)] = shop.c.moment_repo.open_tasks()
        assert moment.slack_channel == VIPS and moment.slack_ts
        card = shop.h.slack.message(moment.slack_channel, moment.slack_ts)
        text = json.dumps(card["blocks"])
        for fact in ("Grace Hopper", "Expedition parka", "$740.00", "Lifetime value", "Send a handwritten thank-you card",
                     "vip-prospect", "Big first order"):
            assert fact in text, fact
        assert task.owner == OWNER and task.due_at == shop.clock() + timedelta(hours=24)

        # Due: one reminder in the card's thread (twice run, two replicas: once), then a DM.
        shop.clock.advance(hours=24)
        remind = shop.c.periodic["followups"]
        remind(), remind()
        thread = [c for c in shop.h.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == moment.slack_ts]
        assert len(thread) == 1 and "Send a handwritten thank-you card" in thread[0].params["text"]
        assert [c for c in shop.h.slack.calls_to("chat.postMessage") if c.params.get("channel") == OWNER] == []
        shop.clock.advance(hours=2)
        remind(), remind()
        [dm] = [c for c in shop.h.slack.calls_to("chat.postMessage") if c.params.get("channel") == OWNER]
        assert "overdue" in dm.params["text"]

        # Snooze a week from Slack: due again later, reminders start over.
        ref = shop.c.moment_repo.task(task.id)
        block = f"{BlockId.FOLLOWUP_TASK}:task:{ref.id}:{ref.version}"
        resp = shop.overflow(block, ActionId.FOLLOWUP_SNOOZE, snooze_value(_ref(ref), OptionValue.SNOOZE_WEEK), OTHER,
                             channel=moment.slack_channel, ts=moment.slack_ts)
        assert resp.status == 200
        shop.h.run_background()
        snoozed = shop.c.moment_repo.task(task.id)
        # Overdue: a week from now (not from when it was due).
        assert snoozed.due_at == shop.clock() + timedelta(days=7) and snoozed.thread_reminded_at is None

        # Reassign from the user picker.
        picked = sr.users_select_action(f"{BlockId.FOLLOWUP_TASK}:task:{snoozed.id}:{snoozed.version}",
                                        ActionId.FOLLOWUP_REASSIGN, OTHER, user_id=OWNER,
                                        channel=moment.slack_channel, message_ts=moment.slack_ts)
        assert shop.h.dispatch(*picked, secret=SIGNING_SECRET).status == 200
        shop.h.run_background()
        moved = shop.c.moment_repo.task(task.id)
        assert moved.owner == OTHER

        # An old card's Done is refused and says so; the current one is done.
        stale = sr.block_action(f"task:{task.id}:{task.version}", ActionId.FOLLOWUP_DONE, user_id=OTHER,
                                channel=moment.slack_channel, message_ts=moment.slack_ts)
        shop.h.dispatch(*stale, secret=SIGNING_SECRET)
        shop.h.run_background()
        assert shop.c.moment_repo.task(task.id).is_open
        assert any("changed since" in e for e in shop.h.ephemerals_to(OTHER))
        done = sr.block_action(f"task:{moved.id}:{moved.version}", ActionId.FOLLOWUP_DONE, user_id=OTHER,
                               channel=moment.slack_channel, message_ts=moment.slack_ts)
        shop.h.dispatch(*done, secret=SIGNING_SECRET)
        shop.h.run_background()
        finished = shop.c.moment_repo.task(task.id)
        assert not finished.is_open and finished.done_by == OTHER
        shop.drain()
        card = shop.h.slack.message(moment.slack_channel, moment.slack_ts)
        assert "Follow-up done" in json.dumps(card["blocks"])
        assert "followup-done" not in json.dumps(card["blocks"])
        assert len(shop.alert_posts()) == 1  # every change was a chat.update

        # The digest's section counts it.
        week = shop.c.moment_repo.week(shop.clock() - timedelta(days=7), shop.clock() + timedelta(seconds=1),
                                       vip_triggers=("became_vip",))
        assert week["by_trigger"] == {"first_order_over": 1}
        assert week["revenue"] == {"USD": 74000}
        assert week["followups_created"] == 1 and week["done_on_time"] == 0 and week["done_late"] == 1
        assert week["tags_added"] == 2  # customer and order; the retries are the same two operations
        digest = shop.c.digest.compute(shop.clock() - timedelta(days=7), shop.clock() + timedelta(seconds=1))
        section = moments_text(digest.moments, digest.currency)
        assert "1 big first orders" in section
        assert "revenue touched: $740" in section
        assert "1 created · 0 done on time · 1 done late · 0 overdue" in section
        assert "2 tag update(s)" in section
        assert "High-value and VIP moments" in json.dumps(render_digest(digest)["blocks"])


def _ref(task):
    return TaskRef(task.id, task.version)

