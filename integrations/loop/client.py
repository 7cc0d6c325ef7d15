"""Loop Returns' REST API (reference/loop/api-and-webhooks.md), and its refusals in our terms.

- `X-Authorization: <key>`, the bare key (no Bearer). A key without the Returns scope: 401.
- Every body is inspected, whatever the status: Loop answers some refusals with HTTP 200
  and has four error shapes (`{"errors": {message, code}}`, `{"message"}`, `{"content"}`,
  `{"error": {message}}`). An action's success is the JSON `true` (or the string "true",
  as the spec writes it). A refusal raises `LoopRefused` (never retried) with `.code` in
  our words.
- 429 and 5xx are retryable `IntegrationError`s. GETs are retried here within the wait
  budget; POSTs never are (Loop has no idempotency keys: a 500 may have landed, so the
  caller reads the return's state before trying again).
- 300 requests a minute per key, paced by a token bucket sized so that no 60-second window
  holds more (30 at once, then 4.5 a second). At most `max_wait` seconds of waiting per
  call: a longer wait is not slept, the call raises with `retry_after` instead (a job's
  lease is short; the job runner reschedules).
- `get_url` follows a `nextPageUrl` only on the base's own origin: the key is never sent
  elsewhere.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from policy.ports import IntegrationError

log = logging.getLogger(__name__)

SYSTEM = "loop"
DEFAULT_BASE = "https://api.loopreturns.com/api/v1"
AUTH_HEADER = "X-Authorization"
RATE_PER_MINUTE = 300  # per API key (reference: rate-limit page)
BURST = 30  # BURST + the refill over 60 s never exceeds RATE_PER_MINUTE
TIMEOUT_SECONDS = 15.0
DEFAULT_429_WAIT = 2.0  # Loop documents no Retry-After: "pause briefly and retry"

# Our words for Loop's refusals (the lead's card names them; nothing else sees Loop's codes).
FLAGGED, CLOSED, CANCELLED, EXPIRED, IN_REVIEW = "flagged", "closed", "cancelled", "expired", "in_review"
INVALID, NOT_FOUND, UNAUTHORIZED = "invalid", "not_found", "unauthorized"
_BY_LOOP_CODE = {"UNPROCESSABLE_FLAGGED_RETURN": FLAGGED, "NOT_FOUND": NOT_FOUND, "ORDER_NOT_FOUND": NOT_FOUND,
                 "NOT_AUTHORIZED": UNAUTHORIZED}
# Words in Loop's messages ("Return is closed and therefore cannot be processed."), checked in order.
_BY_WORD = (("flagged", FLAGGED), ("cancelled", CANCELLED), ("canceled", CANCELLED), ("expired", EXPIRED),
            ("review", IN_REVIEW), ("closed", CLOSED), ("not found", NOT_FOUND), ("unauthorized", UNAUTHORIZED))
# Keys only a successful body has at its top level (a return, a page of returns, notes, a link).
_SUCCESS_KEYS = frozenset({"id", "returns", "notes", "url"})


class LoopRefused(IntegrationError):
    """Loop refused the request (a state rule, bad input, a refused key): trying again will
    not help. `code` is ours (FLAGGED, CLOSED, …); `loop_message` is Loop's own words."""

    def __init__(self, what: str, *, code: str, loop_message: str, status: int) -> None:
        super().__init__(f"Loop {what}: {loop_message} ({code}, HTTP {status})", retryable=False, system=SYSTEM)
        self.code = code
        self.loop_message = loop_message
        self.status = status


