"""FakeShipStation: ShipStation's V1 API, V2 tracking, and a JWKS, enforcing what the real
ones do (reference/shipstation/), and nothing more. Every request is recorded.

V1 (`/shipments`, `/orders`):
- HTTP Basic with the API key and secret, else 401.
- 40 requests per window (a minute) per key pair: every response carries
  `X-Rate-Limit-Limit/Remaining/Reset` (seconds to the window's end); the 41st → 429.
- Pagination: `page`, `pageSize` (≤ 500) → `{"shipments"|"orders": [...], "total", "page", "pages"}`.
- Dates are Pacific wall-clock time without an offset ("2026-11-20T08:46:27.0000000");
  `createDateStart` is read the same way. Filters: batchId, orderNumber, trackingNumber,
  createDateStart, orderStatus; sortDir ASC|DESC on createDate.
- SHIP_NOTIFY bodies (`ship_notify(batch_id)`): thin, with a `resource_url` to
  `/shipments?batchId=…&includeShipmentItems=False`.

V2 (`/v2/tracking`, `/v2/carriers`): header `api-key`, else 401; 200 a window, then 429
with `Retry-After`. Unknown tracking number → 404 with V2's error shape.

Webhooks V2 (`track_event(tracking)`): TRACK_EVENT_V2 bodies signed RSA-SHA256 (PKCS#1
v1.5) over "{timestamp}.{body}" with a key generated here; `/jwks` serves its public half.

Time: `now` (monotonic seconds, for the rate windows) is the fake's own clock, moved by
`advance()`; hand `fake.advance` to a client as its `sleep` so waiting costs no real time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.local_server import running


# The fake reads its own dates (not with the code under test): Pacific wall-clock time.
PACIFIC = ZoneInfo("America/Los_Angeles")


def pacific_to_utc(text: str) -> datetime:
    return datetime.fromisoformat(text[:19]).replace(tzinfo=PACIFIC).astimezone(timezone.utc)


API_KEY, API_SECRET, V2_KEY = "ss-key", "ss-secret", "ss-v2-key"
KEY_ID = "fake-key-1"
V1_LIMIT, V2_LIMIT, WINDOW = 40, 200, 60.0


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0


@dataclass
class _Window:
    limit: int
    started: float = 0.0
    used: int = 0

    def take(self, now: float) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds to reset)."""
        if now - self.started >= WINDOW:
            self.started, self.used = now, 0
        reset = max(0.0, WINDOW - (now - self.started))
        if self.used >= self.limit:
            return False, 0, reset
        self.used += 1
        return True, self.limit - self.used, reset


