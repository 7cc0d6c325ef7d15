"""FakeAnthropic: the Messages API (`POST /v1/messages`) on 127.0.0.1, enforcing what the
real one does (reference/anthropic/messages-api.md) and nothing more. Every request is
recorded, refused ones and retries included.

- The key as `Authorization: Bearer …` (what SDK 2.x sends) or `x-api-key`, else 401
  `authentication_error`. `anthropic-version` is required (400 without).
- Under `anthropic-version: 2026-10-21`, `temperature`, `top_p` or `top_k` → 400
  `invalid_request_error` "<name>: Extra inputs are not permitted", even at defaults.
- `model`, `max_tokens`, `messages` required; a model the reference does not list → 404
  `not_found_error`; a `tool_choice` naming a tool that is not in
  `tools`, or a `tool_result` whose `tool_use_id` is not a `tool_use` of the assistant turn
  before it → 400.
- Answers come from `script` (first in, first out), else from `responder(body)`:
  `tool_use(...)`, `text(...)`, or `failure(status, ...)` (429 `rate_limit_error`, 529
  `overloaded_error`, with `retry-after` when given). `latency` delays every answer.
- `usage` has input/output tokens (≈ 4 characters a token) and the cache fields: a prefix
  (tools, then system) ending in a block with `cache_control` is written to the cache the
  first time (`cache_creation_input_tokens`) and read after (`cache_read_input_tokens`).
  The fake caches prefixes of any length (the real minimum length is not in the reference).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterator

from tests.fakes.local_server import running

API_KEY = "sk-ant-fake-key"
# reference/anthropic/messages-api.md: the SDK 2.15.0 model literal list (the current
# line-up among them). Another id is a 404 `not_found_error`, as from the API.
MODELS = frozenset("""claude-fable-5-2 claude-mythos-5-2 claude-haiku-5-5 claude-sonnet-5-5 claude-fable-5-1
claude-opus-5-5 claude-mythos-5-1 claude-sonnet-5 claude-fable-5 claude-mythos-5 claude-opus-5 claude-opus-4-8
claude-opus-4-7 claude-opus-4-6 claude-sonnet-4-6 claude-haiku-4-5 claude-haiku-4-5-20251001 claude-opus-4-5
claude-opus-4-5-20251101""".split())
VERSION_WITHOUT_SAMPLING = "2026-10-21"
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")


@dataclass
class Reply:
    status: int = 200
    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = "end_turn"
    error_type: str | None = None
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def tool_use(input: dict[str, Any], name: str | None = None) -> Reply:
    """A tool call (the forced tool of the request when `name` is None)."""
    return Reply(content=[{"type": "tool_use", "id": "", "name": name or "", "input": input}], stop_reason="tool_use")


def text(value: str, stop_reason: str = "end_turn") -> Reply:
    return Reply(content=[{"type": "text", "text": value}], stop_reason=stop_reason)


def failure(status: int, *, retry_after: float | None = None) -> Reply:
    kinds = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error", 401: "authentication_error",
             400: "invalid_request_error"}
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    return Reply(status=status, error_type=kinds.get(status, "api_error"),
                 message={529: "Overloaded", 429: "Number of requests has exceeded your rate limit"}.get(status, "Error"),
                 headers=headers)


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int = 0

    @property
    def sent_text(self) -> str:
        """Everything the request carried, as text: for asserting what was (not) sent."""
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class FakeAnthropic:
    api_key: str = API_KEY
    script: list[Reply] = field(default_factory=list)
    responder: Callable[[dict[str, Any]], Reply] | None = None
    latency: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._cache: set[str] = set()
        self.base_url = ""

    @property
    def answered(self) -> list[Request]:
        return [r for r in self.requests if r.status == 200]

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                status, body, headers = fake._handle(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_fake_{next(fake._ids)}")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        with running(Handler, "fake-anthropic") as url:
            self.base_url = url
            yield url

    # --- the API --------------------------------------------------------------------------

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, dict]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = Request(headers=headers, body=body)
        with self._lock:
            self.requests.append(record)
        status, payload, extra = self._answer(path, headers, body)
        record.status = status
        return status, payload, extra

    def _answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict, dict]:
        if path.split("?")[0] != "/v1/messages":
            return _error(404, "not_found_error", f"Not found: {path}")
        bearer = headers.get("authorization", "")
        key = headers.get("x-api-key") or (bearer[7:] if bearer.startswith("Bearer ") else None)
        if key != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        version = headers.get("anthropic-version")
        if not version:
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "request body must be a JSON object")
        problem = _invalid(body, version)
        if problem:
            return _error(400, "invalid_request_error", problem)
        if body["model"] not in MODELS:
            return _error(404, "not_found_error", f"model: {body['model']}")
        with self._lock:
            reply = self.script.pop(0) if self.script else None
        if reply is None:
            reply = self.responder(body) if self.responder else text("OK")
        if self.latency:
            time.sleep(self.latency)
        if reply.status != 200:
            status, payload, _ = _error(reply.status, reply.error_type or "api_error", reply.message)
            return status, payload, reply.headers
        return 200, self._message(body, reply), {}

    def _message(self, body: dict, reply: Reply) -> dict:
        forced = (body.get("tool_choice") or {}).get("name")
        content = []
        for block in reply.content:
            block = dict(block)
            if block["type"] == "tool_use":
                block["id"] = f"toolu_fake_{next(self._ids)}"
                block["name"] = block["name"] or forced or "tool"
            content.append(block)
        cache_write, cache_read, uncached = self._usage(body)
        return {
            "id": f"msg_fake_{next(self._ids)}", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": reply.stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": uncached, "output_tokens": max(1, len(json.dumps(content)) // 4),
                      "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read,
                      "service_tier": "standard"},
        }

    def _usage(self, body: dict) -> tuple[int, int, int]:
        """(cache write, cache read, other input tokens), the prefix being tools then system."""
        blocks = [*(body.get("tools") or [])]
        system = body.get("system")
        blocks += system if isinstance(system, list) else ([{"type": "text", "text": system}] if system else [])
        cut = max((i + 1 for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("cache_control")), default=0)
        prefix = json.dumps(blocks[:cut], sort_keys=True)
        total = len(json.dumps([blocks, body.get("messages")])) // 4
        if not cut:
            return 0, 0, total
        cached = len(prefix) // 4
        with self._lock:
            seen = prefix in self._cache
            self._cache.add(prefix)
        return (0, cached, total - cached) if seen else (cached, 0, total - cached)


def _invalid(body: dict, version: str) -> str | None:
    if version == VERSION_WITHOUT_SAMPLING:
        for name in SAMPLING_PARAMS:
            if name in body:
                return f"{name}: Extra inputs are not permitted"
    for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
        if not isinstance(body.get(name), kind):
            return f"{name}: Field required" if name not in body else f"{name}: wrong type"
    if not body["messages"]:
        return "messages: at least one message is required"
    tools = {t.get("name") for t in body.get("tools") or []}
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool" and choice.get("name") not in tools:
        return f"tool_choice.name: tool {choice.get('name')!r} not found in tools"
    previous: Any = None
    for i, message in enumerate(body["messages"]):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if block.get("type") == "tool_result":
                    ids = {b.get("id") for b in (previous or {}).get("content") or []
                           if isinstance(b, dict) and b.get("type") == "tool_use"}
                    if previous is None or previous.get("role") != "assistant" or block.get("tool_use_id") not in ids:
                        return (f"messages.{i}.content: tool_result block(s) provided when previous message does "
                                "not have a matching tool_use block")
        previous = message
    return None


def _error(status: int, kind: str, message: str) -> tuple[int, dict, dict]:
    return status, {"type": "error", "error": {"type": kind, "message": message},
                    "request_id": "req_fake_error"}, {}
