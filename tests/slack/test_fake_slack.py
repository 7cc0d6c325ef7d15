"""FakeSlack itself: it must behave like the Web API where our code can tell."""

from __future__ import annotations

import json
import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack import FakeSlack


def test_base_url_and_lifecycle():
    with FakeSlack() as fake:
        assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/api/")
        WebClient(token=fake.token, base_url=fake.base_url).auth_test()
    with pytest.raises(AssertionError):
        fake.base_url  # stopped


def test_json_and_form_bodies_are_recorded_alike(client, fake_slack):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    client.chat_postMessage(channel="C1", text="hi", blocks=blocks)  # slack_sdk sends JSON
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "hi", "blocks": json.dumps(blocks)})  # form

    json_call, form_call = fake_slack.calls_to("chat.postMessage")
    assert json_call.headers["content-type"].startswith("application/json")
    assert json_call.params["blocks"] == blocks
    assert form_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_call.params["blocks"] == blocks  # decoded from the form string
    assert form_call.params["channel"] == "C1"


def test_token_is_checked(fake_slack):
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="xoxb-wrong", base_url=fake_slack.base_url).auth_test()
    assert exc.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=fake_slack.base_url).auth_test()
    assert exc.value.response["error"] == "not_authed"


def test_unknown_method(client):
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.teleport")
    assert exc.value.response.status_code == 200
    assert exc.value.response["error"] == "unknown_method"


def test_post_and_update_like_slack(client, fake_slack):
    first = client.chat_postMessage(channel="C1", text="one")
    second = client.chat_postMessage(channel="C1", text="two")
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C1" and first["message"]["text"] == "one"
    assert first["message"]["bot_id"]

    updated = client.chat_update(channel="C1", ts=first["ts"], text="one, edited")
    assert updated["ts"] == first["ts"] and updated["text"] == "one, edited"
    assert [m["text"] for m in fake_slack.messages("C1")] == ["one, edited", "two"]

    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_update(channel="C1", ts="1.2", text="x")
    with pytest.raises(SlackApiError, match="no_text"), pytest.warns(UserWarning):
        client.chat_postMessage(channel="C1")
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="C1", text="x", blocks=[{"text": "no type"}])


def test_ephemeral_permalink_and_thread(client, fake_slack):
    eph = client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert eph["message_ts"]
    assert fake_slack.ephemerals[0]["user"] == "U1"

    parent = client.chat_postMessage(channel="C1", text="card")["ts"]
    fake_slack.add_reply("C1", parent, user="U2", text="deny please")
    client.chat_postMessage(channel="C1", text="noted", thread_ts=parent)
    thread = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["card", "deny please", "noted"]
    assert thread[0]["reply_count"] == 2

    link = client.chat_getPermalink(channel="C1", message_ts=parent)["permalink"]
    assert link == f"https://returnsbot-test.slack.com/archives/C1/p{parent.replace('.', '')}"


def test_views(client, fake_slack):
    modal = {"type": "modal", "callback_id": "cb", "title": {"type": "plain_text", "text": "T"}, "blocks": [],
             "private_metadata": "42"}
    view = client.views_open(trigger_id="t", view=modal)["view"]
    assert view["id"].startswith("V") and view["private_metadata"] == "42" and view["hash"]
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=view["id"], view=modal, hash="stale")
    assert client.views_update(view_id=view["id"], view=modal, hash=view["hash"])["view"]["id"] == view["id"]

    home1 = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    home2 = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert home1["id"] == home2["id"] == fake_slack.home_views["U1"]["id"]


def test_people(client, fake_slack):
    fake_slack.user_groups = {"S123": ["U1", "U2"]}
    fake_slack.users = {"U1": {"name": "alice", "real_name": "Alice Example", "tz": "America/New_York"}}
    assert client.usergroups_users_list(usergroup="S123")["users"] == ["U1", "U2"]
    user = client.users_info(user="U1")["user"]
    assert user["profile"]["real_name"] == "Alice Example" and user["tz"] == "America/New_York"
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U404")


def test_scripted_failures_are_consumed_in_order(client, fake_slack):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=3)
    fake_slack.fail_next("chat.postMessage", status=503)
    fake_slack.error_next("chat.postMessage", "not_in_channel")

    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "3"
    assert exc.value.response["error"] == "ratelimited"

    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 503

    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert (exc.value.response.status_code, exc.value.response["error"]) == (200, "not_in_channel")

    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    assert len(fake_slack.messages("C1")) == 1


def test_disconnect(fake_slack):
    client = WebClient(token=fake_slack.token, base_url=fake_slack.base_url, retry_handlers=[])
    fake_slack.disconnect_next("auth.test")
    with pytest.raises(Exception) as exc:
        client.auth_test()
    assert not isinstance(exc.value, SlackApiError)  # no HTTP response at all
    assert client.auth_test()["ok"]


def test_thread_safe_and_wait_for(client, fake_slack):
    threads = [threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": str(n)})
               for n in range(20)]
    for t in threads:
        t.start()
    assert len(fake_slack.wait_for("chat.postMessage", 20)) == 20
    for t in threads:
        t.join()
    ts = [m["ts"] for m in fake_slack.messages("C1")]
    assert len(set(ts)) == 20
    with pytest.raises(AssertionError):
        fake_slack.wait_for("views.open", 1, timeout=0.05)

    fake_slack.reset()
    assert fake_slack.calls == [] and fake_slack.messages("C1") == []
