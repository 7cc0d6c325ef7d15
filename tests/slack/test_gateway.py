"""SlackGateway against FakeSlack (real HTTP on 127.0.0.1, fake clock for every wait)."""

from __future__ import annotations

import logging
import random
import threading
import traceback

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock

from integrations.slack.gateway import SlackError, SlackGateway, SlackRateLimited, SlackUnavailable

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Return #1001* — $420.00"}}]


def _gateway(client, fake_time, **kw) -> SlackGateway:
    return SlackGateway(client, sleep=fake_time.sleep, monotonic=fake_time.monotonic, rng=random.Random(3), **kw)


# ---------------------------------------------------------------------------- happy paths


def test_post_update_and_ephemeral_are_sent_with_blocks_and_text(gateway, fake_slack):
    ts = gateway.post_message("C1", blocks=BLOCKS, text="Return #1001 needs a decision")
    assert ts == "1700000000.000100"

    gateway.update_message("C1", ts, blocks=[], text="Approved by <@U1>")
    message_ts = gateway.post_ephemeral("C1", "U2", text="Someone else decided first", thread_ts=ts)

    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == "C1"
    assert post.params["blocks"] == BLOCKS
    assert post.params["text"] == "Return #1001 needs a decision"
    assert post.params["unfurl_links"] is False
    assert post.headers["authorization"] == f"Bearer {fake_slack.token}"

    [update] = fake_slack.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("C1", ts)
    assert update.params["text"] == "Approved by <@U1>"
    assert update.params["blocks"] == []

    [eph] = fake_slack.calls_to("chat.postEphemeral")
    assert eph.params == {"channel": "C1", "user": "U2", "text": "Someone else decided first", "thread_ts": ts}
    assert message_ts

    [stored] = fake_slack.messages("C1")
    assert stored["text"] == "Approved by <@U1>" and "blocks" not in stored


def test_slack_sdk_block_objects_are_accepted(gateway, fake_slack):
    gateway.post_message("C1", blocks=[SectionBlock(text="hello")], text="hello")
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["blocks"][0]["type"] == "section"


def test_post_in_thread(gateway, fake_slack):
    parent = gateway.post_message("C1", blocks=BLOCKS, text="card")
    gateway.post_message("C1", blocks=None, text="Refund failed: card expired", thread_ts=parent)
    [_, reply] = fake_slack.calls_to("chat.postMessage")
    assert reply.params["thread_ts"] == parent
    assert "blocks" not in reply.params


def test_views_home_permalink_replies_and_auth(gateway, fake_slack):
    modal = {"type": "modal", "callback_id": "case.deny", "title": {"type": "plain_text", "text": "Deny"}, "blocks": []}
    opened = gateway.open_view("1700000000.1.abc", modal)
    assert opened["id"].startswith("V") and opened["callback_id"] == "case.deny"
    pushed = gateway.push_view("1700000000.1.abc", modal)
    assert pushed["id"] != opened["id"]
    updated = gateway.update_view(opened["id"], modal, hash=opened["hash"])
    assert updated["id"] == opened["id"]

    home = gateway.publish_home("U1", {"type": "home", "blocks": BLOCKS})
    assert home["id"].startswith("V")
    assert fake_slack.calls_to("views.publish")[0].params["user_id"] == "U1"

    ts = gateway.post_message("C1", blocks=BLOCKS, text="card")
    fake_slack.add_reply("C1", ts, user="U1", text="customer called, approve")
    replies = gateway.thread_replies("C1", ts)
    assert [m["ts"] for m in replies][0] == ts
    assert replies[1]["text"] == "customer called, approve"
    assert gateway.get_permalink("C1", ts).endswith(f"/archives/C1/p{ts.replace('.', '')}")

    assert gateway.auth_test()["user_id"] == "UBOT"


# ---------------------------------------------------------------------------- 429


def test_429_waits_retry_after_then_posts_exactly_once(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)

    ts = gateway.post_message("C1", blocks=BLOCKS, text="card")

    assert fake_time.sleeps == [pytest.approx(1.0)]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # refused, then accepted
    assert [m["ts"] for m in fake_slack.messages("C1")] == [ts]  # one message in the channel


