"""The Zendesk Support API (reference/zendesk/support-api-and-webhooks.md).

`https://{subdomain}.zendesk.com/api/v2/…`, JSON wrapped in the resource's key, HTTP Basic
with `{email}/token` and the API token. The account-wide limit depends on the plan (200 to
2,500 a minute), so it is met by honouring `Retry-After` on a 429. Update Ticket — the only
way to add a comment — has its own limits, paced here: 100 a minute per account and 30 per
10 minutes per ticket (`update_windows`).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

import httpx

from integrations.helpdesk import JsonClient, Window, basic_auth
from policy.ports import IntegrationError

SYSTEM = "zendesk"
UPDATES_PER_MINUTE = 100  # Update Ticket, per account (support article 8638126078234)
UPDATES_PER_TICKET, TICKET_WINDOW_SECONDS = 30, 600.0  # per ticket, per 10 minutes
MAX_TICKET_WINDOWS = 5000  # per-ticket counts kept before the idle ones are dropped
PAGE_SIZE = 100
MAX_PAGES = 50
SEARCH_MAX_PAGE = 10  # search gives at most 1,000 results: page 11 is a 422
AUTH_HINT = "check ZENDESK_EMAIL and ZENDESK_API_TOKEN (Admin Center → Apps and integrations → Zendesk API)"


def default_url(subdomain: str) -> str:
    return f"https://{subdomain}.zendesk.com"


class ZendeskAPI(JsonClient):
    def __init__(self, base_url: str, email: str, api_token: str, *, http: httpx.Client | None = None,
                 max_wait: float = 20.0, max_attempts: int = 4, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not email or not api_token:
            raise ValueError("Zendesk needs ZENDESK_EMAIL and ZENDESK_API_TOKEN")
        super().__init__(base_url, basic_auth(f"{email}/token", api_token), system=SYSTEM, label="Zendesk",
                         auth_hint=AUTH_HINT, http=http, max_wait=max_wait, max_attempts=max_attempts, sleep=sleep,
                         monotonic=monotonic)
        self.email = email
        self._updates = Window(UPDATES_PER_MINUTE, 60.0)
        self._per_ticket: dict[str, Window] = {}
        self._windows_lock = threading.Lock()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", "/api/v2" + path, params=params or None)

    def update_ticket(self, ticket_id: str, ticket: dict) -> dict:
        """PUT /tickets/{id}, paced under both Update Ticket limits."""
        with self._windows_lock:
            if len(self._per_ticket) > MAX_TICKET_WINDOWS:  # forget tickets not updated for 10 minutes
                now = self._monotonic()
                self._per_ticket = {k: w for k, w in self._per_ticket.items()
                                    if w.sent and now - w.sent[-1] < TICKET_WINDOW_SECONDS}
            window = self._per_ticket.setdefault(str(ticket_id), Window(UPDATES_PER_TICKET, TICKET_WINDOW_SECONDS))
        return self.request("PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": ticket},
                            windows=(self._updates, window)) or {}

    def cursor_items(self, path: str, key: str, **params: Any) -> tuple[list[dict], dict]:
        """Every item of a cursor-paginated list (`page[size]`, `meta.after_cursor`), and the
        side-loaded records (`include=users` → "users") of all pages."""
        params = {"page[size]": PAGE_SIZE, **params}
        items: list[dict] = []
        side: dict[str, list] = {}
        for _ in range(MAX_PAGES):
            page = self.get(path, **params)
            if not isinstance(page, dict) or not isinstance(page.get(key), list):
                raise IntegrationError(f"Zendesk {path}: no {key!r} list in the answer", retryable=False, system=SYSTEM)
            items.extend(i for i in page[key] if isinstance(i, dict))
            for name, records in page.items():
                if name not in (key, "meta", "links") and isinstance(records, list):
                    side.setdefault(name, []).extend(records)
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return items, side
            params = {**params, "page[after]": meta["after_cursor"]}
        raise IntegrationError(f"Zendesk {path}: more than {MAX_PAGES} pages", retryable=False, system=SYSTEM)

    def search(self, query: str, *, sort_by: str = "updated_at", sort_order: str = "asc") -> Iterator[dict]:
        """Search results (offset pages of 100), at most the 1,000 search allows."""
        for page_number in range(1, SEARCH_MAX_PAGE + 1):
            page = self.get("/search", query=query, sort_by=sort_by, sort_order=sort_order, per_page=PAGE_SIZE,
                            page=page_number)
            yield from (r for r in page.get("results") or () if isinstance(r, dict))
            if not page.get("next_page"):
                return
