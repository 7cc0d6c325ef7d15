"""What the helpdesk connectors (integrations/gorgias, integrations/zendesk) share: a
small JSON client with HTTP Basic auth, client-side pacing under the vendor's windows,
and one retry policy.

- Pacing: each `Window` (n requests per s seconds, counted here, in this process) is
  waited out before sending, so we rarely meet a 429; a 429 still waits `Retry-After`
  and tries again (the request was not processed, so even a write is safe to resend).
- Reads (GET) are retried on 5xx and transport errors. Writes are NOT: a lost answer may
  hide a write that happened, so it surfaces as a retryable IntegrationError and the
  adapter checks the ticket for its marker before writing again (policy/tickets.py).
- At most `max_wait` seconds of waiting per call (a job's lease is short): a longer wait
  raises `IntegrationError(retryable=True, retry_after=…)` and the job runner reschedules.
- 401/403 are not retryable and name the settings to check; 404 is NotFound; 409 is
  `Conflict` (Zendesk's safe update). Credentials never appear in a message or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

import httpx

from policy.ports import IntegrationError, NotFound

if TYPE_CHECKING:
    from policy.models import DomainEvent, Ticket
    from policy.ports import PollPage
    from policy.tickets import TicketWrite

log = logging.getLogger(__name__)

MIN_WAIT = 0.05


class Conflict(IntegrationError):
    """409: the object changed since we read it (re-read and try again)."""


@dataclass
class Window:
    """At most `limit` requests in any `seconds`, counted on the client's clock."""

    limit: int
    seconds: float
    sent: deque = field(default_factory=deque)

    def wait(self, now: float) -> float:
        while self.sent and now - self.sent[0] >= self.seconds:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.seconds - now

    def record(self, now: float) -> None:
        self.sent.append(now)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")


def parse_time(value: object) -> datetime | None:
    """A vendor timestamp, leniently: ISO 8601 with or without zone, microseconds, a space
    for the T, "Z". No zone means UTC (Gorgias writes them so). None when unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1).replace("Z", "+00:00")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _seconds(value: str | None) -> float | None:
    try:
        n = float(value) if value is not None else None
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


class JsonClient:
    """One vendor's API: `request()` with pacing, retries and errors in our terms."""

    def __init__(self, base_url: str, auth: str, *, system: str, label: str, auth_hint: str,
                 windows: tuple[Window, ...] = (), http: httpx.Client | None = None, timeout: float = 10.0,
                 max_attempts: int = 4, max_wait: float = 20.0, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth  # never logged
        self.system, self.label, self.auth_hint = system, label, auth_hint
        self.windows = windows
        self._http = http or httpx.Client()
        self.timeout, self.max_attempts, self.max_wait = timeout, max_attempts, float(max_wait)
        self._sleep, self._monotonic = sleep, monotonic
        self._lock = threading.Lock()
        self._hold_until = 0.0  # the vendor said its budget is used up (by anyone): not before this
        self.waited: list[float] = []  # every wait, for tests and the logs

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                windows: tuple[Window, ...] = ()) -> Any:
        """`windows`: limits of this request only (Zendesk's ticket-update limits)."""
        budget = self.max_wait
        what = f"{method} {path.split('?')[0]}"
        url = path if path.startswith("http") else self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            budget = self._pace((*self.windows, *windows), budget, what)
            try:
                response = self._http.request(method, url, params=params, json=json, timeout=self.timeout,
                                              headers={"Authorization": self._auth, "Accept": "application/json"})
            except httpx.TransportError as exc:
                if method != "GET":
                    raise IntegrationError(f"{self.label} {what}: {type(exc).__name__} (the answer was lost; "
                                           f"it may have been done)", system=self.system) from None
                if attempt >= self.max_attempts:
                    raise IntegrationError(f"{self.label} {what}: {type(exc).__name__}", system=self.system) from None
                budget = self._wait(min(0.5 * 2 ** (attempt - 1), 8.0), budget, what)
                continue
            self._observe(response)
            status = response.status_code
            if status == 429 or (status >= 500 and method == "GET"):
                wait = _seconds(response.headers.get("Retry-After")) if status == 429 else None
                if attempt >= self.max_attempts:
                    raise IntegrationError(f"{self.label} {what}: HTTP {status} after {attempt} attempts",
                                           system=self.system, retry_after=wait)
                budget = self._wait(wait if wait is not None else min(0.5 * 2 ** (attempt - 1), 8.0), budget, what)
                continue
            return self._answer(response, what)

    def _observe(self, response: httpx.Response) -> None:
        """Told every response (a vendor that reports its budget in headers reads them)."""

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._hold_until = max(self._hold_until, self._monotonic() + seconds)

    def _answer(self, response: httpx.Response, what: str) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise IntegrationError(f"{self.label} {what}: HTTP {status}: the credentials were refused "
                                   f"({self.auth_hint})", retryable=False, system=self.system)
        if status == 404:
            raise NotFound(f"{self.label} {what}: not found")
        if status == 409:
            raise Conflict(f"{self.label} {what}: HTTP 409: {error_text(response)}", system=self.system)
        if status >= 500:
            raise IntegrationError(f"{self.label} {what}: HTTP {status}", system=self.system)
        if status >= 400:
            raise IntegrationError(f"{self.label} {what}: HTTP {status}: {error_text(response)}", retryable=False,
                                   system=self.system)
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise IntegrationError(f"{self.label} {what}: the answer is not JSON", system=self.system) from None

    def _pace(self, windows: tuple[Window, ...], budget: float, what: str) -> float:
        while True:
            with self._lock:
                now = self._monotonic()
                pause = max([w.wait(now) for w in windows] + [self._hold_until - now])
                if pause <= 0:
                    for w in windows:
                        w.record(now)
                    return budget
            budget = self._wait(pause, budget, what)

    def _wait(self, seconds: float, budget: float, what: str) -> float:
        seconds = max(MIN_WAIT, float(seconds))
        if seconds > budget:
            raise IntegrationError(f"{self.label} {what}: rate limited; try again in {seconds:.0f} s",
                                   system=self.system, retry_after=seconds)
        log.info("helpdesk.wait", extra={"system": self.system, "seconds": round(seconds, 2), "path": what})
        self.waited.append(seconds)
        self._sleep(seconds)
        return budget - seconds