def test_429_waits_as_long_as_slack_says(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.update", status=429, retry_after=7, times=2)
    ts = gateway.post_message("C1", blocks=BLOCKS, text="card")
    fake_time.advance(5)

    gateway.update_message("C1", ts, blocks=BLOCKS, text="card v2")

    assert fake_time.sleeps == [pytest.approx(7.0), pytest.approx(7.0)]
    assert fake_slack.message("C1", ts)["text"] == "card v2"


def test_429_without_retry_after_waits_one_second(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.postEphemeral", status=429, retry_after=None)
    gateway.post_ephemeral("C1", "U1", text="hi")
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_429_does_not_use_up_the_server_error_budget(client, fake_slack, fake_time):
    gateway = _gateway(client, fake_time, max_attempts=2)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert len(fake_slack.messages("C1")) == 1


def test_a_long_rate_limit_is_handed_back_to_the_caller(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=600)
    with pytest.raises(SlackRateLimited) as exc:
        gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert exc.value.retry_after == 600
    assert isinstance(exc.value, SlackUnavailable)  # the outbox treats it as "retry later"
    assert fake_time.sleeps == []
    assert fake_slack.messages("C1") == []


def test_a_rate_limit_window_is_shared_by_callers_of_the_method(client, fake_slack, fake_time):
    gateway = _gateway(client, fake_time, max_rate_limited_retries=0)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=5)
    with pytest.raises(SlackRateLimited):
        gateway.post_message("C1", blocks=BLOCKS, text="first")

    gateway.post_message("C2", blocks=BLOCKS, text="second")  # another channel, same method

    assert fake_time.sleeps == [pytest.approx(5.0)]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # no second 429 collected


# ---------------------------------------------------------------------------- the wait cap
# A job's lease is about 30 s: one call never waits more than max_wait (20 s) in total.


def test_a_retry_after_longer_than_the_cap_is_handed_back_without_waiting(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=25)  # under a minute, over the cap
    with pytest.raises(SlackRateLimited) as exc:
        gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert exc.value.retry_after == pytest.approx(25)
    assert fake_time.sleeps == []
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_rate_limit_waits_add_up_to_at_most_the_cap(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.update", status=429, retry_after=8, times=5)  # 40 s of Retry-After in all
    with pytest.raises(SlackRateLimited) as exc:
        gateway.update_message("C1", "1700000000.000001", blocks=BLOCKS, text="x")
    assert fake_time.sleeps == [pytest.approx(8), pytest.approx(8)]  # a third would make 24 s
    assert exc.value.retry_after == pytest.approx(8)
    assert exc.value.attempts == 3
    assert len(fake_slack.calls_to("chat.update")) == 3


def test_a_real_120_second_retry_after_raises_at_once(client, fake_slack):
    import time

    gateway = SlackGateway(client)  # the real clock and the real sleep
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=120)
    started = time.monotonic()
    with pytest.raises(SlackRateLimited) as exc:
        gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert time.monotonic() - started < 2
    assert exc.value.retry_after == pytest.approx(120, abs=1)
    assert isinstance(exc.value, SlackUnavailable)  # the caller's "try again later"


def test_backoff_stops_at_the_cap_and_says_when_to_retry(client, fake_slack, fake_time):
    gateway = _gateway(client, fake_time, max_attempts=10, backoff_base=1.0, backoff_max=30.0, max_wait=5.0)
    fake_slack.fail_next("chat.postMessage", status=503, times=10)
    with pytest.raises(SlackUnavailable) as exc:
        gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert not isinstance(exc.value, SlackRateLimited)
    assert sum(fake_time.sleeps) <= 5.0
    assert len(fake_time.sleeps) == len(fake_slack.calls_to("chat.postMessage")) - 1 < 9
    assert exc.value.status == 503
    assert exc.value.retry_after is not None and sum(fake_time.sleeps) + exc.value.retry_after > 5.0


def test_a_long_pacing_queue_is_handed_back_too(client, fake_slack):
    sleeps: list[float] = []
    gateway = SlackGateway(client, sleep=sleeps.append, monotonic=lambda: 500.0, max_wait=20.0)
    outcomes = []
    for n in range(25):  # all at the same instant, one channel: slots a second apart
        try:
            gateway.post_message("C1", blocks=BLOCKS, text=f"card {n}")
            outcomes.append("posted")
        except SlackRateLimited as exc:
            outcomes.append(round(exc.retry_after))
    assert outcomes == ["posted"] * 21 + [21, 21, 21, 21]  # waits of 0…20 s; refused ones reserve nothing
    assert max(sleeps) == pytest.approx(20.0)
    assert len(fake_slack.messages("C1")) == 21


def test_max_wait_must_not_be_negative(client):
    with pytest.raises(ValueError, match="max_wait"):
        SlackGateway(client, max_wait=-1)


# ---------------------------------------------------------------------------- 5xx / connection


def test_500_twice_backs_off_then_posts_once(gateway, fake_slack, fake_time):
    fake_slack.fail_next("chat.postMessage", status=500, times=2)

    gateway.post_message("C1", blocks=BLOCKS, text="card")

    assert len(fake_slack.calls_to("chat.postMessage")) == 3
    assert len(fake_slack.messages("C1")) == 1
    first, second = fake_time.sleeps
    assert 0.25 <= first <= 0.5  # step 0.5 s: half fixed, half jitter
    assert 0.5 <= second <= 1.0  # step doubles


def test_backoff_grows_and_is_capped(client, fake_time):
    gateway = _gateway(client, fake_time, backoff_base=0.5, backoff_max=4.0)
    waits = [gateway._backoff(n) for n in range(1, 8)]
    assert waits[0] < waits[2] < waits[4]
    assert all(w <= 4.0 for w in waits)
    assert all(w >= 2.0 for w in waits[4:])


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_persistent_5xx_raises_slack_unavailable_after_max_attempts(client, fake_slack, fake_time, status):
    gateway = _gateway(client, fake_time, max_attempts=4)
    fake_slack.fail_next("chat.update", status=status, times=10)

    with pytest.raises(SlackUnavailable) as exc:
        gateway.update_message("C1", "1700000000.000001", blocks=BLOCKS, text="x")

    assert exc.value.attempts == 4 and exc.value.status == status
    assert len(fake_slack.calls_to("chat.update")) == 4
    assert len(fake_time.sleeps) == 3  # a backoff between attempts, none after the last


def test_dropped_connection_is_retried(gateway, fake_slack, fake_time):
    fake_slack.disconnect_next("chat.postMessage")
    gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert len(fake_slack.messages("C1")) == 1
    assert len(fake_time.sleeps) == 1


def test_unreachable_slack_raises_slack_unavailable(fake_time):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = WebClient(token="xoxb-unreachable", base_url=f"http://127.0.0.1:{port}/api/", timeout=2)
    gateway = _gateway(client, fake_time, max_attempts=3)
    with pytest.raises(SlackUnavailable) as exc:
        gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert exc.value.attempts == 3
    assert len(fake_time.sleeps) == 2


def test_service_unavailable_error_code_is_transient(gateway, fake_slack):
    fake_slack.error_next("chat.postMessage", "service_unavailable")
    gateway.post_message("C1", blocks=BLOCKS, text="card")
    assert len(fake_slack.messages("C1")) == 1


# ---------------------------------------------------------------------------- ok: false


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "invalid_blocks", "msg_too_long"])
def test_api_errors_raise_slack_error_without_retry(gateway, fake_slack, fake_time, code):
    fake_slack.error_next("chat.postMessage", code)

    with pytest.raises(SlackError) as exc:
        gateway.post_message("C1", blocks=BLOCKS, text="card")

    assert exc.value.error == code
    assert exc.value.method == "chat.postMessage"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_time.sleeps == []


