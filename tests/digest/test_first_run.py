"""First run: the first digest covers only the time since returnsbot started, integration
health shows the latest state, and a digest from the sample store says so."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.schema import integration_health
from bot.services.digest import DigestService
from bot.store import OpsRepo
from bot.store.digest import DigestStore
from integrations.slack.gateway import SlackGateway
from tests.blocks.limits import block_texts, check_limits
from tests.conftest import FrozenClock
from tests.digest.seed import DIGEST_CHANNEL, POLICY, add_case, add_health, add_order, local, seed_two_weeks
from tests.fakes.slack import FakeSlack


def service(engine, clock, fake, **kw) -> DigestService:
    gateway = SlackGateway(WebClient(token=fake.token, base_url=fake.base_url, timeout=5),
                           min_interval_per_channel=0, sleep=lambda s: None)
    return DigestService(engine=engine, ops=OpsRepo(engine), policy=POLICY, clock=clock, gateway=gateway, **kw)


# --- the first digest --------------------------------------------------------------------------


def test_the_first_serve_posts_no_digest_for_a_week_before_the_bot_existed(engine, clock):
    clock.now = local(11, 18, 10)  # Wednesday: the first start; the last period ended Monday 09:00
    with FakeSlack() as fake:
        s = service(engine, clock, fake)
        assert not s.run_due("a")
        assert fake.calls_to("chat.postMessage") == []
        assert DigestStore(engine).run("2026-W46") is None  # nothing claimed: it was never due
        assert DigestStore(engine).started_at() == clock.now  # the bot's start, remembered

        # The bot runs: an order placed before it started (the first poll looks back a day),
        # cases opened since.
        add_order(engine, "before", local(11, 17, 12), "500.00")
        add_order(engine, "after", local(11, 19, 12), "80.00")
        add_case(engine, kind="return_request", status="open", opened_at=local(11, 18, 11), amount="80.00")
        clock.now = local(11, 23, 9, 1)
        assert s.run_due("a")
        [message] = fake.messages(DIGEST_CHANNEL)
        check_limits({"blocks": message["blocks"], "text": message["text"]})
        texts = block_texts(message)
        assert "Weekly digest · 18–23 Nov 2026" in message["blocks"][0]["text"]["text"]
        assert "since returnsbot started on Wed 18 Nov 2026 10:00" in texts
        assert "compared with the week before" not in texts and "last week" not in texts
        assert "*Exceptions opened*\n1\n" in texts
        assert "of 1 order" in texts  # the order placed before the bot started is not counted
        assert message["text"].startswith("Weekly digest 18–23 Nov 2026 (since returnsbot started): 1 exception")


def test_the_start_is_the_earliest_case_when_cases_are_older_than_the_scheduler(engine, clock):
    """A database from before this release (or `returnsbot poll` before the first `serve`)."""
    add_case(engine, kind="return_request", status="open", opened_at=local(11, 20, 8))
    clock.now = local(11, 23, 9, 1)
    with FakeSlack() as fake:
        assert service(engine, clock, fake).run_due("a")
        texts = block_texts(fake.messages(DIGEST_CHANNEL)[0])
        assert "since returnsbot started on Fri 20 Nov 2026 08:00" in texts


def test_a_bot_older_than_the_week_compares_with_the_week_before(engine, clock):
    seed_two_weeks(engine)
    clock.now = local(11, 23, 9, 1)
    with FakeSlack() as fake:
        assert service(engine, clock, fake).run_due("a")
        texts = block_texts(fake.messages(DIGEST_CHANNEL)[0])
        assert "compared with the week before" in texts and "since returnsbot started" not in texts
        assert "(last week 5)" in texts


def test_digest_now_on_the_first_day_covers_only_since_the_start(engine, clock):
    add_case(engine, kind="return_request", status="open", opened_at=local(11, 18, 10))
    clock.now = local(11, 18, 15)
    with FakeSlack() as fake:
        service(engine, clock, fake).post_now()
        message = fake.messages(DIGEST_CHANNEL)[0]
        assert "since returnsbot started on Wed 18 Nov 2026 10:00" in block_texts(message)


# --- integration health: the latest state ------------------------------------------------------


def test_a_fixed_slack_token_is_not_reported_as_never_working(engine, clock):
    """The token was wrong from the first start; it was fixed and the bot restarted. The
    digest is the first thing that reaches Slack: it must not say Slack never worked."""
    seed_two_weeks(engine)
    with engine.begin() as conn:  # seed_two_weeks has a healthy "slack": not this story
        conn.execute(integration_health.delete())
    add_health(engine, "slack", failures=14, error="invalid_auth (case 3)", error_at=local(11, 22, 8))
    add_health(engine, "slack.digest", failures=2, error="SlackError: invalid_auth", error_at=local(11, 22, 8))
    clock.now = local(11, 23, 9, 1)
    with FakeSlack() as fake:
        s = service(engine, clock, fake)
        assert s.run_due("a")
        message = fake.messages(DIGEST_CHANNEL)[0]
        texts = block_texts(message)
        assert "never worked" not in texts and "reconnect" not in texts.lower()
        assert "failing" not in message["text"]
    assert {h.system: h.ok for h in OpsRepo(engine).health()}["slack.digest"]


def test_a_failure_that_a_later_success_fixed_is_not_broken(engine):
    add_health(engine, "shopify.orders", failures=1, error="HTTP 503", error_at=local(11, 20, 8),
               success_at=local(11, 20, 9))  # a counter a lost race left behind
    add_health(engine, "shopify.webhooks", failures=3, error="Shopify rejected the access token (HTTP 401)",
               error_at=local(11, 21, 8), success_at=local(11, 10, 8))
    add_health(engine, "shopify.returns", failures=0, success_at=local(11, 22, 8))  # same token, later
    add_health(engine, "slack", failures=2, error="not_in_channel (case 9)", error_at=local(11, 22, 9))
    s = DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(local(11, 23, 9)), gateway=None)
    health = {h.system: h for h in s.compute(local(11, 16, 9), local(11, 23, 9)).health}
    assert health["shopify.orders"].ok and health["shopify.orders"].failed_this_week
    hooks = health["shopify.webhooks"]
    assert hooks.ok and not hooks.needs_reconnect  # the access token works again (returns poller, later)
    slack = health["slack"]
    assert not slack.ok and slack.hint == "invite returnsbot to the channel (/invite @returnsbot)"


def test_a_credential_failure_after_the_last_success_is_still_reported(engine):
    add_health(engine, "shopify.returns", failures=0, success_at=local(11, 20, 8))
    add_health(engine, "shopify.webhooks", failures=3, error="Shopify rejected the access token (HTTP 401)",
               error_at=local(11, 21, 8), success_at=local(11, 19, 8))
    s = DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(local(11, 23, 9)), gateway=None)
    hooks = {h.system: h for h in s.compute(local(11, 16, 9), local(11, 23, 9)).health}["shopify.webhooks"]
    assert not hooks.ok and hooks.needs_reconnect


# --- the sample store ------------------------------------------------------------------------------


def test_a_digest_from_the_sample_store_says_so(engine, clock):
    seed_two_weeks(engine)
    clock.now = local(11, 23, 9, 1)
    with FakeSlack() as fake:
        assert service(engine, clock, fake, sample_store=True).run_due("a")
        message = fake.messages(DIGEST_CHANNEL)[0]
        assert "Sample store — not a real shop" in block_texts(message)
        assert "sample store" in message["text"].lower()
        check_limits({"blocks": message["blocks"], "text": message["text"]})
