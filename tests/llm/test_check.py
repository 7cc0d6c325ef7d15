"""`returnsbot check` has a claude line: one tiny call per model."""

from __future__ import annotations

from bot.check import _claude
from bot.settings import load_settings


def settings(fake, **changes):
    return load_settings(_env_file=None, anthropic_api_key=fake.api_key, anthropic_base_url=fake.base_url, **changes)


def test_ok_names_both_models_after_one_call_each(fake):
    finding = _claude(settings(fake))
    assert (finding.status, finding.text) == ("ok", "triage claude-haiku-5-5, drafts claude-sonnet-5-5")
    assert [r.body["model"] for r in fake.requests] == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    assert all(r.body["max_tokens"] == 1 for r in fake.requests)


def test_an_unknown_model_or_a_refused_key_fails_once_without_retries(fake):
    finding = _claude(settings(fake, returnsbot_llm_model="claude-sonnet-9"))
    assert finding.status == "FAIL"
    assert finding.text.startswith("claude-sonnet-9: Claude does not know the model (HTTP 404, not_found_error)")
    finding = _claude(load_settings(_env_file=None, anthropic_api_key="sk-ant-nope", anthropic_base_url=fake.base_url))
    assert finding.status == "FAIL" and "refused the API key" in finding.text
    assert len(fake.requests) == 2


def test_without_a_key_nothing_is_called(fake):
    finding = _claude(load_settings(_env_file=None))
    assert finding.status == "ok" and "not configured" in finding.text and fake.requests == []
