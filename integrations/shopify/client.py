"""A small, careful client for the Shopify Admin GraphQL API.

- Sends `X-Shopify-Access-Token`; the token is never logged and never appears in an
  exception (messages are also scrubbed of it, in case a server echoes it back).
- Retries with exponential backoff and jitter on 5xx, transport errors and timeouts —
  but only where a retry cannot do something twice: a mutation whose request may have
  reached Shopify (read timeout, 5xx, broken connection after sending) is *not* retried
  here; the error is raised as retryable and the caller's action, which re-reads the
  store's state before writing (see `source.py`), is retried instead. Connection
  failures, throttling and 429s never executed anything and are retried for both.
- Throttling: Shopify's cost-based leaky bucket. A THROTTLED error (message "Throttled"
  or `extensions.code == "THROTTLED"`, on HTTP 200 or 429) waits until the bucket holds
  the document's requested cost again, from `extensions.cost.throttleStatus`; a 429's
  Retry-After is honoured. Every response's bucket is remembered (thread-safe), and
  before sending a document whose cost is known, the client sleeps if the bucket — as
  restored since that response — holds less than the document cost last time, so a busy
  worker slows down instead of being throttled.
- At most `max_wait` seconds of waiting per `execute` (20 s by default: throttle waits,
  Retry-After, backoff and pacing together), because a job's lease is about 30 s. A wait
  that would go over what is left is not slept: `IntegrationError(retryable=True,
  retry_after=seconds)` goes back to the caller, which reschedules.
- Errors: GraphQL `errors` → `IntegrationError` (retryable only for Shopify's internal
  errors); 403 → `IntegrationError(retryable=False)`. A `null` node is for the caller to
  turn into `NotFound`.
- The token: a string, or a zero-argument callable returning the current one (tokens that
  expire are renewed by whoever owns them). On HTTP 401 the client calls
  `on_unauthorized()` (which renews the token) and sends the request once more with the
  new token — a 401 means Shopify did not run it, so this is safe for mutations too; a
  second 401, or a 401 with no `on_unauthorized`, is `IntegrationError(retryable=False)`.
  Concurrent 401s renew once: a thread whose token was already replaced just retries.
- Versions: every response's `X-Shopify-Api-Version` is recorded (`served_version`); when
  it differs from the version in the URL, `version_mismatch` says so and a warning is
  logged once (see `versions.py`).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import httpx

from integrations.shopify.versions import VersionWatch, version_in_url
from policy.ports import IntegrationError

log = logging.getLogger(__name__)

SYSTEM = "shopify"
THROTTLED = "THROTTLED"
# Error codes that say "try again later" rather than "this request is wrong".
# IDEMPOTENCY_CONCURRENT_REQUEST: the same idempotency key is in flight; nothing ran twice.
_RETRYABLE_CODES = {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT", "TIMED_OUT",
                    "IDEMPOTENCY_CONCURRENT_REQUEST"}
VERSION_HEADER = "X-Shopify-Api-Version"
MIN_THROTTLE_WAIT = 0.05  # never spin on a rounding-sized deficit
_OPERATION = re.compile(r"^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?")


@dataclass(frozen=True)
class Bucket:
    """Shopify's view of the cost bucket at a moment of our monotonic clock."""

    maximum: float
    available: float
    restore_rate: float
    at: float

    def available_at(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.at))


class _Unauthorized(Exception):
    """HTTP 401 for the request sent with `token`."""

    def __init__(self, token: str) -> None:
        super().__init__("HTTP 401")
        self.token = token


