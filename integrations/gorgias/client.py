"""The Gorgias REST API (reference/gorgias/rest-api-and-http-integrations.md).

`https://{domain}.gorgias.com/api/…`, JSON, HTTP Basic with the user's email and a REST API
key. 40 requests per 20 s for an API key (a leaky bucket; 429 with `Retry-after` beyond
it): paced here under that window, and every answer's `X-Gorgias-Account-Api-Call-Limit:
used/limit` is read — a full bucket (other replicas use the same key) holds the next
request until one call has leaked out (20 s / 40). Lists are cursor-paginated (`cursor`, `limit` ≤ 100,
`meta.next_cursor`); cursors expire quickly, so they are followed at once, never stored.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator

import httpx

from integrations.helpdesk import JsonClient, Window, basic_auth
from policy.ports import IntegrationError

log = logging.getLogger(__name__)

SYSTEM = "gorgias"
LIMIT, WINDOW_SECONDS = 40, 20.0  # API-key integrations (reference: verified)
CALL_LIMIT_HEADER = "X-Gorgias-Account-Api-Call-Limit"
PAGE_LIMIT = 100
MAX_PAGES = 30
AUTH_HINT = "check GORGIAS_EMAIL and GORGIAS_API_KEY (Settings → REST API)"


def default_url(domain: str) -> str:
    return f"https://{domain}.gorgias.com"


class GorgiasAPI(JsonClient):
    def __init__(self, base_url: str, email: str, api_key: str, *, http: httpx.Client | None = None,
                 max_wait: float = 20.0, max_attempts: int = 4, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not email or not api_key:
            raise ValueError("Gorgias needs GORGIAS_EMAIL and GORGIAS_API_KEY")
        super().__init__(base_url, basic_auth(email, api_key), system=SYSTEM, label="Gorgias", auth_hint=AUTH_HINT,
                         windows=(Window(LIMIT, WINDOW_SECONDS),), http=http, max_wait=max_wait,
                         max_attempts=max_attempts, sleep=sleep, monotonic=monotonic)
        self.email = email

    def _observe(self, response: httpx.Response) -> None:
        used, _, limit = (response.headers.get(CALL_LIMIT_HEADER) or "").partition("/")
        if used.strip().isdigit() and limit.strip().isdigit() and int(limit) > 0 and int(used) >= int(limit):
            self.hold(WINDOW_SECONDS / int(limit))

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", "/api" + path, params=params or None)

    def send(self, method: str, path: str, body: Any) -> Any:
        return self.request(method, "/api" + path, json=body)

    def items(self, path: str, *, max_pages: int = MAX_PAGES, stop_at_cap: bool = False,
              **params: Any) -> Iterator[dict]:
        """Every item of a list, page by page (the caller may stop early). More than
        `max_pages` pages is an error, unless `stop_at_cap` (then the first pages only)."""
        params = {"limit": PAGE_LIMIT, **params}
        for _ in range(max_pages):
            page = self.get(path, **params)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise IntegrationError(f"Gorgias {path}: no data list in the answer", retryable=False, system=SYSTEM)
            yield from (item for item in data if isinstance(item, dict))
            cursor = (page.get("meta") or {}).get("next_cursor")
            if not cursor:
                return
            params = {**params, "cursor": cursor}
        if stop_at_cap:
            log.warning("gorgias.list_capped", extra={"path": path, "pages": max_pages})
            return
        raise IntegrationError(f"Gorgias {path}: more than {max_pages} pages", retryable=False, system=SYSTEM)