def test_real_api_errors_from_the_fake(gateway, fake_slack):
    with pytest.raises(SlackError, match="message_not_found"):
        gateway.update_message("C1", "1699999999.000001", blocks=BLOCKS, text="x")
    with pytest.raises(SlackError) as exc:
        gateway.user_groups_members("S404")
    assert exc.value.error == "no_such_subteam"


def test_missing_scope_carries_the_needed_scope(gateway, fake_slack):
    fake_slack.error_next("usergroups.users.list", "missing_scope", needed="usergroups:read", provided="chat:write")
    with pytest.raises(SlackError) as exc:
        gateway.user_groups_members("S1")
    assert exc.value.needed == "usergroups:read"


# ---------------------------------------------------------------------------- trigger ids


@pytest.mark.parametrize("status", [429, 500, 503])
def test_open_view_is_never_retried(gateway, fake_slack, fake_time, status):
    fake_slack.fail_next("views.open", status=status, retry_after=1)
    with pytest.raises(SlackUnavailable):
        gateway.open_view("1700000000.1.abc", {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []})
    assert len(fake_slack.calls_to("views.open")) == 1
    assert fake_time.sleeps == []


def test_open_view_dropped_connection_is_not_retried(gateway, fake_slack, fake_time):
    fake_slack.disconnect_next("views.open")
    with pytest.raises(SlackUnavailable):
        gateway.open_view("1700000000.1.abc", {"type": "modal", "blocks": []})
    assert len(fake_slack.calls_to("views.open")) == 1
    assert fake_time.sleeps == []


