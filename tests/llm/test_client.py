"""The client: retries within 30 s honouring retry-after, then gives up; settings."""

from __future__ import annotations

import pytest

from bot.llm.client import Claude, ClaudeUnavailable, from_settings
from bot.settings import SettingsError, load_settings
from tests.fakes.anthropic import failure, text

HELLO = [{"role": "user", "content": "hello"}]


def call(claude: Claude):
    return claude.create(model=claude.classify_model, max_tokens=20, messages=HELLO)


def test_429_then_answer_waits_what_retry_after_says(fake, claude, waits):
    fake.script += [failure(429, retry_after=3), text("hi")]
    answer = call(claude)
    assert answer.content[0]["text"] == "hi"
    assert waits.waits == [3.0]
    assert [r.status for r in fake.requests] == [429, 200]


def test_529_past_the_window_gives_up_after_30_seconds_of_waiting(fake, claude, waits):
    fake.responder = lambda body: failure(529, retry_after=10)
    with pytest.raises(ClaudeUnavailable, match=r"overloaded \(HTTP 529, overloaded_error\), still after 30 s"):
        call(claude)
    assert waits.waits == [10.0, 10.0, 10.0]  # a fourth wait would pass 30 s
    assert [r.status for r in fake.requests] == [529] * 4  # every attempt, counted at the fake


def test_a_retry_after_longer_than_the_window_is_not_waited_for(fake, claude, waits):
    fake.script += [failure(429, retry_after=120)]
    with pytest.raises(ClaudeUnavailable, match="retry-after 120 s is past the 30 s retry window"):
        call(claude)
    assert waits.waits == [] and len(fake.requests) == 1


def test_without_retry_after_it_backs_off_from_one_second(fake, claude, waits):
    fake.script += [failure(529), failure(529), text("ok")]
    call(claude)
    assert waits.waits == [1.0, 2.0]


def test_other_errors_are_not_retried(fake, claude, waits):
    fake.script += [failure(400)]
    with pytest.raises(ClaudeUnavailable, match="refused the request"):
        call(claude)
    assert len(fake.requests) == 1 and waits.waits == []


def test_a_refused_key_is_one_call_and_a_clear_reason(fake, waits):
    claude = Claude(api_key="sk-ant-wrong", classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                    base_url=fake.base_url, sleep=waits.sleep, monotonic=waits.monotonic)
    with pytest.raises(ClaudeUnavailable, match="refused the API key"):
        call(claude)
    assert len(fake.requests) == 1


def test_an_unreachable_api_is_retried_then_given_up(waits):
    claude = Claude(api_key="k", classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                    base_url="http://127.0.0.1:9", retry_seconds=3, sleep=waits.sleep, monotonic=waits.monotonic)
    with pytest.raises(ClaudeUnavailable, match="could not be reached"):
        call(claude)
    assert waits.waits == [1.0, 2.0]


def test_no_sampling_parameter_is_ever_sent(fake, claude):
    fake.script += [text("ok")]
    call(claude)
    assert not {"temperature", "top_p", "top_k"} & set(fake.requests[0].body)


def test_usage_comes_back_as_tokens(fake, claude):
    fake.script += [text("ok")]
    tokens = call(claude).tokens
    assert tokens.calls == 1 and tokens.input > 0 and tokens.output > 0


# --- settings -------------------------------------------------------------------------------


def test_models_default_to_haiku_for_triage_and_sonnet_for_drafts():
    s = load_settings(_env_file=None)
    assert (s.llm_classify_model, s.llm_draft_model) == ("claude-haiku-5-5", "claude-sonnet-5-5")
    assert from_settings(s) is None  # no key: the fallbacks decide


def test_one_model_setting_serves_both_unless_triage_has_its_own():
    s = load_settings(_env_file=None, returnsbot_llm_model="claude-opus-5-5")
    assert (s.llm_classify_model, s.llm_draft_model) == ("claude-opus-5-5", "claude-opus-5-5")
    s = load_settings(_env_file=None, returnsbot_llm_model="claude-opus-5-5",
                      returnsbot_llm_classify_model="claude-haiku-5-5")
    assert (s.llm_classify_model, s.llm_draft_model) == ("claude-haiku-5-5", "claude-opus-5-5")


def test_anthropic_base_url_and_key_reach_the_client(fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", fake.api_key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    claude = from_settings(load_settings(_env_file=None))
    fake.script += [text("ok")]
    call(claude)
    assert fake.requests[0].body["model"] == "claude-haiku-5-5"
    assert "sk-ant" not in repr(claude)


@pytest.mark.parametrize("env, expected", [
    ({"RETURNSBOT_LLM_MODEL": "gpt-5"}, "setting RETURNSBOT_LLM_MODEL: expected a Claude model id"),
    ({"RETURNSBOT_LLM_CLASSIFY_MODEL": "claude-opus-4-1"}, "setting RETURNSBOT_LLM_CLASSIFY_MODEL: claude-opus-4-1 is retired"),
    ({"RETURNSBOT_LLM_RETRY_SECONDS": "45"}, "setting RETURNSBOT_LLM_RETRY_SECONDS: expected seconds from 0 to 30"),
    ({"RETURNSBOT_LLM_TIMEOUT": "0"}, "setting RETURNSBOT_LLM_TIMEOUT: expected seconds from 1 to 120"),
    ({"RETURNSBOT_LLM_MODLE": "claude-haiku-5-5"}, "setting RETURNSBOT_LLM_MODLE: not a returnsbot setting (did you mean RETURNSBOT_LLM_MODEL?)"),
])
def test_bad_llm_settings_name_themselves(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert expected in str(caught.value)


def test_a_slow_answer_times_out_and_is_retried_within_the_window(fake, waits):
    fake.latency = 1.5
    claude = Claude(api_key=fake.api_key, classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                    base_url=fake.base_url, timeout=1, retry_seconds=1, sleep=waits.sleep, monotonic=waits.monotonic)
    with pytest.raises(ClaudeUnavailable, match="timed out, still after 1 s of retries"):
        call(claude)
    assert waits.waits == [1.0] and len(fake.requests) == 2


def test_retry_after_zero_forever_still_ends(fake, claude, waits):
    fake.responder = lambda body: failure(429, retry_after=0)
    with pytest.raises(ClaudeUnavailable, match="rate limited"):
        call(claude)
    assert len(fake.requests) == 10
