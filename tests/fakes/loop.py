"""FakeLoop: a local HTTP server for the part of Loop Returns' API returnsbot uses, and the
webhook bodies Loop sends.

What it enforces is what ../shared/reference/loop/ says the real API does:
- `X-Authorization: <key>` (no Bearer) must be the key, else 401 with Loop's body
  (`{"error": {"code": "401", "http_code": "GEN-UNAUTHORIZED", "message": "Unauthorized."}}`).
- Returns list: one `state` per request (open, closed, cancelled, expired, review); without
  one, only open, closed and expired; without `from`/`to`, only the last 24 h; a range over
  120 days is a 422; `filter` created_at (default) or updated_at; `paginate=true` pages of
  `pageSize` (default 100, max 750) with `nextPageUrl` carrying an opaque base64 cursor;
  without `paginate`, a bare array.
- Details by `return_id`, `currency_type` shop|presentment.
- Actions answer `true` or one of the four error shapes, several on HTTP 200, by state:
  process refuses flagged, review, closed, cancelled, expired; process is QUEUED (`true`,
  the return unchanged) until `complete_processing(id)` / `fail_processing(id, message)`
  give the `return.closed` / `return.processing.failed` webhook body. cancel refuses
  expired and flagged (`content` bodies) and closed/cancelled; flag puts the return in
  review; close closes without outcomes; note (≤ 17,000 characters), notes (422 `false`
  when none), remove.
- 300 requests a minute per key (a sliding 60 s on `monotonic`), then 429; or a 429 /
  500 on demand (`fail_next`).
- `signed(body)`: the raw body (compact, slashes escaped as Loop's PHP writes them) and
  the `X-Loop-Signature` header a delivery carries.

Every request is recorded in `calls` (failures and refusals included), for exactly-once
counting. The `flagged` field on a return is the fake's (see docs/DECISIONS.md: the
reference names no field for it).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.local_server import running

API_KEY = "loop_fake_key_0123456789"
WEBHOOK_SECRET = "loop_fake_webhook_secret"
API_PATH = "/api/v1"
STATES = ("open", "closed", "cancelled", "expired", "review")
DEFAULT_STATES = ("open", "closed", "expired")  # the list without `state`
MAX_RANGE = timedelta(days=120)
MAX_PAGE_SIZE = 750
NOTE_LIMIT = 17_000  # Loop's MCP docs; the older spec said 255
RATE_PER_MINUTE = 300
EXAMPLE = Path(__file__).parent.parent / "loopreturns" / "data" / "return-webhook-example.synthetic.json"

UNAUTHORIZED = {"error": {"code": "401", "http_code": "GEN-UNAUTHORIZED", "message": "Unauthorized."}}
NOT_FOUND = {"errors": {"message": "Return not found.", "code": "NOT_FOUND"}}


def _state_error(state: str) -> dict:
    return {"errors": {"message": f"Return is {state} and therefore cannot be processed.", "code": "UNPROCESSABLE_RETURN"}}


@dataclass
class Call:
    method: str
    path: str  # without the /api/v1 prefix
    params: dict[str, str]
    body: Any
    status: int
    answer: Any = None


@dataclass
class _Fault:
    status: int
    path: str | None
    retry_after: float | None


def loop_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class FakeLoop:
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    allow_flagged_to_process: bool = False  # Loop's admin setting "Allow flagged returns to process"
    returns: dict[str, dict] = field(default_factory=dict)
    notes: dict[str, list[dict]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # return ids accepted for processing, not yet done
    monotonic: Callable[[], float] = time.monotonic  # the rate limit's clock

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(5001)
        self._note_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._recent: deque[float] = deque()
        self.base_url: str | None = None

    # --- the world ------------------------------------------------------------------------

    def add_return(self, *, state: str = "open", order_id: int | str = 58997314, flagged: bool = False,
                   lines: list[dict] | None = None, created_at: datetime | None = None,
                   updated_at: datetime | None = None, **fields: Any) -> dict:
        """A return like the reference's example body (every value fake), with overrides.
        `lines`: line_items overrides, each merged over the example's line."""
        body = json.loads(EXAMPLE.read_text())
        for key in ("topic", "trigger"):
            body.pop(key)
        return_id = next(self._ids)
        template = body["line_items"][0]
        created = created_at or self.now()
        body.update({"id": return_id, "state": state, "provider_order_id": str(order_id), "flagged": flagged,
                     "created_at": loop_time(created), "updated_at": loop_time(updated_at or created),
                     "multi_currency": False, "exchange_order_id": None, "exchange_order_name": None,
                     "gift_card_order_id": None, "gift_card_order_name": None})
        body["line_items"] = [{**template, "line_item_id": str(return_id * 10 + i), **(line or {})}
                              for i, line in enumerate(lines or [{}])]
        body.update(fields)
        with self._lock:
            self.returns[str(return_id)] = body
        return body

    def set(self, return_id: str | int, **fields: Any) -> dict:
        with self._lock:
            ret = self.returns[str(return_id)]
            ret.update(fields)
            ret["updated_at"] = loop_time(self.now())
            return ret

    # --- webhook bodies -------------------------------------------------------------------

    def webhook(self, trigger: str, return_id: str | int) -> dict:
        """The body Loop would send for `trigger` about the return as it is now."""
        ret = copy.deepcopy(self.returns[str(return_id)])
        topic = trigger.split(".")[0] if "." in trigger else "return"
        if topic == "label":
            return {"topic": "label", "trigger": trigger, "shop_id": ret["shop_id"], "id": str(ret["id"]),
                    "order_id": str(ret["order_id"]), "provider_order_id": int(ret["provider_order_id"]),
                    "carrier": ret["carrier"], "tracking_number": ret["tracking_number"],
                    "label_status": ret["label_status"], "label_updated_at": ret["label_updated_at"],
                    "shipment_id": "6789998212"}
        if topic == "restock":
            return {"topic": "restock", "trigger": trigger, "shop_id": ret["shop_id"], "id": str(ret["id"]),
                    "provider_order_id": ret["provider_order_id"], "line_items": ret["line_items"]}
        for key in ("flagged", "updated_at", "multi_currency", "exchange_order_id", "exchange_order_name",
                    "gift_card_order_id", "gift_card_order_name"):
            ret.pop(key, None)  # details-only fields
        return {"topic": "return", "trigger": trigger, **ret}

    def signed(self, body: dict | bytes, *, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()
        signature = base64.b64encode(hmac.new((secret or self.webhook_secret).encode(), raw, hashlib.sha256).digest())
        return raw, {"X-Loop-Signature": signature.decode(), "Content-Type": "application/json"}

    def complete_processing(self, return_id: str | int) -> dict:
        """The queued job finished: outcomes fulfilled, the return closed; the `return.closed` body."""
        rid = str(return_id)
        with self._lock:
            self.queued.remove(rid)
            ret = self.returns[rid]
            if ret["exchanges"]:
                ret["exchange_order_id"] = 9000000000 + int(rid)
                ret["exchange_order_name"] = f"EXC-{rid}"
            if ret.get("refund") not in (None, "0.00", "0"):
                ret["refunds"] = [{"gateway": "shopify_payments", "amount": ret["refund"], "currency": ret["currency"],
                                   "provider_refund_id": str(7000000000 + int(rid)), "provider": "shopify"}]
            if ret.get("gift_card") not in (None, "0.00", "0"):
                ret["gift_card_order_id"] = 8000000000 + int(rid)
            self.set(rid, state="closed")
        return self.webhook("return.closed", rid)

    def fail_processing(self, return_id: str | int, message: str | None) -> dict:
        """The queued job failed: the return is as it was; the `return.processing.failed` body."""
        rid = str(return_id)
        with self._lock:
            self.queued.remove(rid)
            ret = self.returns[rid]
        return {"topic": "return", "trigger": "return.processing.failed", "shop_id": ret["shop_id"], "id": rid,
                "message": message}

    # --- faults ---------------------------------------------------------------------------

    def fail_next(self, status: int = 429, *, path: str | None = None, retry_after: float | None = None,
                  times: int = 1) -> None:
        with self._lock:
            self._faults += [_Fault(status, path, retry_after)] * times

    # --- counting -------------------------------------------------------------------------

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    def actions(self, name: str, return_id: str | int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.endswith(f"/{name}")
                and (return_id is None or c.path == f"/warehouse/return/{return_id}/{name}")]

    # --- the server -----------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = fake.handle(method, self.path, dict(self.headers), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        with running(Handler, "fake-loop") as url:
            self.base_url = f"{url}{API_PATH}"
            yield self.base_url

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any, dict]:
        parts = urlsplit(target)
        path = parts.path.removeprefix(API_PATH)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            status, answer, extra = self._route(method, path, params, headers, body)
            self.calls.append(Call(method, path, params, body, status, answer))
        return status, answer, extra

    def _route(self, method, path, params, headers, body) -> tuple[int, Any, dict]:
        given = {k.lower(): v for k, v in headers.items()}.get("x-authorization")
        if given != self.api_key:
            return 401, UNAUTHORIZED, {}
        fault = next((f for f in self._faults if f.path in (None, path)), None)
        if fault is not None:
            self._faults.remove(fault)
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            answer = {"message": "Too Many Attempts."} if fault.status == 429 else {
                "message": "An error was encountered during processing."}
            return fault.status, answer, extra
        now = self.monotonic()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= RATE_PER_MINUTE:
            return 429, {"message": "Too Many Attempts."}, {}
        self._recent.append(now)

        if method == "GET" and path == "/warehouse/return/list":
            return self._list(params)
        if method == "GET" and path == "/warehouse/return/details":
            return self._details(params)
        segments = path.strip("/").split("/")
        if len(segments) == 4 and segments[:2] == ["warehouse", "return"] and segments[2].isdigit():
            rid, action = segments[2], segments[3]
            ret = self.returns.get(rid)
            if ret is None:
                return 404, NOT_FOUND, {}
            if method == "GET" and action == "notes":
                found = self.notes.get(rid) or []
                return (200, {"notes": found}, {}) if found else (422, "false", {})
            if method == "POST" and action in ("process", "cancel", "flag", "close", "note", "remove"):
                return getattr(self, f"_{action}")(rid, ret, params, body)
        return 404, {"message": "Not found."}, {}

    # --- data -----------------------------------------------------------------------------

    def _list(self, params: dict[str, str]) -> tuple[int, Any, dict]:
        state = params.get("state")
        if state is not None and state not in STATES:  # one state, from the enum ("open,review" is not one)
            return 422, {"message": "The selected state is invalid.",
                         "errors": {"state": ["The selected state is invalid."]}}, {}
        field_name = params.get("filter", "created_at")
        if field_name not in ("created_at", "updated_at"):
            return 422, {"message": "The selected filter is invalid.", "errors": {"filter": ["invalid"]}}, {}
        try:
            start = _parse(params["from"]) if params.get("from") else None
            end = _parse(params["to"]) if params.get("to") else None
        except ValueError:
            return 422, {"message": "The from does not match the format Y-m-d H:i:s.",
                         "errors": {"from": ["invalid date"]}}, {}
        if start is None and end is None:
            end = self.now()
            start = end - timedelta(hours=24)
        start = start or (end - MAX_RANGE)
        end = end or self.now()
        if end - start > MAX_RANGE:
            return 422, {"message": "The date range may not be greater than 120 days.",
                         "errors": {"to": ["The date range may not be greater than 120 days."]}}, {}
        states = (state,) if state else DEFAULT_STATES
        found = sorted((r for r in self.returns.values() if r["state"] in states
                        and start <= _parse(r[field_name]) <= end), key=lambda r: int(r["id"]))
        found = [self._detail_view(r) for r in found]
        if params.get("paginate") != "true":
            return 200, found, {}
        size = int(params.get("pageSize") or 100)
        if not 1 <= size <= MAX_PAGE_SIZE:
            return 422, {"message": f"The page size may not be greater than {MAX_PAGE_SIZE}.",
                         "errors": {"pageSize": ["invalid"]}}, {}
        offset = 0
        if params.get("cursor"):
            try:
                offset = int(json.loads(base64.b64decode(params["cursor"]))["offset"])
            except (ValueError, KeyError, TypeError):
                return 422, {"message": "The cursor is invalid.", "errors": {"cursor": ["invalid"]}}, {}
        page = found[offset:offset + size]
        next_url = None
        if offset + size < len(found):
            cursor = base64.b64encode(json.dumps({"offset": offset + size, "pointsToNextItems": True}).encode()).decode()
            query = {k: v for k, v in params.items() if k != "cursor"}
            next_url = f"{self.base_url}/warehouse/return/list?{urlencode({**query, 'cursor': cursor})}"
        return 200, {"returns": page, "nextPageUrl": next_url, "previousPageUrl": None}, {}

    def _details(self, params: dict[str, str]) -> tuple[int, Any, dict]:
        currency_type = params.get("currency_type", "shop")
        if currency_type not in ("shop", "presentment"):
            return 422, {"message": "The selected currency type is invalid.",
                         "errors": {"currency_type": ["invalid"]}}, {}
        ret = self.returns.get(params.get("return_id", ""))
        if ret is None:
            return 404, NOT_FOUND, {}
        view = self._detail_view(ret)
        if currency_type == "presentment":
            view.update(view.pop("presentment", None) or {})
        else:
            view.pop("presentment", None)
        return 200, view, {}

    @staticmethod
    def _detail_view(ret: dict) -> dict:
        view = copy.deepcopy(ret)
        return view

    # --- actions --------------------------------------------------------------------------

    def _process(self, rid, ret, params, body):
        if ret.get("flagged") and not self.allow_flagged_to_process:
            return 200, {"content": "Return is flagged and cannot be processed."}, {}
        state = ret["state"]
        if state == "cancelled":
            return 200, {"message": "Return is cancelled and therefore cannot be processed."}, {}
        if state == "review":
            return 200, {"message": "Return is review and therefore cannot be processed."}, {}
        if state in ("closed", "expired"):
            return 200, _state_error(state), {}
        if rid not in self.queued:
            self.queued.append(rid)
        return 200, True, {}

    def _cancel(self, rid, ret, params, body):
        if ret["state"] == "expired":
            return 200, {"content": "Return is expired and cannot be processed."}, {}
        if ret.get("flagged"):
            return 200, {"content": "Return is flagged and cannot be processed."}, {}
        if ret["state"] in ("closed", "cancelled"):
            return 200, _state_error(ret["state"]), {}
        self.set(rid, state="cancelled")
        return 200, True, {}

    def _flag(self, rid, ret, params, body):
        if ret["state"] in ("closed", "cancelled", "expired"):
            return 200, _state_error(ret["state"]), {}
        self.set(rid, state="review", flagged=True)
        return 200, True, {}

    def _close(self, rid, ret, params, body):
        if ret["state"] == "cancelled":
            return 200, {"message": "Return is cancelled and therefore cannot be processed."}, {}
        if ret["state"] == "closed":
            return 200, _state_error("closed"), {}
        self.set(rid, state="closed")
        return 200, True, {}

    def _note(self, rid, ret, params, body):
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, str) or not content.strip() or len(content) > NOTE_LIMIT:
            return 422, {"errors": {"message": "Content is required and must be less than 255 characters."}}, {}
        self.notes.setdefault(rid, []).append({"id": next(self._note_ids), "content": content,
                                               "created_at": loop_time(self.now())})
        return 200, True, {}

    def _remove(self, rid, ret, params, body):
        wanted = [i for i in (params.get("line_item_id") or "").split(",") if i.strip()]
        if not wanted:
            return 422, {"error": {"message": "The line item id field is required."}}, {}
        if ret["state"] != "open":
            return 422, {"errors": {"message": "Return cannot be modified."}}, {}
        lines = {str(li["line_item_id"]): li for li in ret["line_items"]}
        qualifying = [i for i in wanted if i in lines and not lines[i].get("exchange_variant")]
        if not qualifying:
            return 422, {"errors": {"message": "There are no line items that qualify for removal."}}, {}
        if len(qualifying) != len(wanted):
            return 422, {"errors": {"message": "Not all line items qualify for removal."}}, {}
        ret["line_items"] = [li for li in ret["line_items"] if str(li["line_item_id"]) not in qualifying]
        if rid not in self.queued:
            self.queued.append(rid)
        self.set(rid)
        return 200, True, {}


def _parse(text: str) -> datetime:
    value = text.strip().replace(" ", "T", 1)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