def refusal(status: int, body: Any) -> tuple[str, str] | None:
    """(our code, Loop's message) when the body (or status) says Loop refused; None when
    it is an answer. Any of the four error shapes counts, on any status."""
    message, loop_code = None, None
    if isinstance(body, dict) and not (_SUCCESS_KEYS & body.keys()):
        errors, error = body.get("errors"), body.get("error")
        if isinstance(errors, dict):
            message, loop_code = errors.get("message"), errors.get("code")
            if message is None:  # a validation body: {"message", "errors": {field: [texts]}}
                texts = [t for v in errors.values() for t in (v if isinstance(v, list) else [v]) if isinstance(t, str)]
                message = body.get("message") if isinstance(body.get("message"), str) else "; ".join(texts) or None
        elif isinstance(error, dict):
            message, loop_code = error.get("message"), error.get("http_code") or error.get("code")
        elif isinstance(body.get("message"), str):
            message = body["message"]
        elif isinstance(body.get("content"), str):
            message = body["content"]
    elif body in (False, "false"):
        message = "Loop answered false"
    if message is None and status < 400:
        return None
    if message is None:
        message = f"HTTP {status}"
    return _our_code(status, str(loop_code or ""), str(message)), str(message)


def _our_code(status: int, loop_code: str, message: str) -> str:
    if status in (401, 403) or loop_code in ("GEN-UNAUTHORIZED", "401"):
        return UNAUTHORIZED
    if loop_code in _BY_LOOP_CODE:
        return _BY_LOOP_CODE[loop_code]
    text = message.lower()
    found = next((code for word, code in _BY_WORD if word in text), None)
    if found is not None:
        return found
    return NOT_FOUND if status == 404 else INVALID


class TokenBucket:
    """`take()` → seconds to wait before the next request may go (0: now); the token is
    taken either way, so a caller that then refuses to wait must `give_back()`."""

    def __init__(self, *, capacity: float = BURST, per_second: float = (RATE_PER_MINUTE - BURST) / 60,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.per_second, self._monotonic = float(capacity), float(per_second), monotonic
        self._tokens, self._at = float(capacity), monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.per_second

    def give_back(self) -> None:
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + 1)