def test_expired_trigger_is_a_slack_error(gateway, fake_slack):
    fake_slack.error_next("views.open", "expired_trigger_id")
    with pytest.raises(SlackError) as exc:
        gateway.open_view("1700000000.1.abc", {"type": "modal", "blocks": []})
    assert exc.value.error == "expired_trigger_id"


def test_push_view_is_never_retried(gateway, fake_slack, fake_time):
    fake_slack.fail_next("views.push", status=500)
    with pytest.raises(SlackUnavailable):
        gateway.push_view("1700000000.1.abc", {"type": "modal", "blocks": []})
    assert len(fake_slack.calls_to("views.push")) == 1


def test_open_view_does_not_wait_out_a_rate_limit_window(client, fake_slack, fake_time):
    gateway = _gateway(client, fake_time)
    fake_slack.fail_next("views.open", status=429, retry_after=30)
    with pytest.raises(SlackRateLimited):
        gateway.open_view("t1", {"type": "modal", "blocks": []})
    gateway.open_view("t2", {"type": "modal", "blocks": []})  # next click: try at once
    assert fake_time.sleeps == []


# ---------------------------------------------------------------------------- pacing


def test_two_posts_to_one_channel_are_a_second_apart(gateway, fake_slack, fake_time):
    gateway.post_message("C1", blocks=BLOCKS, text="one")
    gateway.post_message("C1", blocks=BLOCKS, text="two")
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_update_after_post_in_the_same_channel_waits_too(gateway, fake_time):
    ts = gateway.post_message("C1", blocks=BLOCKS, text="one")
    fake_time.advance(0.4)
    gateway.update_message("C1", ts, blocks=BLOCKS, text="one, edited")
    assert fake_time.sleeps == [pytest.approx(0.6)]


def test_different_channels_do_not_wait_for_each_other(gateway, fake_time):
    for channel in ("C1", "C2", "C3"):
        gateway.post_message(channel, blocks=BLOCKS, text="card")
    assert fake_time.sleeps == []


def test_no_wait_once_the_interval_has_passed(gateway, fake_time):
    gateway.post_message("C1", blocks=BLOCKS, text="one")
    fake_time.advance(1.5)
    gateway.post_message("C1", blocks=BLOCKS, text="two")
    assert fake_time.sleeps == []


def test_ephemerals_and_views_are_not_paced(gateway, fake_time):
    gateway.post_message("C1", blocks=BLOCKS, text="one")
    gateway.post_ephemeral("C1", "U1", text="only you")
    gateway.publish_home("U1", {"type": "home", "blocks": []})
    assert fake_time.sleeps == []


