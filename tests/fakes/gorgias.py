"""FakeGorgias: the parts of Gorgias's REST API the bot uses, enforcing what the real one
does (reference/gorgias/rest-api-and-http-integrations.md) and nothing more. Every request
is recorded in `calls` (refused, rate-limited and lost ones included).

- HTTP Basic with the user's email and API key, else 401.
- A leaky bucket of 40 that leaks 2 a second (40 per 20 s, the API-key limit), on the fake's
  clock: a request that would overflow it → 429 with `Retry-after` (whole seconds);
  `X-Gorgias-Account-Api-Call-Limit: used/40` on every answer. `fill_bucket()` plays another
  replica using the same key.
- Lists: `limit` (default 30, max 100, more → 400), opaque base64 `cursor`, `order_by`
  (`created_datetime|updated_datetime:asc|desc`), `{"object": "list", "data", "meta":
  {"prev_cursor", "next_cursor"}}`. `GET /api/tickets` includes trashed tickets unless
  `trashed=false` (the API's default is true).
- `POST /api/tickets/{id}/messages`: `channel`, `from_agent` (bool) and `via` required
  (400 `{"error": {"msg", "data"}}`); an agent's message needs `sender.id` of a user.
  Stored with `external_id`; `public` is false for the `internal-note` channel.
- `PUT /api/tickets/{id}` (status open|closed), `PUT /api/tickets/{id}/tags` (replace, 202).
- `GET /api/customers?email=`, `POST /api/search` (type agent|customer_profile: bare array).
- Timestamps like Gorgias's: ISO 8601 with microseconds and no zone.

Time: `now` (the wall clock of timestamps) and `mono` (the rate window) move with
`advance()`; hand `fake.advance` and `fake.monotonic` to a client so waits cost nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.fakes.helpdesk_http import Call, Recorder

EMAIL, API_KEY = "bot@ridgeline.example", "gorgias-api-key"
LIMIT, WINDOW = 40, 20.0


def stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


@dataclass
class FakeGorgias(Recorder):
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc))
    mono: float = 0.0
    tickets: dict[int, dict] = field(default_factory=dict)
    customers: dict[int, dict] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)
    base_url: str = "https://ridgeline.gorgias.com"
    level: float = 0.0  # the bucket
    _leaked_at: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._next = 100
        self.add_agent(EMAIL, "Returns Bot")

    # --- clock and data -------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.mono += seconds
            self.now += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self.mono

    def fill_bucket(self, level: float) -> None:
        """The account's bucket as another replica left it, now."""
        with self.lock:
            self.level, self._leaked_at = level, self.mono

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_agent(self, email: str, name: str) -> int:
        uid = self._id()
        self.users[uid] = {"id": uid, "email": email, "name": name, "role": {"name": "agent"}}
        return uid

    def add_customer(self, email: str, name: str) -> int:
        cid = self._id()
        self.customers[cid] = {"id": cid, "email": email, "name": name, "firstname": name.split()[0],
                               "lastname": name.split()[-1]}
        return cid

    def add_ticket(self, subject: str, *, email: str, name: str = "Test Customer", text: str = "Hello",
                   channel: str = "email", tags: tuple[str, ...] = (), status: str = "open",
                   language: str | None = None, trashed: bool = False, at: datetime | None = None) -> int:
        customer = next((c for c in self.customers.values() if c["email"] == email), None)
        cid = customer["id"] if customer else self.add_customer(email, name)
        tid = self._id()
        when = stamp(at or self.now)
        self.tickets[tid] = {
            "id": tid, "uri": f"/api/tickets/{tid}/", "external_id": None, "status": status, "priority": "normal",
            "spam": False, "language": language, "subject": subject, "excerpt": text[:50], "channel": channel,
            "via": channel, "from_agent": False, "customer": dict(self.customers[cid]), "assignee_user": None,
            "tags": [], "messages": [], "created_datetime": when, "updated_datetime": when,
            "opened_datetime": when, "last_message_datetime": when, "snooze_datetime": None,
            "trashed_datetime": stamp(self.now) if trashed else None, "satisfaction_survey": None}
        self._tag(tid, list(tags))
        self.customer_message(tid, text, at=at)
        return tid

    def customer_message(self, ticket_id: int, text: str, *, at: datetime | None = None) -> dict:
        t = self.tickets[ticket_id]
        return self._store_message(t, {"channel": t["channel"], "via": t["channel"], "from_agent": False,
                                       "body_text": text, "body_html": f"<p>{text}</p>",
                                       "sender": {"id": t["customer"]["id"], "email": t["customer"]["email"],
                                                  "name": t["customer"]["name"]}}, at=at)

    def customer_rates(self, ticket_id: int, score: int) -> None:
        """The customer answers the satisfaction survey (the ticket object's `satisfaction_survey`)."""
        t = self.tickets[ticket_id]
        t["satisfaction_survey"] = {"score": score}
        t["updated_datetime"] = stamp(self.now)

    def _store_message(self, t: dict, body: dict, *, at: datetime | None = None) -> dict:
        mid = self._id()
        when = stamp(at or self.now)
        msg = {"id": mid, "uri": f"/api/tickets/{t['id']}/messages/{mid}/", "ticket_id": t["id"],
               "public": body["channel"] != "internal-note", "created_datetime": when, "sent_datetime": None,
               **{k: body.get(k) for k in ("channel", "via", "from_agent", "body_text", "body_html", "external_id",
                                           "receiver", "source")},
               "sender": body.get("sender"), "stripped_text": body.get("body_text")}
        t["messages"].append(msg)
        t["updated_datetime"] = t["last_message_datetime"] = when
        return msg

    def _tag(self, ticket_id: int, names: list[str]) -> None:
        self.tickets[ticket_id]["tags"] = [{"id": abs(hash(n)) % 10_000, "name": n, "uri": None, "decoration": None}
                                           for n in dict.fromkeys(names)]

    def messages_of(self, ticket_id: int, *, internal: bool | None = None) -> list[dict]:
        out = self.tickets[ticket_id]["messages"]
        return [m for m in out if internal is None or (m["channel"] == "internal-note") == internal]

    # --- webhook body ---------------------------------------------------------------------

    def delivery(self, ticket_id: int) -> bytes:
        """The body the README's HTTP-integration template renders to."""
        t = self.tickets[ticket_id]
        return json.dumps({"ticket_id": str(ticket_id), "updated_datetime": t["updated_datetime"]}).encode()

    # --- HTTP -----------------------------------------------------------------------------

    def _route(self, call: Call) -> tuple[int, dict, Any]:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{API_KEY}".encode()).decode()
        if call.headers.get("authorization") != expected:
            return 401, {}, {"error": {"msg": "Unauthorized"}}
        leak = LIMIT / WINDOW  # per second
        self.level = max(0.0, self.level - (self.mono - self._leaked_at) * leak)
        self._leaked_at = self.mono
        if self.level + 1 > LIMIT:
            retry = max(1, int((self.level + 1 - LIMIT) / leak + 0.999))
            return 429, {"Retry-after": str(retry), "X-Gorgias-Account-Api-Call-Limit": f"{LIMIT}/{LIMIT}"}, \
                {"error": {"msg": "Too many requests"}}
        self.level += 1
        limit_header = {"X-Gorgias-Account-Api-Call-Limit": f"{int(self.level + 0.999)}/{LIMIT}"}
        status, body = self._dispatch(call)
        return status, limit_header, body

    def _dispatch(self, call: Call) -> tuple[int, Any]:
        parts = [p for p in call.path.split("/") if p]
        q, m = call.query, call.method
        if parts[:1] != ["api"]:
            return 404, {"error": {"msg": "not found"}}
        parts = parts[1:]
        if parts == ["tickets"] and m == "GET":
            items = list(self.tickets.values())
            if q.get("trashed", "true") == "false":
                items = [t for t in items if not t["trashed_datetime"]]
            if q.get("customer_id"):
                items = [t for t in items if str(t["customer"]["id"]) == q["customer_id"]]
            return self._list(call, [{k: v for k, v in t.items() if k != "messages"} for t in items])
        if parts == ["messages"] and m == "GET":
            t = self.tickets.get(int(q.get("ticket_id", "0") or 0))
            return self._list(call, list(t["messages"]) if t else [])
        if parts == ["customers"] and m == "GET":
            return self._list(call, [c for c in self.customers.values() if not q.get("email") or c["email"] == q["email"]])
        if parts == ["search"] and m == "POST":
            body = call.body if isinstance(call.body, dict) else {}
            query = str(body.get("query", "")).lower()
            pool = self.users if body.get("type") == "agent" else self.customers
            return 200, [u for u in pool.values() if query and query in u["email"].lower()][: int(body.get("size", 10))]
        if len(parts) >= 2 and parts[0] == "tickets" and parts[1].isdigit():
            t = self.tickets.get(int(parts[1]))
            if t is None:
                return 404, {"error": {"msg": "Resource not found"}}
            rest = parts[2:]
            if not rest and m == "GET":
                return 200, t
            if not rest and m == "PUT":
                body = call.body if isinstance(call.body, dict) else {}
                if "status" in body and body["status"] not in ("open", "closed"):
                    return 400, {"error": {"msg": "Invalid status", "data": {"status": body["status"]}}}
                t.update({k: v for k, v in body.items() if k in ("status", "subject", "priority")})
                t["updated_datetime"] = stamp(self.now)
                return 200, t
            if rest == ["tags"] and m == "PUT":
                body = call.body if isinstance(call.body, dict) else {}
                self._tag(t["id"], [n for n in body.get("names") or () if isinstance(n, str)])
                t["updated_datetime"] = stamp(self.now)
                return 202, None
            if rest == ["messages"] and m == "POST":
                return self._create_message(t, call.body)
        return 404, {"error": {"msg": "not found"}}

    def _create_message(self, t: dict, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, {"error": {"msg": "Invalid JSON"}}
        missing = [k for k in ("channel", "via", "from_agent") if k not in body]
        if missing or not isinstance(body.get("from_agent"), bool):
            return 400, {"error": {"msg": "Missing data", "data": {k: ["required"] for k in missing or ["from_agent"]}}}
        if body["from_agent"]:
            sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
            if sender.get("id") not in self.users:
                return 400, {"error": {"msg": "Invalid sender", "data": {"sender": ["unknown user"]}}}
            body = {**body, "sender": {k: self.users[sender["id"]][k] for k in ("id", "email", "name")}}
        if len(str(body.get("external_id") or "")) > 255:
            return 400, {"error": {"msg": "external_id too long"}}
        return 201, self._store_message(t, body)

    def _list(self, call: Call, items: list[dict]) -> tuple[int, Any]:
        q = call.query
        limit = int(q.get("limit", 30))
        if not 1 <= limit <= 100:
            return 400, {"error": {"msg": "limit must be between 1 and 100"}}
        field_name, _, direction = q.get("order_by", "created_datetime:desc").partition(":")
        items = sorted(items, key=lambda i: (i.get(field_name) or "", i["id"]), reverse=direction != "asc")
        start = json.loads(base64.b64decode(q["cursor"]))["offset"] if q.get("cursor") else 0
        page = items[start:start + limit]
        nxt = base64.b64encode(json.dumps({"offset": start + limit}).encode()).decode() \
            if start + limit < len(items) else None
        return 200, {"object": "list", "uri": call.path, "data": page,
                     "meta": {"prev_cursor": None, "next_cursor": nxt}}