def error_text(response: httpx.Response) -> str:
    """The vendor's reason, from either error shape (`{"error": "x", "description": "y"}` or
    `{"error": {"msg"|"message"|"title": …}}`), at most 200 characters."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        text = " ".join(str(error.get(k)) for k in ("title", "msg", "message") if error.get(k))
    else:
        text = " ".join(str(x) for x in (error, body.get("description")) if x)
    details = body.get("details")
    if isinstance(details, dict) and details:
        text += f" {details}"
    return text[:200]


# --- what both connectors do with tickets ----------------------------------------------------


def ticket_event(ticket: Ticket) -> DomainEvent:
    """A new or changed ticket, as the event the ingest side takes (the ticket as read
    from the API, never the webhook body)."""
    from policy.models import DomainEvent, EventKind

    return DomainEvent(source=ticket.source, kind=EventKind.TICKET_RECEIVED, resource_id=ticket.id,
                       occurred_at=ticket.updated_at, detail={"ticket": ticket.model_dump_json()})


def write_once(ticket_id: str, *, done: Callable[[], TicketWrite | None], write: Callable[[], TicketWrite],
               attempts: int = 3) -> TicketWrite:
    """Check, then act: `done()` looks for the write's marker (a TicketWrite with
    repeat=True when found); else `write()`. A retryable failure (a lost answer, a 409)
    checks again before writing again, so a write that happened is never repeated."""
    failure: IntegrationError | None = None
    for _ in range(attempts):
        found = done()
        if found is not None:
            return found
        try:
            return write()
        except IntegrationError as exc:
            if not exc.retryable or exc.retry_after is not None:
                raise  # refused, or rate limited past our wait budget: the job runner reschedules
            log.info("helpdesk.write_retry", extra={"ticket": ticket_id, "error": str(exc)[:200]})
            failure = exc
    assert failure is not None
    raise failure


CURSOR_LIMIT = 255  # poller_cursors.cursor is a VARCHAR(255)
_KEY_BYTES = 4


def _seen_key(ticket_id: str, updated_at: datetime) -> bytes:
    """A ticket's state, in four bytes: enough to tell the few dozen the cursor remembers apart."""
    return hashlib.sha256(f"{ticket_id}@{updated_at.isoformat()}".encode()).digest()[:_KEY_BYTES]