def test_pacing_reservations_are_thread_safe(client, fake_slack):
    """Ten threads at the same instant: the five on C1 get five distinct slots a second
    apart, the five on their own channels wait for nothing."""
    waits: list[tuple[str, float]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def sleep(seconds: float) -> None:  # the clock stands still: only reservations decide
        with lock:
            waits.append((threading.current_thread().name, seconds))

    gateway = SlackGateway(client, sleep=sleep, monotonic=lambda: 500.0)

    def post(channel: str) -> None:
        barrier.wait()
        gateway.post_message(channel, blocks=BLOCKS, text="card")

    threads = [threading.Thread(target=post, args=("C1",), name=f"C1-{n}") for n in range(5)]
    threads += [threading.Thread(target=post, args=(f"C{n}",), name=f"C{n}") for n in range(10, 15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    assert sorted(round(w) for name, w in waits if name.startswith("C1-")) == [1, 2, 3, 4]  # the first: no wait
    assert not [w for name, w in waits if not name.startswith("C1-")]
    assert len(fake_slack.messages("C1")) == 5


def test_pacing_with_the_real_clock(client, fake_slack):
    interval = 0.1
    gateway = SlackGateway(client, min_interval_per_channel=interval)
    threads = [threading.Thread(target=gateway.post_message, args=("C1",), kwargs={"blocks": BLOCKS, "text": "x"})
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    arrived = sorted(at for at, method, channel in fake_slack.timeline if channel == "C1")
    assert len(arrived) == 3
    assert arrived[-1] - arrived[0] >= 2 * interval * 0.75


# ---------------------------------------------------------------------------- user groups


def test_user_group_members_are_cached_for_a_minute(gateway, fake_slack, fake_time):
    fake_slack.user_groups = {"S123": ["U1", "U2"]}

    assert gateway.user_groups_members("S123") == {"U1", "U2"}
    fake_slack.user_groups = {"S123": ["U1", "U2", "U3"]}
    fake_time.advance(30)
    assert gateway.user_groups_members("S123") == {"U1", "U2"}  # cached
    assert len(fake_slack.calls_to("usergroups.users.list")) == 1

    fake_time.advance(31)
    assert gateway.user_groups_members("S123") == {"U1", "U2", "U3"}  # refreshed
    assert len(fake_slack.calls_to("usergroups.users.list")) == 2
    assert fake_slack.calls_to("usergroups.users.list")[0].params == {"usergroup": "S123"}


def test_user_group_cache_hands_out_copies_and_can_be_forgotten(gateway, fake_slack):
    fake_slack.user_groups = {"S1": ["U1"], "S2": ["U2"]}
    members = gateway.user_groups_members("S1")
    members.add("U666")
    assert gateway.user_groups_members("S1") == {"U1"}

    gateway.user_groups_members("S2")
    gateway.forget_user_groups("S1")
    gateway.user_groups_members("S1")
    gateway.user_groups_members("S2")
    assert [c.params["usergroup"] for c in fake_slack.calls_to("usergroups.users.list")] == ["S1", "S2", "S1"]


# ---------------------------------------------------------------------------- secrets and the client


def test_the_token_never_reaches_logs_or_exceptions(client, fake_slack, fake_time, caplog):
    gateway = _gateway(client, fake_time, max_attempts=2)
    caplog.set_level(logging.DEBUG)  # slack_sdk included: it logs requests at DEBUG
    raised: list[BaseException] = []

    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    gateway.post_message("C1", blocks=BLOCKS, text="card")
    for script, call in [
        (lambda: fake_slack.fail_next("chat.postMessage", status=500, times=5),
         lambda: gateway.post_message("C1", blocks=BLOCKS, text="x")),
        (lambda: fake_slack.error_next("chat.update", "invalid_blocks"),
         lambda: gateway.update_message("C1", "1.2", blocks=BLOCKS, text="x")),
        (lambda: fake_slack.disconnect_next("auth.test", times=5), gateway.auth_test),
        (lambda: fake_slack.fail_next("views.open", status=429, retry_after=900),
         lambda: gateway.open_view("t", {"type": "modal", "blocks": []})),
    ]:
        script()
        with pytest.raises(Exception) as exc:
            call()
        raised.append(exc.value)

    texts = [caplog.text]
    for exc in raised:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    assert caplog.records, "expected the failures to be logged"
    for text in texts:
        assert fake_slack.token not in text
        assert "Bearer" not in text


def test_the_callers_client_keeps_its_own_retry_handlers(client, fake_time):
    before = list(client.retry_handlers)
    assert before  # slack_sdk retries connection errors once by default …
    gateway = _gateway(client, fake_time)
    assert client.retry_handlers == before  # … the caller's client is left alone …
    assert gateway._client.retry_handlers == []  # … and the gateway owns retries
