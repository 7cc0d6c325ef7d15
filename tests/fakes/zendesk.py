"""FakeZendesk: the parts of the Zendesk Support API the bot uses, enforcing what the real
one does (reference/zendesk/support-api-and-webhooks.md) and nothing more. Every request is
recorded in `calls` (refused, rate-limited, conflicting and lost ones included).

- Basic auth `{email}/token:{api_token}`, else 401 `{"error": "Couldn't authenticate you"}`.
- Rate limits on the fake's clock: the account's plan limit (`account_limit` a minute,
  Enterprise's 700 by default) for every request; Update Ticket 100 a minute per account
  and 30 per 10 minutes per ticket. Beyond → 429 with `Retry-After`.
- `PUT /api/v2/tickets/{id}` `{"ticket": {...}}`: a `comment` (body required; `public`
  false = internal note; `author_id` default the API user), `status`, `tags` (replace).
  `safe_update` with an `updated_stamp` other than the ticket's `updated_at` → 409
  `{"error": "UpdateConflict"}`. A closed ticket → 422. Answers `{"ticket", "audit"}`.
- `GET /tickets/{id}/comments`: cursor pages (`page[size]` ≤ 100, `page[after]`,
  `meta.has_more/after_cursor`), `include=users` side-loads the authors.
- `GET /api/v2/search`: `type:ticket`, `updated>=`/`updated>`/`requester:`, sort, offset
  pages of ≤ 100; page 11 → 422 (1,000 results at most). A ticket changed less than
  `index_lag` seconds ago is not in the index yet.
- `users/me`, `users/{id}`, `users/search?query=email:…`.
- `sign(body, at)`: a webhook delivery's headers, base64 HMAC-SHA256 over timestamp + body.

`before_update`: called (with the ticket) just before an update is applied — a customer's
message arriving between our read and our write.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from tests.fakes.helpdesk_http import Call, Recorder

EMAIL, API_TOKEN = "bot@ridgeline.example", "zendesk-api-token"
WEBHOOK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="  # Zendesk's fixed test secret
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


def zstamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class _Window:
    limit: int
    seconds: float
    sent: list[float] = field(default_factory=list)

    def take(self, now: float) -> float | None:
        """None when allowed (and counted); else seconds until it would be."""
        self.sent = [t for t in self.sent if now - t < self.seconds]
        if len(self.sent) >= self.limit:
            return self.sent[0] + self.seconds - now
        self.sent.append(now)
        return None


@dataclass
class FakeZendesk(Recorder):
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc))
    mono: float = 0.0
    account_limit: int = 700
    index_lag: float = 0.0
    tickets: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, list[dict]] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)
    indexed: dict[int, float] = field(default_factory=dict)  # ticket → mono time of its last change
    before_update: Callable[[dict], None] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._account = _Window(self.account_limit, 60.0)
        self._updates = _Window(100, 60.0)
        self._per_ticket: dict[int, _Window] = {}
        self._next = 1000
        self.me = self.add_user(EMAIL, "Returns Bot", role="admin")

    # --- clock and data -------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.mono += seconds
            self.now += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self.mono

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_user(self, email: str, name: str, *, role: str = "end-user", locale: str = "en-US") -> int:
        uid = self._id()
        self.users[uid] = {"id": uid, "email": email, "name": name, "role": role, "active": True, "locale": locale}
        return uid

    def add_ticket(self, subject: str, *, email: str, name: str = "Test Customer", text: str = "Hello",
                   tags: tuple[str, ...] = (), status: str = "new", locale: str = "en-US", channel: str = "email",
                   satisfaction: str | None = None) -> int:
        requester = next((u["id"] for u in self.users.values() if u["email"] == email), None) \
            or self.add_user(email, name, locale=locale)
        tid = self._id()
        self.tickets[tid] = {
            "id": tid, "url": f"https://ridgeline.zendesk.com/api/v2/tickets/{tid}.json", "external_id": None,
            "type": "question", "subject": subject, "raw_subject": subject, "description": text, "priority": "normal",
            "status": status, "requester_id": requester, "submitter_id": requester, "assignee_id": None,
            "tags": list(tags), "custom_fields": [], "via": {"channel": channel},
            "satisfaction_rating": {"score": satisfaction} if satisfaction else None,
            "created_at": zstamp(self.now), "updated_at": zstamp(self.now)}
        self.comments[tid] = []
        self._comment(tid, {"body": text, "public": True, "author_id": requester})
        return tid

    def customer_comment(self, ticket_id: int, text: str) -> None:
        self._comment(ticket_id, {"body": text, "public": True, "author_id": self.tickets[ticket_id]["requester_id"]})
        self._touch(self.tickets[ticket_id])

    def _comment(self, tid: int, c: dict) -> dict:
        cid = self._id()
        comment = {"id": cid, "type": "Comment", "author_id": c.get("author_id") or self.me, "body": c["body"],
                   "html_body": f"<p>{c['body']}</p>", "plain_body": c["body"], "public": c.get("public", True) is not False,
                   "attachments": [], "audit_id": self._id(), "via": {"channel": "api"}, "metadata": {},
                   "created_at": zstamp(self.now)}
        self.comments[tid].append(comment)
        self.indexed[tid] = self.mono
        return comment

    def _touch(self, t: dict) -> None:
        # Zendesk's updated_at has whole seconds: a change always moves it on.
        previous = _parse(t["updated_at"])
        t["updated_at"] = zstamp(max(self.now, previous + timedelta(seconds=1)))
        self.indexed[t["id"]] = self.mono

    # --- webhooks -------------------------------------------------------------------------

    @staticmethod
    def sign(body: bytes, at: datetime | str, secret: str = WEBHOOK_SECRET) -> dict:
        ts = at if isinstance(at, str) else zstamp(at)
        sig = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
        return {"X-Zendesk-Webhook-Signature": sig, "X-Zendesk-Webhook-Signature-Timestamp": ts,
                "Content-Type": "application/json"}

    def event(self, ticket_id: int, kind: str = "ticket.comment_added", *, actor: int | None = None) -> bytes:
        t = self.tickets[ticket_id]
        return json.dumps({"type": f"zen:event-type:{kind}", "account_id": 88888888, "id": f"01EV{self._id()}",
                           "time": zstamp(self.now), "zendesk_event_version": "2022-11-06",
                           "subject": f"zen:ticket:{ticket_id}",
                           "detail": {"id": str(ticket_id), "status": t["status"].upper(),
                                      "actor_id": str(actor or t["requester_id"]), "via": t["via"],
                                      "created_at": t["created_at"], "updated_at": t["updated_at"]},
                           "event": {}}).encode()

    # --- HTTP -----------------------------------------------------------------------------

    def _route(self, call: Call) -> tuple[int, dict, Any]:
        expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
        if call.headers.get("authorization") != expected:
            return 401, {}, {"error": "Couldn't authenticate you"}
        path = re.sub(r"\.json$", "", call.path)
        wait = self._account.take(self.mono)
        if wait is None and call.method == "PUT" and re.fullmatch(r"/api/v2/tickets/\d+", path):
            tid = int(path.rsplit("/", 1)[1])
            wait = self._updates.take(self.mono)
            if wait is None:
                wait = self._per_ticket.setdefault(tid, _Window(30, 600.0)).take(self.mono)
                if wait is not None:
                    self._updates.sent.pop()  # not processed: it does not count
        if wait is not None:
            return 429, {"Retry-After": str(max(1, int(wait + 0.999)))}, {"error": "TooManyRequests",
                                                                         "description": "Rate limit exceeded"}
        status, body = self._dispatch(call, path)
        return status, {"X-Rate-Limit": str(self.account_limit)}, body

    def _dispatch(self, call: Call, path: str) -> tuple[int, Any]:
        q, m = call.query, call.method
        if path == "/api/v2/users/me" and m == "GET":
            return 200, {"user": self.users[self.me]}
        if path == "/api/v2/users/search" and m == "GET":
            email = q.get("query", "").removeprefix("email:").lower()
            return 200, {"users": [u for u in self.users.values() if u["email"].lower() == email], "count": 1}
        if (match := re.fullmatch(r"/api/v2/users/(\d+)", path)) and m == "GET":
            user = self.users.get(int(match[1]))
            return (200, {"user": user}) if user else (404, {"error": "RecordNotFound", "description": "Not found"})
        if path == "/api/v2/search" and m == "GET":
            return self._search(q)
        match = re.fullmatch(r"/api/v2/tickets/(\d+)(/comments)?", path)
        if not match:
            return 404, {"error": "InvalidEndpoint", "description": "Not found"}
        t = self.tickets.get(int(match[1]))
        if t is None:
            return 404, {"error": "RecordNotFound", "description": "Not found"}
        if match[2] and m == "GET":
            return self._comments_page(t["id"], q)
        if m == "GET":
            return 200, {"ticket": t}
        if m == "PUT":
            return self._update(t, call.body)
        return 404, {"error": "InvalidEndpoint", "description": "Not found"}

    def _update(self, t: dict, body: Any) -> tuple[int, Any]:
        change = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(change, dict):
            return 400, {"error": "InvalidEndpoint", "description": "ticket is required"}
        if self.before_update is not None:
            hook, self.before_update = self.before_update, None
            hook(t)
        if t["status"] == "closed":
            return 422, {"error": "RecordInvalid", "description": "Record validation errors",
                         "details": {"status": [{"description": "Status: closed prevents ticket update"}]}}
        if change.get("safe_update") in (True, "true") and change.get("updated_stamp") != t["updated_at"]:
            return 409, {"error": "UpdateConflict", "description": "The ticket was updated since you last read it"}
        if "status" in change and change["status"] not in STATUSES:
            return 422, {"error": "RecordInvalid", "description": "Record validation errors",
                         "details": {"status": [{"description": "Status is invalid"}]}}
        events = []
        comment = change.get("comment")
        if comment is not None:
            if not isinstance(comment, dict) or not str(comment.get("body") or comment.get("html_body") or "").strip():
                return 422, {"error": "RecordInvalid", "description": "Record validation errors",
                             "details": {"comment": [{"description": "Comment body is required"}]}}
            if comment.get("author_id") is not None and comment["author_id"] not in self.users:
                return 422, {"error": "RecordInvalid", "description": "Record validation errors",
                             "details": {"author_id": [{"description": "is invalid"}]}}
            events.append(self._comment(t["id"], comment))
        if "tags" in change:
            t["tags"] = [str(x).lower() for x in change["tags"]]
        if "status" in change:
            t["status"] = change["status"]
        self._touch(t)
        return 200, {"ticket": t, "audit": {"id": self._id(), "ticket_id": t["id"], "events": events}}

    def _comments_page(self, tid: int, q: dict) -> tuple[int, Any]:
        size = int(q.get("page[size]", 100))
        if not 1 <= size <= 100:
            return 400, {"error": "InvalidPaginationParameter", "description": "page[size] must be at most 100"}
        items = self.comments[tid]
        start = int(base64.b64decode(q["page[after]"]).decode()) if q.get("page[after]") else 0
        page = items[start:start + size]
        more = start + size < len(items)
        after = base64.b64encode(str(start + size).encode()).decode() if more else None
        out = {"comments": page, "meta": {"has_more": more, "after_cursor": after, "before_cursor": None},
               "links": {"next": None, "prev": None}}
        if q.get("include") == "users":
            ids = {c["author_id"] for c in page}
            out["users"] = [self.users[i] for i in ids if i in self.users]
        return 200, out

    def _search(self, q: dict) -> tuple[int, Any]:
        page, per_page = int(q.get("page", 1)), min(int(q.get("per_page", 100)), 100)
        if page > 10:
            return 422, {"error": "invalid", "description": "Search results are limited to 1000"}
        items = [t for t in self.tickets.values() if self.mono - self.indexed.get(t["id"], -1e9) >= self.index_lag]
        for token in q.get("query", "").split():
            if token.startswith("requester:"):
                ids = {u["id"] for u in self.users.values() if u["email"].lower() == token[10:].lower()}
                items = [t for t in items if t["requester_id"] in ids]
            elif token.startswith("updated>="):
                items = [t for t in items if _parse(t["updated_at"]) >= _parse(token[9:])]
            elif token.startswith("updated>"):
                items = [t for t in items if _parse(t["updated_at"]) > _parse(token[8:])]
        key = q.get("sort_by", "updated_at")
        items.sort(key=lambda t: (t.get(key) or "", t["id"]), reverse=q.get("sort_order", "desc") == "desc")
        chunk = items[(page - 1) * per_page: page * per_page]
        more = page * per_page < len(items)
        return 200, {"results": [{**t, "result_type": "ticket"} for t in chunk], "count": len(items),
                     "next_page": f"/api/v2/search.json?page={page + 1}" if more else None,
                     "previous_page": None}