@dataclass
class FakeShipStation:
    base_url: str = "https://ssapi.shipstation.com"  # what resource_urls name (serve() sets its own)
    shipments: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    tracking: dict[str, dict] = field(default_factory=dict)  # tracking number → tracking_information
    subscribed: list[tuple[str, str]] = field(default_factory=list)  # (carrier_code, number) tracking/start
    calls: list[Call] = field(default_factory=list)
    now: float = 0.0
    faults: list[tuple[str, int, dict]] = field(default_factory=list)  # (path, status, headers), next first

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._v1 = _Window(V1_LIMIT)
        self._v2 = _Window(V2_LIMIT)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._next_id = 1000

    # --- the fake's clock -----------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def monotonic(self) -> float:
        return self.now

    # --- data -------------------------------------------------------------------------------

    def add_shipment(self, *, order_number: str, tracking_number: str, carrier_code: str = "ups",
                     create_date: str = "2026-11-20T08:46:27.0000000", batch_id: str | None = None,
                     is_return: bool = False, voided: bool = False) -> dict:
        self._next_id += 1
        item = {"shipmentId": self._next_id, "orderId": self._next_id + 50000, "orderNumber": order_number,
                "orderKey": f"key-{self._next_id}", "createDate": create_date, "shipDate": create_date[:10],
                "trackingNumber": tracking_number, "isReturnLabel": is_return, "carrierCode": carrier_code,
                "serviceCode": "ground", "voided": voided, "voidDate": None, "batchNumber": batch_id,
                "shipmentCost": 7.3, "insuranceCost": 0, "shipTo": {"name": "Test Shopper", "country": "US"},
                "weight": {"value": 1, "units": "ounces"}, "shipmentItems": None}
        self.shipments.append(item)
        return item

    def add_order(self, *, order_number: str, order_date: str, status: str = "awaiting_shipment") -> dict:
        self._next_id += 1
        order = {"orderId": self._next_id, "orderNumber": order_number, "orderKey": f"ok-{self._next_id}",
                 "orderDate": order_date, "createDate": order_date, "orderStatus": status}
        self.orders.append(order)
        return order

    def set_tracking(self, tracking_number: str, status_code: str, *, carrier_code: str = "ups",
                     estimated: str | None = None, actual: str | None = None, exception: str | None = None,
                     events: list[dict] | None = None) -> dict:
        info = {"tracking_number": tracking_number, "tracking_url": f"https://track.example/{tracking_number}",
                "status_code": status_code, "status_description": status_code, "carrier_code": carrier_code,
                "carrier_status_description": None, "ship_date": "2026-11-20T16:00:00Z",
                "estimated_delivery_date": estimated, "actual_delivery_date": actual,
                "exception_description": exception, "events": events or []}
        self.tracking[tracking_number] = info
        return info

    def fail_next(self, path: str, status: int, headers: dict | None = None) -> None:
        self.faults.append((path, status, headers or {}))

    # --- webhooks ---------------------------------------------------------------------------

    def ship_notify(self, batch_id: str, *, resource_url: str | None = None) -> bytes:
        url = resource_url or f"{self.base_url}/shipments?{urlencode({'batchId': batch_id, 'includeShipmentItems': 'False'})}"
        return json.dumps({"resource_url": url, "resource_type": "SHIP_NOTIFY"}).encode()

    def track_event(self, tracking_number: str) -> bytes:
        return json.dumps({"resource_url": f"https://api.shipstation.com/v2/labels/se-1/track",
                           "resource_type": "TRACK_EVENT_V2", "data": self.tracking[tracking_number]}).encode()

    def sign(self, body: bytes, at: datetime, *, key_id: str = KEY_ID, key: rsa.RSAPrivateKey | None = None) -> dict:
        stamp = at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        signature = (key or self._key).sign(stamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
        return {"x-shipengine-rsa-sha256-key-id": key_id, "x-shipengine-timestamp": stamp,
                "x-shipengine-rsa-sha256-signature": base64.b64encode(signature).decode(),
                "Content-Type": "application/json"}

    def jwks(self) -> dict:
        numbers = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": KEY_ID, "use": "sig", "alg": "RS256",
                          "n": _b64(numbers.n), "e": _b64(numbers.e)}]}

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        lower = {k.lower(): v for k, v in headers.items()}
        call = Call(method, parts.path, query, lower)
        with self._lock:
            self.calls.append(call)
            status, out_headers, body = self._route(method, parts.path, query, lower)
            call.status = status
        return status, out_headers, b"" if body is None else json.dumps(body).encode()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def _route(self, method: str, path: str, query: dict, headers: dict) -> tuple[int, dict, Any]:
        if path == "/jwks":
            return 200, {}, self.jwks()
        if path.startswith("/v2/"):
            return self._v2_route(method, path, query, headers)
        expected = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
        if headers.get("authorization") != expected:
            return 401, {}, {"Message": "Authorization has been denied for this request."}
        allowed, remaining, reset = self._v1.take(self.now)
        limits = {"X-Rate-Limit-Limit": str(V1_LIMIT), "X-Rate-Limit-Remaining": str(remaining),
                  "X-Rate-Limit-Reset": str(int(round(reset)))}
        if not allowed:
            return 429, limits, {"Message": "Too Many Requests"}
        fault = self._fault(path)
        if fault is not None:
            return fault[1], {**limits, **fault[2]}, {"Message": "injected"}
        if method != "GET":
            return 405, limits, {"Message": "method not allowed"}
        if path == "/shipments":
            return 200, limits, self._page(self._shipments(query), "shipments", query)
        if path == "/orders":
            items = [o for o in self.orders if not query.get("orderStatus") or o["orderStatus"] == query["orderStatus"]]
            return 200, limits, self._page(items, "orders", query)
        return 404, limits, {"Message": "No HTTP resource was found"}

    def _v2_route(self, method: str, path: str, query: dict, headers: dict) -> tuple[int, dict, Any]:
        if headers.get("api-key") != V2_KEY:
            return 401, {}, {"errors": [{"error_source": "shipstation", "error_type": "security",
                                         "error_code": "unauthorized", "message": "The API key is invalid."}]}
        allowed, _remaining, reset = self._v2.take(self.now)
        if not allowed:
            return 429, {"Retry-After": str(max(1, int(round(reset))))}, {"errors": [{
                "error_source": "shipstation", "error_type": "system", "error_code": "rate_limit_exceeded",
                "message": "You have exceeded the rate limit."}]}
        fault = self._fault(path)
        if fault is not None:
            return fault[1], fault[2], {"errors": [{"error_source": "shipstation", "message": "injected"}]}
        if path == "/v2/tracking/start":
            if method != "POST" or not query.get("tracking_number"):
                return 400, {}, {"errors": [{"error_source": "shipstation", "error_type": "validation",
                                             "message": "tracking_number is required"}]}
            pair = (query.get("carrier_code", ""), query["tracking_number"])
            if pair not in self.subscribed:  # subscribing again changes nothing
                self.subscribed.append(pair)
            return 204, {}, None
        if method != "GET":
            return 405, {}, {"errors": [{"message": "method not allowed"}]}
        if path == "/v2/carriers":
            return 200, {}, {"carriers": []}
        if path == "/v2/tracking":
            info = self.tracking.get(query.get("tracking_number", ""))
            if info is None or (query.get("carrier_code") and query["carrier_code"] != info["carrier_code"]):
                return 404, {}, {"errors": [{"error_source": "carrier", "error_type": "validation",
                                             "error_code": "tracking_not_found", "message": "not found"}]}
            return 200, {}, info
        return 404, {}, {"errors": [{"message": "not found"}]}

    def _fault(self, path: str) -> tuple[str, int, dict] | None:
        for i, fault in enumerate(self.faults):
            if fault[0] == path:
                return self.faults.pop(i)
        return None

    def _shipments(self, q: dict) -> list[dict]:
        items = list(self.shipments)
        for key, name in (("batchId", "batchNumber"), ("orderNumber", "orderNumber"),
                          ("trackingNumber", "trackingNumber")):
            if q.get(key):
                items = [s for s in items if str(s.get(name)) == q[key]]
        if q.get("createDateStart"):
            start = pacific_to_utc(q["createDateStart"].replace(" ", "T"))
            items = [s for s in items if pacific_to_utc(s["createDate"]) >= start]
        items.sort(key=lambda s: pacific_to_utc(s["createDate"]), reverse=q.get("sortDir", "ASC").upper() == "DESC")
        return items

    @staticmethod
    def _page(items: list[dict], key: str, q: dict) -> dict:
        size = min(int(q.get("pageSize", 100)), 500)
        page = max(1, int(q.get("page", 1)))
        pages = max(1, -(-len(items) // size))
        return {key: items[(page - 1) * size: page * size], "total": len(items), "page": page, "pages": pages}

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            status, headers, body = self.handle(request.method, str(request.url), dict(request.headers))
            return httpx.Response(status, headers={**headers, "Content-Type": "application/json"}, content=body)

        return httpx.MockTransport(handler)

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, headers, body = fake.handle(method, f"http://x{self.path}", dict(self.headers))
                self.send_response(status)
                for k, v in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._reply("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._reply("POST")

            def log_message(self, *args: object) -> None:
                pass

        previous = self.base_url
        with running(Handler, "fake-shipstation") as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = previous


def pacific_wall(value: datetime) -> str:
    """A UTC time as V1 writes it: Pacific wall-clock time, no offset, 7 decimals."""
    return value.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
