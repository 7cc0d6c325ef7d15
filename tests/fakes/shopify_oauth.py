"""Fakes for how a shop connects: Shopify's token endpoint and the app-admin part of the
GraphQL API (webhook subscriptions, the installation's access scopes).

`FakeTokenEndpoint` enforces what Shopify documents for `POST /admin/oauth/access_token`:
a POST, form encoded, the client ID and secret it was made with, and per grant:

* `grant_type=client_credentials` → `{access_token, scope, expires_in}` (no refresh token);
* `code=…` (no grant_type) → the code must be one it issued, used once; with
  `expiring=1` an expiring offline token (`expires_in` 3600) and a refresh token;
* `grant_type=refresh_token&refresh_token=…` → a new pair; the refresh token rotates.
  `rotation="strict"`: a refresh token works once. `rotation="lenient"` (Shopify's
  2026-08-28 change): the previous refresh token keeps working until its replacement is
  used.

Errors look like Shopify's: 400 with `{"error", "error_description"}` (or, with
`text_errors`, a line "Oauth error <code>: …"); `outage` answers 503. Every request is in
`calls`; an issued access token can be handed to a FakeShopify (`on_token`), which then
accepts only it.

`FakeAppAdmin` executes `webhookSubscriptions`, `webhookSubscriptionCreate` and
`currentAppInstallation` documents with graphql-core against the 2026-10 schema
(tests/reference/shopify/admin_schema_2026-10.json.gz): a document that does not
validate is refused as Shopify would and recorded in `invalid_documents`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl

import httpx
from graphql import GraphQLSchema, build_client_schema, execute_sync, get_operation_ast, parse, validate

from tests.fakes.local_server import running

SCHEMA_2026_10 = Path(__file__).resolve().parents[1] / "reference" / "shopify" / "admin_schema_2026-10.json.gz"
TOKEN_PATH = "/admin/oauth/access_token"


@lru_cache(maxsize=1)
def schema_2026_10() -> GraphQLSchema:
    with gzip.open(SCHEMA_2026_10, "rt", encoding="utf-8") as fh:
        return build_client_schema(json.load(fh)["data"], assume_valid=True)


@lru_cache(maxsize=1)
def offline_scopes_2026_10() -> list[dict[str, Any]]:
    with gzip.open(SCHEMA_2026_10, "rt", encoding="utf-8") as fh:
        return json.load(fh)["offline_scopes"]["items"]


def validate_2026_10(source: str) -> list[str]:
    try:
        document = parse(source)
    except Exception as exc:  # a syntax error is a GraphQLError
        return [str(exc)]
    return [e.message for e in validate(schema_2026_10(), document)]


@dataclass
class TokenCall:
    form: dict[str, str]
    status: int

    @property
    def grant(self) -> str:
        if "grant_type" in self.form:
            return self.form["grant_type"]
        return "authorization_code" if "code" in self.form else "?"


@dataclass
class FakeTokenEndpoint:
    client_id: str = "client-id-0123"
    client_secret: str = "client-secret-do-not-print"
    scope: str = ("write_orders,write_returns,write_customers,read_products,read_locations,"
                  "read_shopify_payments_disputes,write_shopify_payments_dispute_evidences,write_draft_orders,"
                  "read_store_credit_accounts,write_store_credit_account_transactions,read_all_orders")
    expires_in: int | None = 86399  # client credentials; None: the answer omits it
    rotation: str = "strict"  # or "lenient"
    text_errors: bool = False
    outage: bool = False
    refuse_client_credentials: str | None = None  # e.g. "shop_not_permitted"
    on_token: Callable[[str], None] | None = None
    calls: list[TokenCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0
        self.codes: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.previous_of: dict[str, str] = {}  # new refresh token -> the one it replaced (lenient)
        self.issued: list[str] = []
        self.before_reply: Callable[[], None] | None = None  # e.g. a barrier for race tests
        self.drop_reply_once = False  # the refresh is applied, its answer lost (a timeout)

    # --- what a test sets up -------------------------------------------------------------------

    def issue_code(self) -> str:
        with self._lock:
            self._n += 1
            code = f"code{self._n:04d}"
            self.codes.add(code)
            return code

    # --- wiring --------------------------------------------------------------------------------

    def transport(self, fallback: Callable[[httpx.Request], httpx.Response] | None = None) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path != TOKEN_PATH:
                if fallback is None:
                    return httpx.Response(404, json={"errors": "Not Found"}, request=request)
                return fallback(request)
            status, headers, body = self.handle(request.method, dict(request.headers), request.content)
            if status == 0:
                raise httpx.ReadTimeout("fake: the answer was lost", request=request)
            return httpx.Response(status, headers=headers, content=body, request=request)

        return httpx.MockTransport(handler)

    def http_client(self, fallback=None) -> httpx.Client:
        return httpx.Client(transport=self.transport(fallback))

    # --- the endpoint --------------------------------------------------------------------------

    def handle(self, method: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {k.lower(): v for k, v in headers.items()}
        if method != "POST":
            return self._error(405, "invalid_request", "POST only")
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self._error(400, "invalid_request", "expected application/x-www-form-urlencoded")
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        form = dict(pairs)
        if len(form) != len(pairs):
            return self._record(form, self._error(400, "invalid_request", "a parameter is repeated"))
        if self.before_reply is not None:
            self.before_reply()
        with self._lock:
            return self._record(form, self._answer(form))

    def _record(self, form: dict[str, str], answer):
        self.calls.append(TokenCall(form, answer[0]))
        return answer

    def _answer(self, form: dict[str, str]):
        if self.outage:
            return self._json(503, {"errors": "Service Unavailable"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._error(400, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if self.refuse_client_credentials:
                return self._error(400, self.refuse_client_credentials, "Client credentials cannot be performed on "
                                                                         "this shop.")
            body = {"access_token": self._token("cc"), "scope": self.scope}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return self._json(200, body)
        if grant is None and "code" in form:
            if form["code"] not in self.codes:
                return self._error(400, "invalid_request", "The authorization code was not found or was already used.")
            self.codes.discard(form["code"])
            return self._json(200, self._pair(expiring=form.get("expiring") == "1"))
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.valid_refresh:
                return self._error(400, "invalid_grant", "The refresh token is invalid or was already used.")
            if self.rotation == "strict":
                self.valid_refresh.discard(token)
            else:
                # Using a replacement invalidates the token it replaced; this one stays
                # valid until its own replacement is used.
                previous = self.previous_of.pop(token, None)
                if previous:
                    self.valid_refresh.discard(previous)
            pair = self._pair(expiring=True)
            self.previous_of[pair["refresh_token"]] = token
            if self.drop_reply_once:
                self.drop_reply_once = False
                return 0, {}, b""
            return self._json(200, pair)
        return self._error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _pair(self, *, expiring: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self._token("ac"), "scope": self.scope}
        if expiring:
            self._n += 1
            refresh = f"shprt_{self._n:04d}"
            self.valid_refresh.add(refresh)
            body.update(expires_in=3600, refresh_token=refresh, refresh_token_expires_in=2592000)
        return body

    def _token(self, kind: str) -> str:
        self._n += 1
        token = f"shpat_{kind}_{self._n:04d}"
        self.issued.append(token)
        if self.on_token is not None:
            self.on_token(token)
        return token

    def _error(self, status: int, code: str, description: str):
        if self.text_errors:
            return status, {"Content-Type": "text/plain"}, f"Oauth error {code}: {description}".encode()
        return self._json(status, {"error": code, "error_description": description})

    @staticmethod
    def _json(status: int, payload: Any):
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


# --- webhook subscriptions and access scopes ------------------------------------------------------


class FakeAppAdmin:
    """The GraphQL Admin API's app part, executed against the 2026-10 schema."""

    def __init__(self, *, token_ok: Callable[[str | None], bool] = lambda t: True,
                 scopes: tuple[str, ...] = ("write_orders", "write_returns"), api_version: str = "2026-10",
                 page_size: int | None = None) -> None:
        self.token_ok = token_ok
        self.scopes = scopes
        self.api_version = api_version
        self.page_size = page_size  # pagination: at most this many nodes per page
        self.subscriptions: list[dict[str, Any]] = []
        self.invalid_documents: list[tuple[str, list[str]]] = []
        self.operations: list[str] = []
        self.fail_create: dict[str, str] = {}  # topic -> userError message
        self._n = 0
        self._lock = threading.Lock()

    def add(self, topic: str, uri: str, *, fmt: str = "JSON") -> dict[str, Any]:
        self._n += 1
        sub = {"__typename": "WebhookSubscription", "id": f"gid://shopify/WebhookSubscription/{self._n}",
               "topic": topic, "uri": uri, "format": fmt,
               "apiVersion": {"__typename": "ApiVersion", "handle": self.api_version, "displayName": self.api_version,
                              "supported": True}}
        self.subscriptions.append(sub)
        return sub

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        headers = {k.lower(): v for k, v in headers.items()}
        if not self.token_ok(headers.get("x-shopify-access-token")):
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        request = json.loads(body or b"{}")
        source, variables = request.get("query", ""), request.get("variables") or {}
        errors = validate_2026_10(source)
        if errors:
            self.invalid_documents.append((source, errors))
            return 200, {"errors": [{"message": m} for m in errors]}
        document = parse(source)
        op = get_operation_ast(document, request.get("operationName"))
        self.operations.append(op.name.value if op and op.name else "?")
        with self._lock:
            result = execute_sync(schema_2026_10(), document, root_value=self._root(op.operation.value),
                                  variable_values=variables, operation_name=request.get("operationName"))
        if result.errors:
            return 200, {"errors": [{"message": e.message} for e in result.errors]}
        return 200, {"data": result.data}

    def transport_handler(self, request: httpx.Request) -> httpx.Response:
        status, payload = self.handle(dict(request.headers), request.content)
        return httpx.Response(status, json=payload, request=request)

    def _root(self, operation: str) -> dict[str, Any]:
        if operation == "mutation":
            return {"webhookSubscriptionCreate": self._create}
        return {
            "webhookSubscriptions": self._list,
            "currentAppInstallation": {"__typename": "AppInstallation",
                                       "accessScopes": [{"__typename": "AccessScope", "handle": s, "description": s}
                                                        for s in self.scopes]},
        }

    def _list(self, info, first=None, after=None, **_):
        start = int(after) if after else 0
        size = min(x for x in (first, self.page_size, 250) if x is not None)
        page = self.subscriptions[start:start + size]
        end = start + len(page)
        return {"nodes": page, "pageInfo": {"hasNextPage": end < len(self.subscriptions),
                                            "endCursor": str(end) if page else None,
                                            "hasPreviousPage": start > 0, "startCursor": str(start)}}

    def _create(self, info, topic, webhookSubscription):  # noqa: N803 (the schema's argument name)
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        errors = []
        if topic in self.fail_create:
            errors.append({"field": ["webhookSubscription"], "message": self.fail_create[topic]})
        elif not isinstance(uri, str) or not uri.startswith("https://"):
            errors.append({"field": ["webhookSubscription", "callbackUrl"], "message": "Address protocol is not "
                                                                                       "supported"})
        elif any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions):
            errors.append({"field": ["webhookSubscription", "callbackUrl"],
                           "message": "Address for this topic has already been taken"})
        if errors:
            return {"webhookSubscription": None, "userErrors": errors}
        return {"webhookSubscription": self.add(topic, uri, fmt=webhookSubscription.get("format") or "JSON"),
                "userErrors": []}


# --- both behind one address -------------------------------------------------------------------


@contextlib.contextmanager
def serve(token_endpoint: FakeTokenEndpoint,
          graphql: Callable[[dict[str, str], bytes], tuple[int, dict[str, str], bytes]]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1: the token endpoint, and every other POST to `graphql`
    (headers lower-cased, raw body) → (status, headers, body)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?", 1)[0]
            if path == TOKEN_PATH:
                status, out, payload = token_endpoint.handle("POST", headers, body)
            else:
                status, out, payload = graphql(headers, body)
            self.send_response(status)
            for k, v in out.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    with running(Handler, "fake-shopify-oauth") as url:
        yield url


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