class LoopAPI:
    def __init__(self, api_key: str, base: str = DEFAULT_BASE, *, http: httpx.Client | None = None,
                 timeout: float = TIMEOUT_SECONDS, max_attempts: int = 3, max_wait: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 bucket: TokenBucket | None = None) -> None:
        if not api_key:
            raise ValueError("LoopAPI needs an API key")
        self._key = api_key
        self.base = base.rstrip("/")
        self._origin = _origin(self.base)
        self._http = http or httpx.Client()
        self.timeout, self.max_attempts, self.max_wait = timeout, max_attempts, float(max_wait)
        self._sleep = sleep
        self.bucket = bucket or TokenBucket(monotonic=monotonic)
        self.waited: list[float] = []  # every wait slept, for tests and the logs

    def __repr__(self) -> str:  # never the key
        return f"LoopAPI({self.base!r})"

    # --- requests -------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", self.base + path, params=params)

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return self._call("POST", self.base + path, params=params, json=json)

    def get_url(self, url: str) -> Any:
        """GET an absolute URL Loop gave (a page's `nextPageUrl`), only on the base's origin."""
        if _origin(url) != self._origin:
            raise IntegrationError(f"Loop gave a URL on another host ({urlsplit(url).netloc or url[:40]!r}); "
                                   f"not followed", retryable=False, system=SYSTEM)
        return self._call("GET", url)

    # --- the calls the connector and the lead's actions use ---------------------------------

    def details(self, return_id: str | int) -> dict:
        """The authoritative return, amounts in the shop's currency."""
        body = self.get("/warehouse/return/details", return_id=str(return_id), currency_type="shop")
        if not isinstance(body, dict) or "id" not in body:
            raise IntegrationError(f"Loop return {return_id}: the details answer is not a return", retryable=False,
                                   system=SYSTEM)
        return body

    def process(self, return_id: str | int) -> bool:
        """Queue processing (fulfils the outcomes, archives the return). `True` means only
        that Loop accepted the job: `return.closed` or `return.processing.failed` follows."""
        return self._action(return_id, "process")

    def cancel(self, return_id: str | int) -> bool:
        return self._action(return_id, "cancel")

    def flag(self, return_id: str | int) -> bool:
        return self._action(return_id, "flag")

    def close(self, return_id: str | int) -> bool:
        """Close without fulfilling outcomes; Loop closes it in Shopify too."""
        return self._action(return_id, "close")

    def remove(self, return_id: str | int, line_item_ids: list[str]) -> bool:
        if not line_item_ids:
            raise ValueError("remove needs at least one line item id")
        return self._action(return_id, "remove", line_item_id=",".join(str(i) for i in line_item_ids))

    def note(self, return_id: str | int, text: str) -> bool:
        if not text.strip():
            raise ValueError("a Loop note needs some text")
        return self._action(return_id, "note", json={"content": text})

    def notes(self, return_id: str | int) -> list[dict]:
        """The return's notes; Loop answers 422 `false` when there are none."""
        try:
            body = self.get(f"/warehouse/return/{_id(return_id)}/notes")
        except LoopRefused as exc:
            if exc.status == 422 and exc.loop_message == "Loop answered false":
                return []
            raise
        notes = body.get("notes") if isinstance(body, dict) else None
        return [n for n in notes if isinstance(n, dict)] if isinstance(notes, list) else []

    def _action(self, return_id: str | int, name: str, json: Any = None, **params: Any) -> bool:
        body = self.post(f"/warehouse/return/{_id(return_id)}/{name}", json=json, **params)
        if body is True or body == "true":
            return True
        raise LoopRefused(f"{name} return {return_id}", code=INVALID, loop_message=f"unexpected answer {body!r:.80}",
                          status=200)

    # --- one request ----------------------------------------------------------------------

    def _call(self, method: str, url: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        what = f"{method} {urlsplit(url).path.removeprefix(urlsplit(self.base).path) or '/'}"
        budget = self.max_wait
        attempt = 0
        while True:
            attempt += 1
            budget = self._pace(budget, what)
            retryable_failure: IntegrationError | None = None
            try:
                response = self._http.request(method, url, params=params or None, json=json,
                                              headers={AUTH_HEADER: self._key, "Accept": "application/json"},
                                              timeout=self.timeout)
            except httpx.TransportError as exc:
                retryable_failure = IntegrationError(f"Loop {what}: {type(exc).__name__}", system=SYSTEM)
                wait = min(0.5 * 2 ** (attempt - 1), 4.0)
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    given = _retry_after(response)
                    retryable_failure = IntegrationError(
                        f"Loop {what}: HTTP {status}" + (" (rate limited)" if status == 429 else ""),
                        system=SYSTEM, retry_after=given if given is not None else (
                            DEFAULT_429_WAIT if status == 429 else None))
                    wait = given if given is not None else (DEFAULT_429_WAIT if status == 429
                                                            else min(0.5 * 2 ** (attempt - 1), 4.0))
                else:
                    return _answer(what, response)
            # Never retried: a POST (it may have landed) or the last attempt.
            if method != "GET" or attempt >= self.max_attempts or wait > budget:
                raise retryable_failure
            budget = self._sleep_for(wait, budget)

    def _pace(self, budget: float, what: str) -> float:
        wait = self.bucket.take()
        if wait <= 0:
            return budget
        if wait > budget:
            self.bucket.give_back()
            raise IntegrationError(f"Loop {what}: paced to {RATE_PER_MINUTE} requests a minute; try again in "
                                   f"{wait:.1f} s", system=SYSTEM, retry_after=wait)
        return self._sleep_for(wait, budget)

    def _sleep_for(self, seconds: float, budget: float) -> float:
        log.info("loop.wait", extra={"seconds": round(seconds, 2)})
        self.waited.append(seconds)
        self._sleep(seconds)
        return budget - seconds


def _answer(what: str, response: httpx.Response) -> Any:
    status = response.status_code
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = response.text.strip() or None
    refused = refusal(status, body)
    if refused is not None:
        code, message = refused
        raise LoopRefused(what, code=code, loop_message=message[:300], status=status)
    return body


def _id(return_id: str | int) -> str:
    text = str(return_id).strip()
    if not text.isdigit():
        raise ValueError(f"a Loop return id is a number, got {return_id!r}")
    return text


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _retry_after(response: httpx.Response) -> float | None:
    try:
        value = response.headers.get("Retry-After")
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