class TicketPoller:
    """Catch-up over a helpdesk's recently changed tickets, from a stored cursor.

    The cursor is "<since>|<base64 of the ticket states seen since then>", at most 255
    characters (the cursor column). `since` is the time before which every change is
    surely listed: `overlap` before the poll's own clock, because a search index shows a
    change late (Zendesk: minutes). Each poll lists changes from `since` and skips the states
    it remembers (about 40, newest first; in a busier overlap some are read and reported
    twice — a duplicate, never a loss, and webhooks report the same changes anyway). When
    nothing changes, `since` moves on with the clock and nothing is read again.
    Each changed ticket is read again in full (`get_ticket`) and becomes a TICKET_RECEIVED
    event unless `ours(ticket)` (our own write coming back). Oldest first, at most
    `max_per_poll` reads a poll: a backlog, or a rate limit part-way, stops the poll with
    `since` at the last ticket read, and the next poll goes on from there.
    """

    def __init__(self, helpdesk, *, clock: Callable[[], datetime], ours: Callable[[object], bool],
                 first_look_back: float = 2 * 86400, overlap: float = 0.0, max_per_poll: int = 100) -> None:
        self.helpdesk, self.clock, self.ours = helpdesk, clock, ours
        self.first_look_back, self.overlap, self.max_per_poll = first_look_back, overlap, max_per_poll

    @staticmethod
    def parse_cursor(cursor: str | None) -> tuple[datetime | None, list[bytes]]:
        since_text, _, packed = (cursor or "").partition("|")
        try:
            raw = base64.urlsafe_b64decode(packed.encode("ascii")) if packed else b""
        except (ValueError, UnicodeEncodeError):
            raw = b""
        return parse_time(since_text), [raw[i:i + _KEY_BYTES] for i in range(0, len(raw) - _KEY_BYTES + 1, _KEY_BYTES)]

    @staticmethod
    def make_cursor(newest: datetime, seen_newest_first: list[bytes]) -> str:
        head = newest.astimezone(timezone.utc).isoformat() + "|"
        room = (CURSOR_LIMIT - len(head)) * 3 // 4 // _KEY_BYTES  # keys that fit once base64-encoded
        packed = base64.urlsafe_b64encode(b"".join(seen_newest_first[:room])).decode("ascii")
        return head + packed

    def fetch(self, cursor: str | None) -> PollPage:
        from policy.ports import PollPage, Unmapped

        since, remembered = self.parse_cursor(cursor)
        now = self.clock()
        since = since or now - timedelta(seconds=self.first_look_back)
        known = set(remembered)
        kept: list[tuple[datetime, bytes]] = []  # (updated_at, key) to remember
        events, unmapped, read = [], [], 0
        stopped_at: datetime | None = None
        for summary in self.helpdesk.recent_tickets(since):
            key = _seen_key(summary.id, summary.updated_at)
            if key in known:
                kept.append((summary.updated_at, key))
                continue
            if read >= self.max_per_poll:
                stopped_at = summary.updated_at
                break  # the rest next time, from here
            read += 1
            try:
                ticket = self.helpdesk.get_ticket(summary.id)
            except NotFound:
                ticket = None  # deleted or trashed since it was listed
            except IntegrationError as exc:
                if exc.retryable and read == 1:
                    raise  # nothing done yet: the poll retries from the same cursor
                if exc.retryable:
                    stopped_at = summary.updated_at
                    break  # rate limited part-way: keep what we have, go on next time
                unmapped.append(Unmapped(f"ticket:{summary.id}", str(exc)))
                ticket = None
            except (KeyError, ValueError, TypeError) as exc:
                unmapped.append(Unmapped(f"ticket:{summary.id}", f"{type(exc).__name__}: {exc}"))
                ticket = None
            kept.append((summary.updated_at, key))
            if ticket is not None and not self.ours(ticket):
                events.append(ticket_event(ticket))
        complete = now - timedelta(seconds=self.overlap)
        if stopped_at is not None:
            complete = min(complete, stopped_at)
        since = max(since, complete)
        order = [k for at, k in sorted(kept, key=lambda pair: pair[0], reverse=True) if at >= since]
        if stopped_at is not None:  # states not reached this time are still seen
            order += [k for k in remembered if k not in set(order)]
        return PollPage(events=events, cursor=self.make_cursor(since, order), unmapped=unmapped)


MAX_CONTEXT_TICKETS = 5


def tickets_contributor(helpdesk, *, limit: int = MAX_CONTEXT_TICKETS) -> Callable:
    """A case's context gains the customer's most recent tickets (summaries: subject,
    status, link), looked up by the customer's or the order's email."""

    def contribute(ctx):
        email = (ctx.customer.email if ctx.customer is not None else None) or ctx.order.email
        if not email:
            return ctx
        return ctx.model_copy(update={"tickets": tuple(helpdesk.tickets_of(email)[:limit])})

    return contribute
