"""FakeStripe: a local HTTP server for the part of Stripe's v1 API returnsbot uses.

What it enforces is what the real API does, per ../shared/reference/stripe/api-facts-2026.md:
- `Authorization: Bearer <key>` must be the configured secret (or restricted) key, else 401
  with Stripe's error shape; a restricted key may be denied paths (403 permission error).
- POST bodies are form-encoded (`metadata[k]=v`, `expand[]=x`); responses are JSON.
- Lists: `{"object": "list", "data", "has_more", "url"}`, `limit` (1-100, default 10),
  `starting_after`, newest first.
- `Idempotency-Key` on POST: the first request's status and body are stored once the handler
  runs (a 500 included) and replayed for the same key + same params; the same key with other
  params is a 400 `idempotency_error`; a validation 400 stores nothing.
- Queued faults: a 429 `rate_limit` error, or a 500 before or after the refund is made
  (after: the refund exists, the stored answer is the 500 — Stripe's "started executing").
- `signed(event)`: the body and `Stripe-Signature` header a webhook delivery carries
  (stripe.WebhookSignature.generate_signature_header, the SDK's own test helper).

Every request is recorded in `calls` (replays included), for exactly-once counting.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.local_server import running

API_KEY = "sk_test_fake_0123456789"
# Dispute.Evidence's text fields (stripe-python 16.1.0; the file fields are left out: we send none).
EVIDENCE_TEXT_FIELDS = frozenset({
    "access_activity_log", "billing_address", "cancellation_policy_disclosure", "cancellation_rebuttal",
    "customer_email_address", "customer_name", "customer_purchase_ip", "duplicate_charge_explanation",
    "duplicate_charge_id", "product_description", "refund_policy_disclosure", "refund_refusal_explanation",
    "service_date", "shipping_address", "shipping_carrier", "shipping_date", "shipping_tracking_number",
    "uncategorized_text"})
RESPONDABLE = frozenset({"warning_needs_response", "needs_response", "appeal_needs_response"})
WEBHOOK_SECRET = "whsec_fake_0123456789"


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    idempotency_key: str | None = None
    replayed: bool = False


@dataclass
class _Fault:
    status: int
    path: str  # only requests to this path…
    method: str = "POST"  # …with this method
    after_execute: bool = False


@dataclass
class _Stored:
    params: dict[str, Any]
    status: int
    body: bytes


class StoreWithPayments:
    """A store (the sample store) whose orders' payment transactions name the charges a
    FakeStripe holds: `references[order_id]` is what `payment_references` answers."""

    def __init__(self, store) -> None:
        self._store = store
        self.references: dict[str, list] = {}

    def __getattr__(self, name):
        return getattr(self._store, name)

    def payment_references(self, order_id: str) -> list:
        return self.references.get(order_id, [])


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: `a=1`, `metadata[k]=v` (nested dict), `expand[]=x` (list)."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        if key.endswith("[]"):
            out.setdefault(key[:-2], []).append(value)
        elif "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


def error(status: int, type_: str, message: str, **extra: Any) -> tuple[int, dict]:
    return status, {"error": {"type": type_, "message": message, **extra}}


@dataclass
class FakeStripe:
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    denied: set[str] = field(default_factory=set)  # path prefixes a restricted key may not use
    now: Any = time.time  # unix seconds, for `created`
    charges: dict[str, dict] = field(default_factory=dict)
    warnings: dict[str, dict] = field(default_factory=dict)
    disputes: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)  # oldest first
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._idempotency: dict[str, _Stored] = {}
        self._faults: list[_Fault] = []
        self.base_url: str | None = None

    # --- the world ------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def add_charge(self, *, amount: int, currency: str = "usd", metadata: dict | None = None,
                   outcome: dict | None = None, email: str | None = None, payment_intent: str | None = None,
                   id: str | None = None) -> dict:
        charge = {"id": id or self._id("ch"), "object": "charge", "amount": amount, "amount_refunded": 0,
                  "refunded": False, "currency": currency, "created": int(self.now()), "livemode": False,
                  "metadata": dict(metadata or {}), "payment_intent": payment_intent, "disputed": False,
                  "outcome": outcome if outcome is not None else {"type": "authorized",
                                                                  "network_status": "approved_by_network",
                                                                  "seller_message": "Payment complete."},
                  "billing_details": {"email": email}, "receipt_email": email, "status": "succeeded"}
        self.charges[charge["id"]] = charge
        return charge

    def add_warning(self, charge_id: str, *, fraud_type: str = "made_with_stolen_card", actionable: bool = True,
                    id: str | None = None) -> dict:
        warning = {"id": id or self._id("issfr"), "object": "radar.early_fraud_warning", "actionable": actionable,
                   "charge": charge_id, "created": int(self.now()), "fraud_type": fraud_type, "livemode": False,
                   "payment_intent": self.charges[charge_id].get("payment_intent")}
        self.warnings[warning["id"]] = warning
        return warning

    def add_dispute(self, charge_id: str, *, amount: int | None = None, reason: str = "fraudulent",
                    status: str = "needs_response", network_reason_code: str | None = "10.4") -> dict:
        charge = self.charges[charge_id]
        dispute = {"id": self._id("du"), "object": "dispute", "amount": amount or charge["amount"],
                   "charge": charge_id, "currency": charge["currency"], "created": int(self.now()),
                   "reason": reason, "status": status, "network_reason_code": network_reason_code,
                   "evidence_details": {"due_by": int(self.now()) + 7 * 86400, "has_evidence": False,
                                        "past_due": False, "submission_count": 0},
                   "is_charge_refundable": False, "livemode": False, "metadata": {},
                   "payment_intent": charge.get("payment_intent")}
        charge["disputed"] = True
        self.disputes[dispute["id"]] = dispute
        return dispute

    def event(self, type_: str, obj: dict, *, idempotency_key: str | None = None, record: bool = True) -> dict:
        """An event envelope as Stripe sends it (and lists it at /v1/events)."""
        event = {"id": self._id("evt"), "object": "event", "api_version": "2026-10-28.endive",
                 "created": int(self.now()), "data": {"object": json.loads(json.dumps(obj))}, "livemode": False,
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": idempotency_key},
                 "type": type_}
        if record:
            self.events.append(event)
        return event

    def signed(self, event: dict, *, secret: str | None = None, timestamp: int | None = None) -> tuple[bytes, dict]:
        """(body, headers) of a webhook delivery of `event`, signed as Stripe signs it."""
        import stripe

        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            body, secret or self.webhook_secret, timestamp=timestamp if timestamp is not None else int(self.now()))
        return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}

    # --- faults ---------------------------------------------------------------------------

    def fail_next(self, path: str, status: int = 500, *, method: str | None = None,
                  after_execute: bool = False) -> None:
        """The next `method` request (POST, or GET for a read path) to `path` answers `status`
        (a 500 after_execute: the work is done first, as when Stripe fails after it
        started executing)."""
        method = method or ("POST" if path == "/v1/refunds" else "GET")
        self._faults.append(_Fault(status, path, method, after_execute))

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    # --- HTTP -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                params = parse_form(body if method == "POST" else url.query)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = fake.handle(method, url.path, params, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", f"req_{next(fake._ids)}")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        with running(Handler, "fake-stripe") as url:
            self.base_url = url
            yield url

    def handle(self, method: str, path: str, params: dict, headers: dict[str, str]) -> tuple[int, bytes]:
        with self._lock:
            key = headers.get("idempotency-key") if method == "POST" else None
            status, body, replayed = self._handle(method, path, params, headers, key)
            self.calls.append(Call(method, path, params, status, key, replayed))
            return status, body

    def _handle(self, method, path, params, headers, key) -> tuple[int, bytes, bool]:
        auth = headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            status, out = error(401, "invalid_request_error", "Invalid API Key provided: " + _masked(auth))
            return status, _dump(out), False
        if any(path.startswith(p) for p in self.denied):
            status, out = error(403, "invalid_request_error",
                                f"The provided key does not have the required permissions for this endpoint "
                                f"({method} {path}).", code="secret_key_required")
            return status, _dump(out), False
        fault = next((f for f in self._faults if f.path == path and f.method == method), None)
        if fault is not None and fault.status == 429:
            self._faults.remove(fault)
            status, out = error(429, "invalid_request_error", "Too many requests hit the API too quickly.",
                                code="rate_limit")
            return status, _dump(out), False
        if key is not None and key in self._idempotency:
            stored = self._idempotency[key]
            if stored.params != params:
                status, out = error(400, "idempotency_error",
                                    f"Keys for idempotent requests can only be used with the same parameters they "
                                    f"were first used with. Try using a key other than '{key}' if you meant to "
                                    f"execute a different request.")
                return status, _dump(out), False
            return stored.status, stored.body, True
        if key is not None and len(key) > 255:
            status, out = error(400, "invalid_request_error", "Idempotency-Key is longer than 255 characters.")
            return status, _dump(out), False
        if fault is not None and not fault.after_execute:
            self._faults.remove(fault)
            status, out = error(fault.status, "api_error", "An unknown error occurred.")
            body = _dump(out)
            if key is not None:  # it started executing: the failure is what the key answers now
                self._idempotency[key] = _Stored(params, status, body)
            return status, body, False
        status, out = self._route(method, path, params, key)
        if fault is not None and fault.after_execute and status < 400:
            self._faults.remove(fault)
            status, out = error(fault.status, "api_error", "An unknown error occurred.")
        body = _dump(out)
        if key is not None and status != 400:  # a validation error stores nothing
            self._idempotency[key] = _Stored(params, status, body)
        return status, body, False

    def _route(self, method, path, params, key) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if method == "GET":
            if parts[:2] == ["v1", "charges"] and len(parts) == 3:
                return self._get(self.charges, parts[2], "charge")
            if parts[:3] == ["v1", "radar", "early_fraud_warnings"]:
                if len(parts) == 4:
                    return self._get(self.warnings, parts[3], "radar.early_fraud_warning")
                return self._list(path, self.warnings.values(), params, "charge")
            if parts[:2] == ["v1", "disputes"]:
                if len(parts) == 3:
                    return self._get(self.disputes, parts[2], "dispute")
                return self._list(path, self.disputes.values(), params, "charge")
            if parts == ["v1", "refunds"]:
                return self._list(path, self.refunds.values(), params, "charge")
            if parts == ["v1", "charges"]:
                return self._list(path, self.charges.values(), params, "payment_intent")
            if parts == ["v1", "events"]:
                return self._events(path, params)
        if method == "POST" and parts == ["v1", "refunds"]:
            return self._create_refund(params, key)
        if method == "POST" and parts[:2] == ["v1", "disputes"] and len(parts) == 3:
            return self._update_dispute(parts[2], params, key)
        if method == "POST" and parts[:2] == ["v1", "disputes"] and len(parts) == 4 and parts[3] == "close":
            return self._close_dispute(parts[2], key)
        return error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _get(self, table: dict, id_: str, what: str) -> tuple[int, dict]:
        if id_ not in table:
            return error(404, "invalid_request_error", f"No such {what}: '{id_}'", code="resource_missing",
                         param="id")
        return 200, table[id_]

    def _list(self, path, items, params, filter_on: str | None = None) -> tuple[int, dict]:
        rows = sorted(items, key=lambda o: (o["created"], o["id"]), reverse=True)  # newest first
        if filter_on and params.get(filter_on):
            rows = [r for r in rows if r.get(filter_on) == params[filter_on]]
        return self._page(path, rows, params)

    def _page(self, path, rows, params) -> tuple[int, dict]:
        try:
            limit = int(params.get("limit", 10))
        except ValueError:
            return error(400, "invalid_request_error", "Invalid integer: limit", param="limit")
        if not 1 <= limit <= 100:
            return error(400, "invalid_request_error", "This value must be between 1 and 100", param="limit")
        after = params.get("starting_after")
        if after:
            ids = [r["id"] for r in rows]
            if after not in ids:
                return error(400, "invalid_request_error", f"No such object: '{after}'", param="starting_after")
            rows = rows[ids.index(after) + 1:]
        return 200, {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit, "url": path}

    def _events(self, path, params) -> tuple[int, dict]:
        rows = list(reversed(self.events))
        types = params.get("types")
        if isinstance(types, dict):  # the SDK sends lists as types[0]=…&types[1]=…
            types = list(types.values())
        if types:
            rows = [e for e in rows if e["type"] in types]
        elif params.get("type"):
            rows = [e for e in rows if e["type"] == params["type"]]
        created = params.get("created")
        if isinstance(created, dict):
            if "gte" in created:
                rows = [e for e in rows if e["created"] >= int(created["gte"])]
            if "gt" in created:
                rows = [e for e in rows if e["created"] > int(created["gt"])]
        return self._page(path, rows, params)

    def _create_refund(self, params, key) -> tuple[int, dict]:
        charge = self.charges.get(params.get("charge", ""))
        if charge is None:
            return error(400, "invalid_request_error", f"No such charge: '{params.get('charge')}'",
                         code="resource_missing", param="charge")
        left = charge["amount"] - charge["amount_refunded"]
        try:
            amount = int(params["amount"]) if "amount" in params else left
        except ValueError:
            return error(400, "invalid_request_error", "Invalid integer: amount", param="amount")
        if amount <= 0 or amount > left:
            return error(400, "invalid_request_error",
                         f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                         code="amount_too_large", param="amount")
        reason = params.get("reason")
        if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
            return error(400, "invalid_request_error", f"Invalid reason: {reason}", param="reason")
        refund = {"id": self._id("re"), "object": "refund", "amount": amount, "charge": charge["id"],
                  "created": int(self.now()), "currency": charge["currency"], "metadata": params.get("metadata", {}),
                  "payment_intent": charge.get("payment_intent"), "reason": reason, "status": "succeeded",
                  "destination_details": {"card": {"type": "reversal"}, "type": "card"}}
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.event("refund.created", refund, idempotency_key=key)
        self.event("charge.refunded", charge, idempotency_key=key)
        for warning in self.warnings.values():
            if warning["charge"] == charge["id"] and charge["refunded"] and warning["actionable"]:
                warning["actionable"] = False
                self.event("radar.early_fraud_warning.updated", warning, idempotency_key=None)
        return 200, refund

    def _update_dispute(self, dispute_id, params, key) -> tuple[int, dict]:
        """Evidence and metadata are saved; `submit=true` sends them (once: the dispute goes
        under review). A dispute that no longer takes evidence refuses the update."""
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            return error(404, "invalid_request_error", f"No such dispute: '{dispute_id}'", code="resource_missing",
                         param="dispute")
        evidence = params.get("evidence") or {}
        unknown = sorted(set(evidence) - EVIDENCE_TEXT_FIELDS)
        if unknown:
            return error(400, "invalid_request_error", f"Received unknown parameter: evidence[{unknown[0]}]",
                         param=f"evidence[{unknown[0]}]")
        if dispute["status"] not in RESPONDABLE:
            return error(400, "invalid_request_error",
                         f"This dispute is {dispute['status']} and can no longer be updated.")
        dispute.setdefault("evidence", {}).update(evidence)
        dispute["metadata"].update(params.get("metadata") or {})
        if params.get("submit") == "true":
            details = dispute["evidence_details"]
            details["submission_count"] += 1
            details["has_evidence"] = True
            dispute["status"] = "warning_under_review" if dispute["status"].startswith("warning") else "under_review"
            self.event("charge.dispute.updated", dispute, idempotency_key=key)
        return 200, dispute

    def _close_dispute(self, dispute_id, key) -> tuple[int, dict]:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            return error(404, "invalid_request_error", f"No such dispute: '{dispute_id}'", code="resource_missing",
                         param="dispute")
        if dispute["status"] not in RESPONDABLE:
            return error(400, "invalid_request_error", f"This dispute is already {dispute['status']}.")
        dispute["status"] = "lost"
        self.event("charge.dispute.closed", dispute, idempotency_key=key)
        return 200, dispute

    def submissions(self, dispute_id: str) -> list[Call]:
        """Every POST that reached the dispute with submit=true (replays included)."""
        return [c for c in self.calls_to("POST", f"/v1/disputes/{dispute_id}") if c.params.get("submit") == "true"]

    @property
    def refunds_made(self) -> list[dict]:
        return list(self.refunds.values())


def _masked(auth: str) -> str:
    token = auth.removeprefix("Bearer ").strip()
    return (token[:7] + "*" * max(0, len(token) - 11) + token[-4:]) if len(token) > 11 else "***"


def _dump(out: dict) -> bytes:
    return json.dumps(out).encode()
