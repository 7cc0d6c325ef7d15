"""When the digest is due, and that it is posted exactly once per period: two replicas
racing, a run that died, downtime over several periods, failed posts retried."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from slack_sdk import WebClient

from bot.db import make_engine
from bot.services.digest import LEASE, RETRY_WINDOW, DigestNotConfigured, DigestService
from bot.store import OpsRepo
from bot.store.digest import DigestStore
from integrations.slack.gateway import SlackGateway
from policy.config import parse_policy
from tests.conftest import FrozenClock
from tests.digest.seed import DIGEST_CHANNEL, POLICY, add_case, local, seed_two_weeks
from tests.fakes.slack import FakeSlack

UTC = timezone.utc


def service(engine, clock, gateway, policy=POLICY) -> DigestService:
    return DigestService(engine=engine, ops=OpsRepo(engine) if engine is not None else None, policy=policy,
                         clock=clock, gateway=gateway)


def gateway_for(fake: FakeSlack, **kw) -> SlackGateway:
    return SlackGateway(WebClient(token=fake.token, base_url=fake.base_url, timeout=5),
                        min_interval_per_channel=0, sleep=lambda s: None, **kw)


def running_since_october(engine) -> None:
    """A bot that has been running for a while (a digest is posted only for a period
    returnsbot was running in: tests/digest/test_first_run.py)."""
    add_case(engine, kind="return_request", status="done", opened_at=local(10, 1, 10))


def posts(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == DIGEST_CHANNEL]


# --- periods ---------------------------------------------------------------------------------


def test_period_for_is_the_latest_scheduled_week():
    s = service(None, FrozenClock(), None)
    due = local(11, 23, 9)  # Monday 09:00 in New York
    assert s.period_for(due) == ("2026-W47", local(11, 16, 9), due)
    assert s.period_for(due + timedelta(days=6, hours=23)) == ("2026-W47", local(11, 16, 9), due)
    assert s.period_for(due - timedelta(seconds=1)) == ("2026-W46", local(11, 9, 9), local(11, 16, 9))


def test_the_week_follows_the_store_clock_across_daylight_saving():
    s = service(None, FrozenClock(), None)
    key, start, end = s.period_for(local(11, 2, 10))  # DST ended on Sunday 1 Nov 2026
    assert (start, end) == (datetime(2026, 10, 26, 13, tzinfo=UTC), datetime(2026, 11, 2, 14, tzinfo=UTC))
    assert end - start == timedelta(days=7, hours=1)
    assert key == "2026-W44"


def test_other_days_times_and_zones():
    policy = parse_policy('[store]\ntimezone = "Europe/Berlin"\n[digest]\nday = "friday"\ntime = "17:30"\n')
    s = service(None, FrozenClock(), None, policy)
    key, start, end = s.period_for(datetime(2026, 11, 22, 12, tzinfo=UTC))  # a Sunday
    assert (start, end) == (datetime(2026, 11, 13, 16, 30, tzinfo=UTC), datetime(2026, 11, 20, 16, 30, tzinfo=UTC))
    assert key == "2026-W46"


# --- exactly once ----------------------------------------------------------------------------


def test_two_replicas_racing_post_exactly_once(database_url):
    engines = [make_engine(database_url), make_engine(database_url)]
    clock = FrozenClock(local(11, 23, 9))
    try:
        seed_two_weeks(engines[0])
        with FakeSlack() as fake:
            replicas = [service(e, clock, gateway_for(fake)) for e in engines]
            for round_ in range(4):
                barrier = threading.Barrier(len(replicas))
                results: list[bool] = []

                def run(replica, holder):
                    barrier.wait()
                    results.append(replica.run_due(holder))

                threads = [threading.Thread(target=run, args=(r, f"replica-{i}")) for i, r in enumerate(replicas)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(10)
                assert sorted(results) == [False, True], round_
                assert len(posts(fake)) == round_ + 1
                # every minute after: nothing more
                clock.advance(minutes=1)
                assert not any(r.run_due("late") for r in replicas)
                clock.advance(days=7, minutes=-1)
            assert len(posts(fake)) == 4
            periods = [c.params["metadata"]["event_payload"]["period"] for c in posts(fake)]
            assert periods == ["2026-W47", "2026-W48", "2026-W49", "2026-W50"]
            run = DigestStore(engines[0]).run("2026-W47")
            assert run["status"] == "posted" and run["channel"] == DIGEST_CHANNEL
            assert run["ts"] == fake.messages(DIGEST_CHANNEL)[0]["ts"]
    finally:
        for e in engines:
            e.dispose()


def test_the_posted_ts_and_content_are_recorded(engine, clock):
    seed_two_weeks(engine)
    clock.now = local(11, 23, 9, 0)
    with FakeSlack() as fake:
        assert service(engine, clock, gateway_for(fake)).run_due("a")
        [message] = fake.messages(DIGEST_CHANNEL)
        run = DigestStore(engine).run("2026-W47")
        assert (run["status"], run["ts"], run["posted_at"], run["error"]) == ("posted", message["ts"], clock.now, None)
        assert "Weekly digest · 16–23 Nov 2026" in message["blocks"][0]["text"]["text"]
        assert message["text"].startswith("Weekly digest 16–23 Nov 2026: 10 exceptions opened (last week 5)")


def test_downtime_over_three_periods_posts_the_latest_once(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 2, 9, 1)
    with FakeSlack() as fake:
        s = service(engine, clock, gateway_for(fake))
        assert s.run_due("a")  # the week ending Mon 2 Nov
        clock.now = local(11, 25, 14)  # down since: 9, 16 and 23 Nov were missed
        assert s.run_due("a")
        for _ in range(5):
            clock.advance(minutes=1)
            assert not s.run_due("a")
            assert not s.run_due("b")
        periods = [c.params["metadata"]["event_payload"]["period"] for c in posts(fake)]
        assert periods == ["2026-W44", "2026-W47"]  # W45 and W46 skipped, not repeated
        assert DigestStore(engine).run("2026-W45") is None
        assert "16–23 Nov 2026" in posts(fake)[1].params["text"]


def test_a_run_that_died_is_taken_over_after_its_lease(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 23, 9)
    store = DigestStore(engine)
    assert store.claim("2026-W47", holder="dead", now=clock.now, lease=LEASE, retry_window=RETRY_WINDOW)
    with FakeSlack() as fake:
        s = service(engine, clock, gateway_for(fake))
        assert not s.run_due("b")  # its lease still runs
        clock.advance(seconds=LEASE.total_seconds() - 1)
        assert not s.run_due("b")
        clock.advance(seconds=1)
        assert s.run_due("b")
        clock.advance(minutes=1)
        assert not s.run_due("b")
        assert len(posts(fake)) == 1
        assert store.run("2026-W47")["holder"] == "b"


def test_a_failed_post_is_retried_later_and_posts_once(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 23, 9)
    with FakeSlack() as fake:
        s = service(engine, clock, gateway_for(fake))
        fake.error_next("chat.postMessage", "not_in_channel")
        assert not s.run_due("a")
        run = DigestStore(engine).run("2026-W47")
        assert run["status"] == "failed" and "not_in_channel" in run["error"]
        for _ in range(29):  # Slack refused: next try in 30 minutes
            clock.advance(minutes=1)
            assert not s.run_due("a")
        clock.advance(minutes=1)
        assert s.run_due("b")
        clock.advance(minutes=1)
        assert not s.run_due("a")
        assert len(fake.calls_to("chat.postMessage")) == 2
        assert len(fake.messages(DIGEST_CHANNEL)) == 1
        run = DigestStore(engine).run("2026-W47")
        assert (run["status"], run["error"], run["holder"]) == ("posted", None, "b")


def test_the_digest_reports_its_own_health(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 23, 9)
    ops = OpsRepo(engine)
    with FakeSlack() as fake:
        s = service(engine, clock, gateway_for(fake))
        fake.error_next("chat.postMessage", "not_in_channel")
        s.run_due("a")
        [health] = [h for h in ops.health() if h.system == "slack.digest"]
        assert health.consecutive_failures == 1 and "not_in_channel" in health.last_error
        item = {h.system: h for h in s.compute(local(11, 16, 9), local(11, 23, 9, 1)).health}["slack.digest"]
        assert (item.vendor, item.what, item.hint) == ("Slack", "digest", "invite returnsbot to the channel (/invite @returnsbot)")
        clock.advance(minutes=30)
        assert s.run_due("a")
        [health] = [h for h in ops.health() if h.system == "slack.digest"]
        assert health.ok


def test_slack_unavailable_is_retried_after_five_minutes(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 23, 9)
    with FakeSlack() as fake:
        s = service(engine, clock, gateway_for(fake, max_attempts=2, backoff_base=0))
        fake.fail_next("chat.postMessage", status=503, times=2)
        assert not s.run_due("a")
        assert "SlackUnavailable" in DigestStore(engine).run("2026-W47")["error"]
        clock.advance(minutes=4)
        assert not s.run_due("a")
        clock.advance(minutes=1)
        assert s.run_due("a")
        assert len(fake.messages(DIGEST_CHANNEL)) == 1


def test_retries_stop_after_the_retry_window(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 23, 9)
    with FakeSlack() as fake:
        s = service(engine, clock, gateway_for(fake))
        fake.error_next("chat.postMessage", "channel_not_found", times=1000)
        attempts = 0
        for _ in range(int(RETRY_WINDOW / timedelta(minutes=30)) + 10):
            s.run_due("a")
            attempts = len(fake.calls_to("chat.postMessage"))
            clock.advance(minutes=30)
        assert attempts == RETRY_WINDOW / timedelta(minutes=30)  # one every 30 minutes, then no more
        assert DigestStore(engine).run("2026-W47")["status"] == "failed"
        clock.now = local(11, 30, 9)  # the next week goes out as usual
        fake.reset()
        assert s.run_due("a")


def test_not_configured_claims_nothing_and_post_now_says_why(engine, clock):
    clock.now = local(11, 23, 9)
    assert not service(engine, clock, None).run_due("a")
    assert DigestStore(engine).run("2026-W47") is None
    with pytest.raises(DigestNotConfigured, match="SLACK_BOT_TOKEN"):
        service(engine, clock, None).post_now()
    with FakeSlack() as fake:
        no_channel = service(engine, clock, gateway_for(fake), parse_policy(""))
        assert not no_channel.run_due("a")
        with pytest.raises(DigestNotConfigured, match=r"digest_channel in the \[slack\] table"):
            no_channel.post_now()
        assert fake.calls == []


def test_run_due_never_raises(engine, clock):
    running_since_october(engine)
    clock.now = local(11, 23, 9)

    class Broken:
        def post_message(self, *a, **kw):
            raise RuntimeError("boom")

        def get_permalink(self, *a, **kw):
            raise RuntimeError("boom")

    s = service(engine, clock, Broken())
    assert s.run_due("a") is False
    assert DigestStore(engine).run("2026-W47")["error"] == "RuntimeError: boom"
