"""One door to the Messages API: the SDK with our retry window, timeouts and token counts.

The SDK's own retries are off (`max_retries=0`): it would obey any `retry-after`, however
long, while a ticket waits. Here a 429, a 529, another 5xx, a timeout or a dropped
connection is retried honouring `retry-after` (else backoff from 1 s), for at most
`retry_seconds` (30 s at most) from the first attempt; past that, or on any other error, a
`ClaudeUnavailable` tells the caller to take its deterministic fallback, with the reason
for the card. Sampling parameters are never sent: API version 2026-10-21 rejects them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from policy.triage import Tokens

log = logging.getLogger(__name__)


def _anthropic():
    """The SDK, imported when first needed: it costs one to two seconds of start-up that
    a bot without ANTHROPIC_API_KEY, and every short `returnsbot` command, should not pay."""
    import anthropic

    return anthropic


def _retryable() -> tuple[type[Exception], ...]:
    sdk = _anthropic()
    return sdk.RateLimitError, sdk.InternalServerError, sdk.APIConnectionError

_BACKOFF_START, _BACKOFF_CAP = 1.0, 8.0
_MAX_ATTEMPTS = 10  # a server answering "retry-after: 0" every time still ends


class ClaudeUnavailable(Exception):
    """No usable answer: the reason is one line for the card and the log."""


@dataclass(frozen=True)
class Answer:
    content: list[dict[str, Any]]
    stop_reason: str | None
    tokens: Tokens
    model: str

    def tool_input(self, name: str) -> dict[str, Any] | None:
        for block in self.content:
            if block.get("type") == "tool_use" and block.get("name") == name:
                value = block.get("input")
                return value if isinstance(value, dict) else None
        return None

    def tool_use_id(self, name: str) -> str | None:
        return next((b.get("id") for b in self.content if b.get("type") == "tool_use" and b.get("name") == name), None)


@dataclass
class Claude:
    api_key: str = field(repr=False)
    classify_model: str
    draft_model: str
    base_url: str | None = None
    timeout: float = 20.0
    retry_seconds: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._sdk = _anthropic().Anthropic(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout,
                                        max_retries=0)

    def create(self, *, model: str, max_tokens: int, messages: list[dict[str, Any]],
               system: str | list[dict[str, Any]] | None = None, tools: list[dict[str, Any]] | None = None,
               tool_choice: dict[str, Any] | None = None, purpose: str = "call") -> Answer:
        params: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
        if system is not None:
            params["system"] = system
        if tools is not None:
            params["tools"] = tools
        if tool_choice is not None:
            params["tool_choice"] = tool_choice
        sdk = _anthropic()
        started = self.monotonic()
        attempt = 0
        while True:
            try:
                message = self._sdk.messages.create(**params)
            except _retryable() as err:
                wait = _retry_after(err)
                wait = wait if wait is not None else min(_BACKOFF_CAP, _BACKOFF_START * 2 ** attempt)
                if self.monotonic() + wait - started > self.retry_seconds or attempt + 1 >= _MAX_ATTEMPTS:
                    raise ClaudeUnavailable(f"{_describe(err)}, still after {self.retry_seconds:g} s of retries"
                                            if attempt else f"{_describe(err)} (retry-after {wait:g} s is past the "
                                            f"{self.retry_seconds:g} s retry window)") from None
                log.info("llm.retry", extra={"purpose": purpose, "model": model, "error": _describe(err),
                                             "wait_s": wait, "attempt": attempt + 1})
                self.sleep(wait)
                attempt += 1
                continue
            except sdk.APIStatusError as err:
                raise ClaudeUnavailable(_describe(err)) from None
            except sdk.AnthropicError as err:
                raise ClaudeUnavailable(f"Claude could not be called: {type(err).__name__}") from None
            answer = _answer(message)
            # Field names avoid "token": the log formatter redacts any field named like one.
            log.info("llm.answer", extra={"purpose": purpose, "model": model, "stop_reason": answer.stop_reason,
                                          "usage_in": answer.tokens.input, "usage_out": answer.tokens.output,
                                          "usage_cache_read": answer.tokens.cache_read,
                                          "usage_cache_write": answer.tokens.cache_creation})
            return answer

    def ping(self) -> str:
        """One tiny call per configured model, no retries (for `returnsbot check`): what
        works, else `ClaudeUnavailable` naming the model that does not."""
        for model in dict.fromkeys((self.classify_model, self.draft_model)):
            probe = Claude(api_key=self.api_key, classify_model=model, draft_model=model, base_url=self.base_url,
                           timeout=min(self.timeout, 10.0), retry_seconds=0)
            try:
                probe.create(model=model, max_tokens=1, messages=[{"role": "user", "content": "ping"}], purpose="ping")
            except ClaudeUnavailable as exc:
                raise ClaudeUnavailable(f"{model}: {exc}") from None
        return f"triage {self.classify_model}, drafts {self.draft_model}"


def from_settings(settings: Any, **overrides: Any) -> Claude | None:
    """The client the settings describe; None without ANTHROPIC_API_KEY (the fallbacks decide)."""
    if settings.anthropic_api_key is None:
        return None
    return Claude(api_key=settings.anthropic_api_key.get_secret_value(),
                  classify_model=settings.llm_classify_model, draft_model=settings.llm_draft_model,
                  base_url=str(settings.anthropic_base_url).rstrip("/") if settings.anthropic_base_url else None,
                  timeout=settings.returnsbot_llm_timeout, retry_seconds=settings.returnsbot_llm_retry_seconds,
                  **overrides)


def _answer(message: Any) -> Answer:
    usage = message.usage
    tokens = Tokens(input=usage.input_tokens or 0, output=usage.output_tokens or 0,
                    cache_creation=getattr(usage, "cache_creation_input_tokens", None) or 0,
                    cache_read=getattr(usage, "cache_read_input_tokens", None) or 0, calls=1)
    # Without unset fields (`caller: null` …): the content goes back as the next assistant turn.
    content = [block.model_dump(mode="json", exclude_none=True) for block in message.content]
    return Answer(content=content, stop_reason=message.stop_reason, tokens=tokens, model=message.model)


def _retry_after(err: Exception) -> float | None:
    response = getattr(err, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue  # an HTTP date: rare from this API; back off instead
    return None


def _describe(err: Exception) -> str:
    sdk = _anthropic()
    if isinstance(err, sdk.APITimeoutError):
        return "Claude timed out"
    if isinstance(err, sdk.APIConnectionError):
        return "Claude could not be reached"
    status = getattr(err, "status_code", None)
    kind = None
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        kind = (body.get("error") or {}).get("type") if isinstance(body.get("error"), dict) else None
    names = {429: "rate limited", 529: "overloaded", 401: "refused the API key", 400: "refused the request",
             404: "does not know the model", 403: "refused the key for this", 402: "refused: billing"}
    return f"Claude {names.get(status, 'failed')} (HTTP {status}{', ' + kind if kind else ''})"
