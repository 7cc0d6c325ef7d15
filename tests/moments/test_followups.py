"""A moment's follow-up around the done-when path: reminders once across replicas (and
never lost to a Slack failure), /followups, App Home, refusals, a VIP's return."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from blocks.ids import ActionId
from bot.services.moments import TaskReminders
from tests.fakes import slack_requests as sr
from tests.lookup.test_order_loop import Receiver
from tests.moments.harness import OTHER, OWNER, SIGNING_SECRET, VIPS, shop_for


def a_moment(shop):
    customer = shop.fake.add_customer(display_name="Grace Hopper", created_at=shop.clock() - timedelta(days=1))
    order = shop.fake.add_order(customer_id=customer, name="#2001",
                                line_items=[{"title": "Expedition parka", "price": "740.00"}])
    shop.deliver_order(order, delivery="d-1")
    shop.drain()
    [(task, moment)] = shop.c.moment_repo.open_tasks()
    return task, moment


def thread_reminders(shop, moment):
    """The reminders that reached the alert's thread (a refused post is not one)."""
    return [m for m in shop.h.slack.messages(moment.slack_channel)
            if m.get("thread_ts") == moment.slack_ts and m.get("ts") != moment.slack_ts]


def test_two_replicas_remind_once_and_a_slack_failure_loses_nothing(database_url):
    with shop_for(database_url) as shop:
        task, moment = a_moment(shop)
        replicas = [TaskReminders(repo=shop.c.moment_repo, gateway=shop.c.gateway, clock=shop.clock) for _ in range(2)]
        shop.clock.advance(hours=23)
        assert [r.run_once() for r in replicas][0].startswith("0 ")  # not due yet
        shop.clock.advance(hours=1)
        shop.h.slack.error_next("chat.postMessage", "ratelimited")  # Slack refuses the first try
        replicas[0].run_once()
        assert thread_reminders(shop, moment) == []
        assert shop.c.moment_repo.task(task.id).thread_reminded_at is None  # given back
        replicas[1].run_once(), replicas[0].run_once()
        assert len(thread_reminders(shop, moment)) == 1


def followups(shop, receiver, text: str, user: str) -> dict:
    body, ctype = sr.slash_command("/followups", text, user_id=user)
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    url = fields["response_url"] = receiver.url()
    assert shop.h.dispatch(urlencode(fields).encode(), ctype, secret=SIGNING_SECRET).status == 200
    shop.h.run_background()
    return receiver.answer(url)


def test_followups_lists_the_open_ones_and_mine(database_url):
    receiver = Receiver()
    try:
        with shop_for(database_url) as shop:
            a_moment(shop)
            every = json.dumps(followups(shop, receiver, "", OTHER), ensure_ascii=False)
            assert "Open follow-ups* (1)" in every and "Send a handwritten thank-you card" in every
            assert "Grace Hopper #2001" in every and "<@U0OWNER001>" in every
            assert "Open follow-ups of <@U0OTHER002>: none" in json.dumps(followups(shop, receiver, "mine", OTHER),
                                                                          ensure_ascii=False)
            assert "(1)" in json.dumps(followups(shop, receiver, "mine", OWNER), ensure_ascii=False)
            # Everyone's follow-ups name customers and orders: only for whom [access] lookup allows.
            refused = json.dumps(followups(shop, receiver, "", OWNER), ensure_ascii=False)
            assert "can use /followups" in refused and "Grace Hopper" not in refused
    finally:
        receiver.close()


def test_app_home_lists_a_persons_open_follow_ups_beside_their_queue(database_url):
    with shop_for(database_url) as shop:
        a_moment(shop)
        home = shop.c.home.home_for(OWNER)
        assert [t.text for t in home.followups] == ["Send a handwritten thank-you card"]
        assert shop.c.home.home_for(OTHER).followups == ()
        event = {"type": "app_home_opened", "user": OWNER, "tab": "home", "event_ts": "1762092000.000100"}
        assert shop.h.dispatch(*sr.event_callback(event), secret=SIGNING_SECRET).status == 200
        shop.h.run_background()
        [published] = shop.h.slack.calls_to("views.publish")
        text = json.dumps(published.params["view"], ensure_ascii=False)
        assert "Your follow-ups" in text and "Send a handwritten thank-you card" in text and "Grace Hopper" in text


def test_a_button_we_did_not_make_changes_nothing(database_url):
    with shop_for(database_url) as shop:
        task, moment = a_moment(shop)
        forged = sr.block_action("task:999999:1", ActionId.FOLLOWUP_DONE, user_id=OTHER, channel=VIPS,
                                 message_ts=moment.slack_ts)
        junk = sr.block_action("case:1:1", ActionId.FOLLOWUP_DONE, user_id=OTHER, channel=VIPS,
                               message_ts=moment.slack_ts)
        for click in (forged, junk):
            assert shop.h.dispatch(*click, secret=SIGNING_SECRET).status == 200
        shop.h.run_background()
        assert shop.c.moment_repo.task(task.id).is_open
        told = shop.h.ephemerals_to(OTHER)
        assert any("no longer exists" in t for t in told) and any("isn't one returnsbot made" in t for t in told)


def test_done_twice_is_done_once(database_url):
    with shop_for(database_url) as shop:
        task, moment = a_moment(shop)
        click = sr.block_action(f"task:{task.id}:{task.version}", ActionId.FOLLOWUP_DONE, user_id=OWNER,
                                channel=VIPS, message_ts=moment.slack_ts)
        shop.h.dispatch(*click, secret=SIGNING_SECRET)
        shop.h.dispatch(*click, secret=SIGNING_SECRET)
        shop.h.run_background()
        done = shop.c.moment_repo.task(task.id)
        assert done.status == "done" and done.done_by == OWNER and done.version == task.version + 1
        assert any("already done by <@U0OWNER001>" in t for t in shop.h.ephemerals_to(OWNER))


def test_a_customer_tag_refused_for_good_shows_on_the_card_and_the_order_is_still_tagged(database_url):
    with shop_for(database_url) as shop:
        real = shop.fake._m_tags_add

        def refuse_customers(info, id, tags):  # noqa: A002 - the mutation's argument name
            if "/Customer/" in id:
                return {"node": None, "userErrors": [{"message": "Customer is locked", "code": "INVALID", "field": ["id"]}]}
            return real(info, id, tags)

        shop.fake._m_tags_add = refuse_customers
        task, moment = a_moment(shop)
        assert "vip-order" in shop.fake.orders[moment.order_id]["tags"]
        assert "vip-prospect" not in shop.fake.customers[moment.customer_id]["tags"]
        card = json.dumps(shop.h.slack.message(moment.slack_channel, moment.slack_ts)["blocks"], ensure_ascii=False)
        assert "failed: Shopify refused tagging Grace Hopper: Customer is locked" in card
        assert "#2001 tagged vip-order" in card