class _Failure(Exception):
    """One failed attempt; `executed` says whether Shopify may have run the request."""

    def __init__(self, reason: str, *, executed: bool, retryable: bool = True, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.executed = executed
        self.retryable = retryable
        self.wait = wait  # a server-told wait (throttle / Retry-After), else backoff


def _operation(document: str) -> tuple[str, str | None]:
    text = "\n".join(line.split("#", 1)[0] for line in document.splitlines())
    m = _OPERATION.match(text)
    if m is None:
        return "query", None  # `{ … }` shorthand
    return m.group(1), m.group(2)


class ShopifyGraphQL:
    def __init__(
        self,
        url: str,
        access_token: str | Callable[[], str],
        *,
        on_unauthorized: Callable[[], None] | None = None,
        api_version: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_wait: float = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        if not callable(access_token) and not access_token:
            raise ValueError("a Shopify access token is required")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self.url = url
        self._token_source: Callable[[], str] = (
            access_token if callable(access_token) else (lambda token=access_token: token)
        )
        self._on_unauthorized = on_unauthorized
        self._renew_lock = threading.Lock()
        # Every token used (the last few), so that messages can be scrubbed of them.
        self._tokens_seen: list[str] = [] if callable(access_token) else [access_token]
        self.versions = VersionWatch(api_version or version_in_url(url), where="graphql")
        self._own_http = http is None
        self._http = http or httpx.Client()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._monotonic = monotonic
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_wait = float(max_wait)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._bucket: Bucket | None = None
        self._last_cost: dict[str, float] = {}

    def __repr__(self) -> str:  # never the token
        return f"ShopifyGraphQL(url={self.url!r})"

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> ShopifyGraphQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public ------------------------------------------------------------------------------

    @property
    def requested_version(self) -> str | None:
        return self.versions.requested

    @property
    def served_version(self) -> str | None:
        """The version Shopify last said it executed (`X-Shopify-Api-Version`)."""
        return self.versions.served

    @property
    def version_mismatch(self) -> str | None:
        """"Shopify served 2026-07 instead of 2026-10 (…)", or None."""
        return self.versions.mismatch

    @property
    def bucket(self) -> Bucket | None:
        with self._lock:
            return self._bucket

    def last_cost(self, document: str) -> float | None:
        with self._lock:
            return self._last_cost.get(document)

    def execute(
        self, document: str, variables: dict[str, Any] | None = None, *, retry_ambiguous: bool | None = None
    ) -> dict[str, Any]:
        """Run one document; return its `data`. Raises IntegrationError."""
        kind, name = _operation(document)
        op = name or kind
        if retry_ambiguous is None:
            retry_ambiguous = kind != "mutation"
        payload: dict[str, Any] = {"query": document, "variables": variables or {}}
        if name:
            payload["operationName"] = name
        attempt = 0
        waited = 0.0  # seconds slept in this call; max_wait caps it
        while True:
            attempt += 1
            waited += self._pace(document, op, self.max_wait - waited)
            try:
                return self._authorized_attempt(document, payload, op)
            except _Failure as failure:
                may_retry = failure.retryable and (not failure.executed or retry_ambiguous)
                if not may_retry or attempt >= self.max_attempts:
                    if not failure.retryable:
                        raise IntegrationError(self._scrub(failure.reason), retryable=False, system=SYSTEM) from None
                    tail = "" if may_retry else " (not retried here: the request may have been applied)"
                    raise IntegrationError(
                        self._scrub(f"Shopify {op} failed after {attempt} attempt(s): {failure.reason}{tail}"),
                        retryable=True,
                        system=SYSTEM,
                        retry_after=failure.wait,
                    ) from None
                wait = failure.wait if failure.wait is not None else self._backoff(attempt)
                if waited + wait > self.max_wait:
                    log.warning("shopify.wait_capped op=%s attempt=%s wait=%.2f waited=%.2f reason=%s",
                                op, attempt, wait, waited, self._scrub(failure.reason))
                    raise IntegrationError(
                        self._scrub(f"Shopify {op} failed after {attempt} attempt(s): {failure.reason}; "
                                    f"retry in {wait:.1f} s (a call waits at most {self.max_wait:g} s)"),
                        retryable=True,
                        system=SYSTEM,
                        retry_after=wait,
                    ) from None
                log.warning(
                    "shopify.retry op=%s attempt=%s wait=%.2f reason=%s", op, attempt, wait, self._scrub(failure.reason)
                )
                if wait > 0:
                    self._sleep(wait)
                    waited += wait

    # --- the token -----------------------------------------------------------------------------

    def _current_token(self) -> str:
        try:
            token = self._token_source()
        except IntegrationError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the provider raised, said in one line
            raise IntegrationError(
                self._scrub(f"could not get a Shopify access token: {type(exc).__name__}: {exc}"),
                retryable=True, system=SYSTEM,
            ) from None
        if not isinstance(token, str) or not token.strip():
            raise IntegrationError("no Shopify access token is available", retryable=False, system=SYSTEM)
        with self._lock:
            if token not in self._tokens_seen:
                self._tokens_seen.append(token)
                del self._tokens_seen[:-8]
        return token

    def _authorized_attempt(self, document: str, payload: dict[str, Any], op: str) -> dict[str, Any]:
        """One attempt; on a 401, renew the token (once) and send it again."""
        try:
            return self._attempt(document, payload, op, self._current_token())
        except _Unauthorized as first:
            if self._on_unauthorized is None:
                raise _Failure(
                    "Shopify rejected the access token (HTTP 401): it is wrong, expired or revoked",
                    executed=False, retryable=False,
                ) from None
            self._renew(first.token, op)
        try:
            return self._attempt(document, payload, op, self._current_token())
        except _Unauthorized:
            raise _Failure(
                "Shopify rejected the access token (HTTP 401) again after renewing it: "
                "check the app's credentials and that it is still installed on the shop",
                executed=False, retryable=False,
            ) from None

    def _renew(self, rejected: str, op: str) -> None:
        with self._renew_lock:
            if self._current_token() != rejected:
                return  # another thread renewed it meanwhile
            log.debug("shopify.token_renew op=%s reason=http_401", op)  # the failure, if any, is reported
            try:
                self._on_unauthorized()  # type: ignore[misc]
            except IntegrationError as exc:
                raise IntegrationError(self._scrub(str(exc)), retryable=exc.retryable, system=SYSTEM,
                                       retry_after=exc.retry_after) from None
            except Exception as exc:  # noqa: BLE001
                raise IntegrationError(
                    self._scrub(f"renewing the Shopify access token failed: {type(exc).__name__}: {exc}"),
                    retryable=True, system=SYSTEM,
                ) from None

    # --- one attempt ---------------------------------------------------------------------------

    def _attempt(self, document: str, payload: dict[str, Any], op: str, token: str) -> dict[str, Any]:
        headers = {
            "X-Shopify-Access-Token": token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            response = self._http.post(self.url, json=payload, headers=headers, timeout=self.timeout)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Failure(f"timed out connecting ({type(exc).__name__})", executed=False) from None
        except httpx.TimeoutException as exc:
            raise _Failure(f"timed out ({type(exc).__name__})", executed=True) from None
        except httpx.ConnectError as exc:
            raise _Failure(f"could not connect ({type(exc).__name__})", executed=False) from None
        except httpx.TransportError as exc:
            raise _Failure(f"transport error ({type(exc).__name__})", executed=True) from None

        status = response.status_code
        self.versions.observe(response.headers.get(VERSION_HEADER))
        if status == 401:
            raise _Unauthorized(token)
        if status == 403:
            raise _Failure(
                "Shopify rejected the access token (HTTP 403): the app lacks a scope this request needs",
                executed=False, retryable=False,
            )

        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None

        if isinstance(body, dict):
            self._record_cost(document, body)

        if status == 429:
            wait = self._throttle_wait(body)
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                wait = max(wait or 0.0, retry_after)
            log.info("shopify.throttled op=%s status=429 wait=%s", op, wait)
            raise _Failure("throttled (HTTP 429)", executed=False, wait=wait)
        if status >= 500:
            raise _Failure(f"HTTP {status}", executed=True)
        if status >= 400:
            raise _Failure(f"HTTP {status}: {_snippet(response.text)}", executed=False, retryable=False)
        if not isinstance(body, dict):
            raise _Failure(f"HTTP {status} with a body that is not a JSON object", executed=True)

        errors = body.get("errors")
        if errors:
            if isinstance(errors, str):  # REST-style {"errors": "…"}
                errors = [{"message": errors}]
            if any(_is_throttled(e) for e in errors):
                wait = self._throttle_wait(body)
                log.info("shopify.throttled op=%s status=%s wait=%s", op, status, wait)
                raise _Failure("throttled", executed=False, wait=wait)
            messages = "; ".join(_error_text(e) for e in errors)
            retryable = any(_code(e) in _RETRYABLE_CODES for e in errors)
            raise _Failure(f"Shopify GraphQL error in {op}: {messages}", executed=True, retryable=retryable)

        data = body.get("data")
        if not isinstance(data, dict):
            raise _Failure(f"Shopify returned no data for {op}", executed=True)
        return data

    # --- throttling ----------------------------------------------------------------------------

    def _record_cost(self, document: str, body: dict[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost")
        if not isinstance(cost, dict):
            return
        throttle = cost.get("throttleStatus") or {}
        now = self._monotonic()
        with self._lock:
            requested = cost.get("requestedQueryCost")
            if isinstance(requested, (int, float)):
                self._last_cost[document] = float(requested)
            try:
                self._bucket = Bucket(
                    maximum=float(throttle["maximumAvailable"]),
                    available=float(throttle["currentlyAvailable"]),
                    restore_rate=float(throttle["restoreRate"]),
                    at=now,
                )
            except (KeyError, TypeError, ValueError):
                pass

    def _throttle_wait(self, body: Any) -> float | None:
        """Seconds until the bucket holds the requested cost, from the throttled response."""
        if not isinstance(body, dict):
            return None
        cost = (body.get("extensions") or {}).get("cost") or {}
        throttle = cost.get("throttleStatus") or {}
        try:
            requested = float(cost["requestedQueryCost"])
            available = float(throttle["currentlyAvailable"])
            rate = float(throttle["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return None
        if rate <= 0:
            return None
        deficit = requested - available
        if deficit <= 0:
            return 1.0  # throttled although the numbers say otherwise: pause briefly
        return max(deficit / rate, MIN_THROTTLE_WAIT)

    def _pace(self, document: str, op: str, allowed: float) -> float:
        """Sleep before sending if the bucket, restored since the last response, is short;
        return the seconds slept. A wait over `allowed` reserves nothing and raises."""
        with self._lock:
            bucket = self._bucket
            need = self._last_cost.get(document)
            if bucket is None or need is None or bucket.restore_rate <= 0:
                return 0.0
            now = self._monotonic()
            available = bucket.available_at(now)
            wait = (need - available) / bucket.restore_rate if available < need else 0.0
            if wait > allowed:
                log.warning("shopify.wait_capped op=%s pace=%.2f allowed=%.2f", op, wait, allowed)
                raise IntegrationError(
                    f"Shopify {op} not sent: the cost bucket needs {wait:.1f} s to refill "
                    f"(a call waits at most {self.max_wait:g} s)",
                    retryable=True,
                    system=SYSTEM,
                    retry_after=wait,
                )
            # Reserve the points so that other threads pace behind this request.
            self._bucket = Bucket(bucket.maximum, available - need, bucket.restore_rate, now)
        if wait > 0.001:
            log.info("shopify.pace op=%s wait=%.2f need=%.0f available=%.0f", op, wait, need, available)
            self._sleep(wait)
            return wait
        return 0.0

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _scrub(self, text: str) -> str:
        with self._lock:
            tokens = list(self._tokens_seen)
        for token in tokens:
            text = text.replace(token, "[redacted]")
        return text


def _code(error: Any) -> str | None:
    if isinstance(error, dict):
        ext = error.get("extensions")
        if isinstance(ext, dict) and isinstance(ext.get("code"), str):
            return ext["code"]
    return None


def _is_throttled(error: Any) -> bool:
    if _code(error) == THROTTLED:
        return True
    return isinstance(error, dict) and str(error.get("message", "")).strip().lower() == "throttled"


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)[:300]
    message = str(error.get("message", "unknown error"))[:300]
    code = _code(error)
    path = error.get("path")
    where = f" at {'.'.join(str(p) for p in path)}" if isinstance(path, list) and path else ""
    return f"{message}{where}" + (f" [{code}]" if code else "")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to the body or backoff


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")
