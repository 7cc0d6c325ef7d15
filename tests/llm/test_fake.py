"""FakeAnthropic enforces what the Messages API does (reference/anthropic/messages-api.md)."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.anthropic import text

HELLO = [{"role": "user", "content": "hello"}]


def sdk(fake, **kwargs) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.base_url, max_retries=0, **{"api_key": fake.api_key, **kwargs})


def test_the_sdk_sends_the_key_as_bearer_and_the_2026_version(fake):
    sdk(fake).messages.create(model="claude-haiku-5-5", max_tokens=10, messages=HELLO)
    (request,) = fake.requests
    assert request.headers["authorization"] == f"Bearer {fake.api_key}"
    assert "x-api-key" not in request.headers
    assert request.headers["anthropic-version"] == "2026-10-21"


def test_x_api_key_is_accepted_too_and_a_wrong_key_is_401(fake):
    import httpx

    ok = httpx.post(f"{fake.base_url}/v1/messages", headers={"x-api-key": fake.api_key, "anthropic-version": "2026-10-21"},
                    json={"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO})
    assert ok.status_code == 200 and ok.json()["model"] == "claude-haiku-5-5"
    with pytest.raises(anthropic.AuthenticationError) as caught:
        sdk(fake, api_key="sk-ant-wrong").messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)
    assert caught.value.body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("name, value", [("temperature", 1.0), ("top_p", 1.0), ("top_k", 5)])
def test_sampling_parameters_are_400_even_at_defaults(fake, name, value):
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk(fake).messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO, extra_body={name: value})
    assert caught.value.body["error"] == {"type": "invalid_request_error",
                                          "message": f"{name}: Extra inputs are not permitted"}


def test_a_tool_result_without_its_tool_use_is_400(fake):
    with pytest.raises(anthropic.BadRequestError):
        sdk(fake).messages.create(model="claude-haiku-5-5", max_tokens=5, messages=[
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "no"}]}])


def test_a_forced_tool_must_be_one_of_the_tools(fake):
    with pytest.raises(anthropic.BadRequestError):
        sdk(fake).messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO,
                                  tool_choice={"type": "tool", "name": "missing"})


def test_a_cached_system_prompt_is_written_once_then_read(fake):
    fake.script += [text("one"), text("two")]
    system = [{"type": "text", "text": "You are helpful. " * 50, "cache_control": {"type": "ephemeral"}}]
    first = sdk(fake).messages.create(model="claude-sonnet-5-5", max_tokens=5, system=system, messages=HELLO)
    second = sdk(fake).messages.create(model="claude-sonnet-5-5", max_tokens=5, system=system, messages=HELLO)
    assert first.usage.cache_creation_input_tokens > 0 and not first.usage.cache_read_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert not second.usage.cache_creation_input_tokens
