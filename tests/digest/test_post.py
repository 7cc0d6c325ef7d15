"""`returnsbot digest --now`: the last 7 days, posted at once to digest_channel."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.services.digest import DigestService
from bot.store.digest import DigestStore
from integrations.slack.gateway import SlackGateway
from tests.blocks.limits import block_texts, check_limits
from tests.digest.seed import DIGEST_CHANNEL, POLICY, local, seed_two_weeks
from tests.fakes.slack import FakeSlack

PERMALINK = "https://returnsbot-test.slack.com/archives/C0REVIEW01/p1700000000000200"


def make(engine, clock, fake) -> DigestService:
    gateway = SlackGateway(WebClient(token=fake.token, base_url=fake.base_url), min_interval_per_channel=0)
    return DigestService(engine=engine, ops=None, policy=POLICY, clock=clock, gateway=gateway)


def test_post_now_posts_the_last_seven_days_to_the_digest_channel(engine, clock):
    seed_two_weeks(engine)
    clock.now = local(11, 23, 9)  # the same week as the scheduled one, so the same figures
    with FakeSlack() as fake:
        ts = make(engine, clock, fake).post_now()
        [message] = fake.messages(DIGEST_CHANNEL)
        assert message["ts"] == ts
        check_limits({"blocks": message["blocks"], "text": message["text"]})
        text = block_texts(message)
        assert "*Exceptions opened*\n10  ▲ 5 (last week 5)" in text
        assert f"<{PERMALINK}|#1009 · Return request · $40.00>" in text  # the one case with a card
        [link] = fake.calls_to("chat.getPermalink")
        assert link.params == {"channel": "C0REVIEW01", "message_ts": "1700000000.000200"}
        [post] = fake.calls_to("chat.postMessage")
        assert post.params["metadata"] == {"event_type": "returnsbot_digest", "event_payload": {"period": "manual"}}
        assert post.params["unfurl_links"] is False
    assert DigestStore(engine).run("2026-W47") is None  # outside the ledger: the scheduled one still goes


def test_post_now_ends_now(engine, clock):
    seed_two_weeks(engine)
    clock.now = local(11, 20, 12)  # Friday noon: Fri 13 noon → now
    with FakeSlack() as fake:
        make(engine, clock, fake).post_now()
        text = fake.messages(DIGEST_CHANNEL)[0]["text"]
        assert text.startswith("Weekly digest 13–20 Nov 2026: 9 exceptions opened")


def test_a_permalink_slack_cannot_give_links_the_channel_instead(engine, clock):
    seed_two_weeks(engine)
    clock.now = local(11, 23, 9) + timedelta(minutes=1)
    with FakeSlack() as fake:
        fake.error_next("chat.getPermalink", "message_not_found")
        make(engine, clock, fake).post_now()
        text = block_texts(fake.messages(DIGEST_CHANNEL)[0])
        assert "<https://slack.com/app_redirect?channel=C0REVIEW01|#1009 · Return request · $40.00>" in text
