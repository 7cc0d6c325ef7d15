"""`/policy simulate` end to end: a signed slash command, acked with nothing but the ack,
then the replay after it and a private answer (the response_url is unreachable here, so
chat.postEphemeral carries it). Approvers only; a bad key is the policy file's error."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from bot.services.policy_sim import PolicySimulator
from tests.fakes import slack_requests as sr
from tests.loop.harness import POLICY, T1, T2A
from tests.slack.dispatch import app_for

CHANNEL = "C0REVIEW01"
NOBODY = "U0NOTINANY"


def command(text: str, user: str) -> tuple[bytes, str]:
    body, ctype = sr.slash_command("/policy", text, user_id=user, channel_id=CHANNEL)
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    fields["response_url"] = "http://127.0.0.1:9/unreachable"  # refused at once: the fallback answers
    return urlencode(fields).encode(), ctype


@pytest.fixture
def h(database_url, tmp_path):
    running = tmp_path / "policy.toml"
    running.write_text(POLICY, encoding="utf-8")
    with app_for(database_url) as h:
        h.services.simulator = PolicySimulator(engine=h.c.engine, running=str(running), gateway=h.c.gateway,
                                               clock=h.c.clock)
        for order in ("#1029", "#1031", "#1041"):  # two late denies and a plain refund
            h.open_case(order)
        yield h


def _answer(h, user: str) -> dict:
    (call,) = [c for c in h.slack.calls_to("chat.postEphemeral") if c.params.get("user") == user]
    return call.params


def test_an_approver_gets_the_summary_of_one_changed_key_privately(h):
    resp = h.dispatch(*command("simulate returns.window_days=60", T2A))
    assert resp.status == 200
    assert h.slack.calls_to("chat.postEphemeral") == []  # nothing before the ack
    h.run_background()
    answer = _answer(h, T2A)
    assert answer["channel"] == CHANNEL
    assert answer["text"].startswith("Simulated returns.window_days=60 (last 90d): 3 cases replayed; 2 cases")
    blocks = str(answer["blocks"])
    assert "deny → refund" in blocks and "#1029 Zoe Adams" in blocks
    assert "deny → exchange" in blocks and "#1031 Jamal Carter" in blocks


def test_a_tier_one_approver_may_simulate_too(h):
    h.dispatch(*command("simulate vip.lifetime_spend=100", T1))
    h.run_background()
    assert _answer(h, T1)["text"].startswith("Simulated vip.lifetime_spend=100")


def test_someone_who_approves_nothing_is_refused(h):
    h.dispatch(*command("simulate returns.window_days=60", NOBODY))
    h.run_background()
    assert _answer(h, NOBODY)["text"].startswith("Only approvers can simulate policy changes")


def test_a_mistyped_key_is_the_policy_files_error_and_nothing_is_simulated(h):
    h.dispatch(*command("simulate returns.retrun_window=60", T2A))
    h.run_background()
    text = _answer(h, T2A)["text"]
    assert "nothing was simulated" in text
    assert "unknown key 'retrun_window' in [returns] (did you mean 'window_days'?)" in text
    h.dispatch(*command("simulate returns.window_days=soon", T2A))
    h.run_background()
    later = [c.params["text"] for c in h.slack.calls_to("chat.postEphemeral")][-1]
    assert "returns.window_days: expected a whole number, got 'soon'" in later


def test_the_newest_policy_file_shared_here_is_simulated(h):
    h.slack.add_file("F0OLDPOLICY", "old.toml", b"[returns]\nwindow_days = 31\n", user=T2A, channel=CHANNEL)
    h.slack.add_file("F0NEWPOLICY", "new.toml", b"[returns]\nwindow_days = 60\n", user=T2A, channel=CHANNEL)
    h.dispatch(*command("simulate", T2A))
    h.run_background()
    assert h.slack.downloads == ["F0NEWPOLICY"]
    assert _answer(h, T2A)["text"].startswith("Simulated new.toml (last 90d): 3 cases replayed; 2 cases")


def test_a_linked_file_with_a_typo_names_its_line(h):
    h.slack.add_file("F0BADPOLICY", "bad.toml", b"# ours\n[returns]\nwindow_dayz = 60\n", user=T2A, channel=CHANNEL)
    h.dispatch(*command("simulate https://example.slack.com/files/U0TIERTWOA/F0BADPOLICY/bad.toml", T2A))
    h.run_background()
    assert "bad.toml:3: unknown key 'window_dayz' in [returns]" in _answer(h, T2A)["text"]


def test_no_file_shared_says_what_to_do(h):
    h.dispatch(*command("simulate", T2A))
    h.run_background()
    assert _answer(h, T2A)["text"].startswith("No .toml file you shared in this conversation")
