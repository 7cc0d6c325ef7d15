"""Small clients for ShipStation's two APIs (reference/shipstation/).

- V1 (`https://ssapi.shipstation.com`): HTTP Basic with the API key and secret. 40 requests
  a minute per key pair; every response says what is left (`X-Rate-Limit-Remaining`) and
  when the window resets (`X-Rate-Limit-Reset`, seconds). With nothing left we wait for
  the reset before sending; a 429 waits the reset and tries again.
- V2 (`https://api.shipstation.com/v2`, ShipEngine's bodies): header `api-key`. 200 a
  minute; a 429 carries `Retry-After`.

Both: reads, plus V2's `POST /v2/tracking/start` (subscribing a number to tracking
webhooks, which subscribing again does not change), so every failure is safe to retry. At most
`max_wait` seconds of waiting per call (rate-limit waits and backoff together), because a
job's lease is short: a wait that would go over is not slept, the call raises
`IntegrationError(retryable=True, retry_after=…)` and the job runner reschedules. 401/403
are not retryable (wrong key). Credentials never appear in a message or a repr.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from policy.ports import IntegrationError

log = logging.getLogger(__name__)

SYSTEM = "shipstation"
V1_DEFAULT_URL = "https://ssapi.shipstation.com"
V2_DEFAULT_URL = "https://api.shipstation.com"
MIN_WAIT = 0.05


class _Paced:
    """The retry loop both APIs share: a 429 or a 5xx waits and tries again within the
    budget; anything else is the caller's."""

    name = SYSTEM

    def __init__(self, base_url: str, *, http: httpx.Client | None, timeout: float, max_attempts: int,
                 max_wait: float, sleep: Callable[[float], None], monotonic: Callable[[], float]) -> None:
        self.base_url = base_url.rstrip("/")
        self._own_http = http is None
        self._http = http or httpx.Client()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = float(max_wait)
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.waited: list[float] = []  # every wait, for tests and the logs

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _before(self) -> float:
        """Seconds to wait before sending (pacing), 0 when none."""
        return 0.0

    def _observe(self, response: httpx.Response) -> None:
        """Told every response (the V1 client reads its rate-limit headers)."""

    def _retry_wait(self, response: httpx.Response) -> float | None:
        raise NotImplementedError

    def get_url(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """GET an absolute URL on this API's host (callers check the host first)."""
        return self._call("GET", url, params)

    def _call(self, method: str, url: str, params: dict[str, Any] | None = None) -> Any:
        budget = self.max_wait
        attempt = 0
        what = urlsplit(url).path or "/"
        while True:
            attempt += 1
            pause = self._before()
            if pause > 0:
                budget = self._wait(pause, budget, what)
            try:
                response = self._http.request(method, url, params=params, headers=self._headers(),
                                              timeout=self.timeout)
            except httpx.TransportError as exc:
                if attempt >= self.max_attempts:
                    raise IntegrationError(f"ShipStation {what}: {type(exc).__name__}", system=SYSTEM) from None
                budget = self._wait(min(0.5 * 2 ** (attempt - 1), 8.0), budget, what)
                continue
            self._observe(response)
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt >= self.max_attempts:
                    raise IntegrationError(f"ShipStation {what}: HTTP {status} after {attempt} attempts",
                                           system=SYSTEM, retry_after=self._retry_wait(response))
                wait = self._retry_wait(response) if status == 429 else None
                budget = self._wait(wait if wait is not None else min(0.5 * 2 ** (attempt - 1), 8.0), budget, what)
                continue
            if status in (401, 403):
                raise IntegrationError(f"ShipStation {what}: HTTP {status}: the API key was refused "
                                       f"(check the key{' and secret' if isinstance(self, ShipStationV1) else ''})",
                                       retryable=False, system=SYSTEM)
            if status == 404:
                raise IntegrationError(f"ShipStation {what}: not found", retryable=False, system=SYSTEM)
            if status >= 400:
                raise IntegrationError(f"ShipStation {what}: HTTP {status}: {_message(response)}",
                                       retryable=False, system=SYSTEM)
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise IntegrationError(f"ShipStation {what}: the answer is not JSON", system=SYSTEM) from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.get_url(self.base_url + path, params)

    def _wait(self, seconds: float, budget: float, what: str) -> float:
        seconds = max(MIN_WAIT, float(seconds))
        if seconds > budget:
            raise IntegrationError(f"ShipStation {what}: rate limited; try again in {seconds:.0f} s",
                                   system=SYSTEM, retry_after=seconds)
        log.info("shipstation.wait", extra={"seconds": round(seconds, 2), "path": what})
        self.waited.append(seconds)
        self._sleep(seconds)
        return budget - seconds


class ShipStationV1(_Paced):
    """The V1 API: shipments, orders, and the SHIP_NOTIFY resource URLs."""

    def __init__(self, base_url: str, api_key: str, api_secret: str, *, http: httpx.Client | None = None,
                 timeout: float = 10.0, max_attempts: int = 4, max_wait: float = 20.0,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not api_key or not api_secret:
            raise ValueError("ShipStation V1 needs the API key and the API secret")
        super().__init__(base_url, http=http, timeout=timeout, max_attempts=max_attempts, max_wait=max_wait,
                         sleep=sleep, monotonic=monotonic)
        pair = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode("ascii")
        self._auth = f"Basic {pair}"  # never logged
        self._remaining: int | None = None
        self._reset_at: float | None = None  # monotonic time the window resets

    def __repr__(self) -> str:
        return f"ShipStationV1(base_url={self.base_url!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._auth, "Accept": "application/json"}

    def _before(self) -> float:
        with self._lock:
            if self._remaining is None or self._remaining > 0 or self._reset_at is None:
                return 0.0
            left = self._reset_at - self._monotonic()
            if left <= 0:
                self._remaining = None  # a new window
                return 0.0
            return left

    def _observe(self, response: httpx.Response) -> None:
        remaining = _number(response.headers.get("X-Rate-Limit-Remaining"))
        reset = _number(response.headers.get("X-Rate-Limit-Reset"))
        with self._lock:
            if remaining is not None:
                self._remaining = int(remaining)
            if reset is not None:
                self._reset_at = self._monotonic() + reset
            if response.status_code == 429:
                self._remaining = 0

    def _retry_wait(self, response: httpx.Response) -> float | None:
        return _number(response.headers.get("X-Rate-Limit-Reset")) or _number(response.headers.get("Retry-After"))

    # --- resources --------------------------------------------------------------------------

    def shipments(self, **params: Any) -> dict:
        return self.get("/shipments", params)

    def orders(self, **params: Any) -> dict:
        return self.get("/orders", params)

    def all_pages(self, path: str, key: str, params: dict[str, Any], *, max_pages: int = 20) -> list[dict]:
        """Every item of a paginated V1 list (`page`/`pages`), at most `max_pages` pages."""
        out: list[dict] = []
        page = 1
        while True:
            body = self.get(path, {**params, "page": page})
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise IntegrationError(f"ShipStation {path}: no {key!r} list in the answer", system=SYSTEM,
                                       retryable=False)
            out.extend(i for i in items if isinstance(i, dict))
            pages = int(body.get("pages") or 1)
            if page >= pages or page >= max_pages:
                return out
            page += 1


class ShipStationV2(_Paced):
    """The V2 API's tracking (ShipEngine's bodies under /v2)."""

    def __init__(self, base_url: str, api_key: str, *, http: httpx.Client | None = None, timeout: float = 10.0,
                 max_attempts: int = 4, max_wait: float = 20.0, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not api_key:
            raise ValueError("ShipStation V2 needs an API key")
        super().__init__(base_url, http=http, timeout=timeout, max_attempts=max_attempts, max_wait=max_wait,
                         sleep=sleep, monotonic=monotonic)
        self._key = api_key

    def __repr__(self) -> str:
        return f"ShipStationV2(base_url={self.base_url!r})"

    def _headers(self) -> dict[str, str]:
        return {"api-key": self._key, "Accept": "application/json"}

    def _retry_wait(self, response: httpx.Response) -> float | None:
        return _number(response.headers.get("Retry-After"))

    def tracking(self, carrier_code: str, tracking_number: str) -> dict:
        return self.get("/v2/tracking", {"carrier_code": carrier_code, "tracking_number": tracking_number})

    def start_tracking(self, carrier_code: str, tracking_number: str) -> None:
        """Subscribe a number to TRACK_EVENT_V2 webhooks (labels made through V1 are not)."""
        self._call("POST", self.base_url + "/v2/tracking/start",
                   {"carrier_code": carrier_code, "tracking_number": tracking_number})


def _number(value: str | None) -> float | None:
    try:
        n = float(value) if value is not None else None
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))[:200]
        return str(body.get("ExceptionMessage") or body.get("Message") or body.get("message") or "")[:200]
    return ""
