"""FakeShopify: the Admin GraphQL endpoint, executed for real against the 2026-10 schema.

Documents are parsed, validated against tests/reference/shopify/admin_schema_2026-10.json.gz
and executed with graphql-core over in-memory data kept in GraphQL response shape (dicts
keyed by field name; fields with arguments are callables `(info, **args)`; nodes carry
`__typename`). So a document that would fail against Shopify fails here too (and lands
in `fake.invalid_documents`), and what comes back has exactly the selected shape.

Also like Shopify: a requested-cost estimate per document (2 + first × item cost per
connection, 1 per object, 10 per mutation), recorded on every call, a leaky bucket that
those costs really deplete and that restores over time (throttled responses when it runs
dry), a 1,000-point single-query limit, the access-token check (401), the version header
(`X-Shopify-Api-Version`: the version asked for when it is supported, else the oldest
supported one — fall-forward; documents still run against the one 2026-10 schema), and:
- returns REQUESTED → OPEN (approval creates the reverse fulfillment order) / DECLINED,
  `createdAt`, reason definitions, processable / processed quantities;
- `returnProcess`: quantities checked against what is processable, dispositions against
  the reverse fulfillment order, refunds to the order's transactions in the order's
  presentment currency, refunded shipping; the return closes when nothing is left to
  process (the fake's reading; the adapter treats OPEN and CLOSED alike);
- `refundCreate` only with `@idempotent(key:)` (an error without it, as from 2026-04): a
  repeated key with the same input replays the first result (the call is recorded with
  `replayed=True`), the same key with other input is an error;
- orders in a second presentment currency (`presentment_currency`, `exchange_rate`);
- store credit and metafields with compare-and-set;
- the warehouse (issue 9): `attach_label` (a reverse delivery with label and tracking),
  `dispose` and the `reverseFulfillmentOrderDispose` mutation (all or nothing; more than is
  left to dispose, or a restock without a location, is a userError), the bodies of
  reverse_deliveries/attach_deliverable, reverse_fulfillment_orders/dispose and
  returns/process (Shopify publishes no sample: REST-style snake_case, optionally without
  the return), `reverseFulfillmentOrder` / `reverseDelivery` reads; `returnProcess` refuses a
  disposition for what is already disposed, and a second identical call (nothing left).
- the delayed-shipment remedies: `refundCreate` with `shipping` (an amount in the refund's
  currency, or `fullRefund`), refused above the shipping left; draft orders
  (`draftOrderCreate` with variant or custom lines and a 100% discount, `draftOrderComplete`
  into an order — a second completion is a userError —, `draftOrderDelete` of an open
  draft, `draftOrder` reads) and order metafields (the reship ledger).
Mutations the fake does not implement answer with an error, never a silent null.

Use it over an httpx transport or as a real server:

    fake = FakeShopify()
    customer = fake.add_customer(display_name="Ada Lovelace", tags=["VIP"])
    order = fake.add_order(customer_id=customer, line_items=[{"title": "Boots", "price": "149.00"}])
    ret = fake.add_return(order)

    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=httpx.Client(transport=fake.transport()))
    with fake.serve() as base_url:          # http://127.0.0.1:<port>
        url = fake.graphql_url(base_url)    # …/admin/api/2026-10/graphql.json
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    build_client_schema,
    execute_sync,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_leaf_type,
    is_list_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from policy.models import Money
from tests.fakes.local_server import running

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "reference" / "shopify" / "admin_schema_2026-10.json.gz"
API_VERSION = "2026-10"
# Stable versions a shop serves in December 2026 (each is supported for 12 months).
SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")
_PATH = re.compile(r"^/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json$")
_OP_NAME = re.compile(r"^\s*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")
MAX_QUERY_COST = 1000
MUTATION_COST = 10


@lru_cache(maxsize=1)
def load_reference_schema() -> GraphQLSchema:
    """The 2026-10 Admin schema, built once per process (about a third of a second).

    `assume_valid`: Shopify's schema breaks a rule graphql-core 3.3 checks on schemas
    (deprecated fields implementing non-deprecated interface fields); documents are still
    fully validated against it.
    """
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as fh:
        introspection = json.load(fh)
    return build_client_schema(introspection["data"], assume_valid=True)


def validate_document(source: str) -> list[GraphQLError]:
    schema = load_reference_schema()
    try:
        document = parse(source)
    except GraphQLError as exc:
        return [exc]
    return list(validate(schema, document))


# --- clock ----------------------------------------------------------------------------------------


class FakeClock:
    """Monotonic seconds and wall time that only move when someone sleeps (or `advance`)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.t = 1000.0
        self.start = start or datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.t += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds

    def now(self) -> datetime:
        with self._lock:
            return self.start + timedelta(seconds=self.t - 1000.0)


# --- cost -----------------------------------------------------------------------------------------


class CostError(ValueError):
    pass


def estimate_cost(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None = None, operation_name: str | None = None
) -> int:
    """Shopify-style requested cost: scalars/enums 0, objects 1, connections 2 + first × item,
    lists first (or len(ids)) × item, abstract types the most expensive branch, mutations 10."""
    variables = variables or {}
    op = get_operation_ast(document, operation_name)
    if op is None:
        raise CostError("no operation to run")
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if op.operation == OperationType.MUTATION:
        return MUTATION_COST * sum(1 for s in op.selection_set.selections if isinstance(s, FieldNode))

    def args_of(node: FieldNode) -> dict[str, Any]:
        return {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or []}

    def selection_cost(selection_set, parent) -> int:
        base = 0
        branches = [0]
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                base += field_cost(sel, parent)
            else:
                if isinstance(sel, InlineFragmentNode):
                    cond, sub = sel.type_condition, sel.selection_set
                elif isinstance(sel, FragmentSpreadNode):
                    frag = fragments[sel.name.value]
                    cond, sub = frag.type_condition, frag.selection_set
                else:  # pragma: no cover
                    continue
                target = schema.get_type(cond.name.value) if cond else parent
                cost = selection_cost(sub, target)
                if target is parent:
                    base += cost
                else:
                    branches.append(cost)
        return base + max(branches)

    def item_cost(selection_set, node_type) -> int:
        return 1 + (selection_cost(selection_set, node_type) if selection_set else 0)

    def field_cost(node: FieldNode, parent) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition = parent.fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        args = args_of(node)
        if named.name.endswith("Connection") and "edges" in getattr(named, "fields", {}):
            n = args.get("first") or args.get("last")
            if not n:
                raise CostError(f"you must provide one of first or last on {parent.name}.{name}")
            node_type = get_named_type(named.fields["nodes"].type)
            per = 0
            for sel in node.selection_set.selections if node.selection_set else []:
                if isinstance(sel, FieldNode) and sel.name.value == "nodes":
                    per = max(per, item_cost(sel.selection_set, node_type))
                elif isinstance(sel, FieldNode) and sel.name.value == "edges":
                    for inner in sel.selection_set.selections:
                        if isinstance(inner, FieldNode) and inner.name.value == "node":
                            per = max(per, item_cost(inner.selection_set, node_type))
            return 2 + int(n) * per
        if is_list_type(get_nullable_type(definition.type)):
            if isinstance(args.get("ids"), list):
                n = len(args["ids"])
            else:
                n = int(args.get("first") or 1)
            return n * item_cost(node.selection_set, named)
        return item_cost(node.selection_set, named)

    root = schema.query_type
    return selection_cost(op.selection_set, root)


# --- data helpers ---------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    text = value.strip().strip("'\"").replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _dec(value: Any) -> Decimal:
    if isinstance(value, float):
        raise TypeError("use strings or Decimals for money in the fake, not floats")
    return Decimal(str(value))


def _money(amount: Any, currency: str) -> dict[str, str]:
    return {"amount": str(_dec(amount)), "currencyCode": currency}


def _bag(amount: Any, currency: str) -> dict[str, Any]:
    return {"shopMoney": _money(amount, currency), "presentmentMoney": _money(amount, currency)}


def _bag2(shop: Any, shop_currency: str, presentment: Any, presentment_currency: str) -> dict[str, Any]:
    return {"shopMoney": _money(shop, shop_currency), "presentmentMoney": _money(presentment, presentment_currency)}


def _round(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit (JPY has none)."""
    return Money(amount=amount, currency=currency).quantized()


def _num(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def _disposed_quantity(item: dict[str, Any]) -> int:
    return sum(d["quantity"] for d in item["dispositions"])


class FakeUserErrors(ValueError):
    """A scripted warehouse step that Shopify would refuse, with the userErrors it returns."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def _cursor(i: int) -> str:
    return base64.b64encode(f"fake:{i}".encode()).decode()


def _uncursor(c: str) -> int:
    try:
        return int(base64.b64decode(c).decode().split(":", 1)[1])
    except Exception as exc:  # noqa: BLE001
        raise GraphQLError(f"Invalid cursor: {c}") from exc


def _not_implemented(name: str) -> Callable[..., Any]:
    def resolve(info: Any, **_: Any) -> Any:
        raise GraphQLError(f"FakeShopify does not implement {name}")

    return resolve


def _idempotency_key(info: Any) -> str:
    """The key of the `@idempotent` directive on the field being resolved; an error
    without one, as Shopify answers from 2026-04 for the mutations that need it."""
    node = info.field_nodes[0]
    for directive in node.directives or []:
        if isinstance(directive, DirectiveNode) and directive.name.value == "idempotent":
            for arg in directive.arguments:
                if arg.name.value == "key":
                    variables = getattr(info.variable_values, "coerced", info.variable_values)  # graphql-core 3.3 / 3.2
                    key = value_from_ast_untyped(arg.value, variables)
                    if not isinstance(key, str) or not key.strip():
                        raise GraphQLError("The idempotency key cannot be an empty string or whitespace only.",
                                           extensions={"code": "BAD_REQUEST"})
                    return key
    raise GraphQLError(
        f"{node.name.value} requires an idempotency key: use the @idempotent(key:) directive",
        extensions={"code": "BAD_REQUEST"},
    )


def _by_processing(items: list[dict], status: str | None) -> list[dict]:
    """`processingStatus:` PROCESSABLE (something left to process) or PROCESSED."""
    if status == "PROCESSABLE":
        return [x for x in items if x["_return"]["status"] == "OPEN"
                and x["quantity"] > x["_processed"] + x.get("_removed", 0)]
    if status == "PROCESSED":
        return [x for x in items if x["_processed"] > 0]
    return list(items)


def connection(items: list[Any], *, first=None, after=None, last=None, before=None, reverse=False, **_: Any) -> dict:
    seq = list(reversed(items)) if reverse else list(items)
    indexed = list(enumerate(seq))
    if after:
        start = _uncursor(after) + 1
        indexed = [(i, x) for i, x in indexed if i >= start]
    if before:
        end = _uncursor(before)
        indexed = [(i, x) for i, x in indexed if i < end]
    has_next = has_prev = False
    if first is not None:
        has_next = len(indexed) > first
        indexed = indexed[:first]
    if last is not None:
        has_prev = len(indexed) > last
        indexed = indexed[-last:] if last else []
    return {
        "edges": [{"cursor": _cursor(i), "node": x} for i, x in indexed],
        "nodes": [x for _, x in indexed],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev or bool(after),
            "startCursor": _cursor(indexed[0][0]) if indexed else None,
            "endCursor": _cursor(indexed[-1][0]) if indexed else None,
        },
    }


_TERM = re.compile(r"""(?:(\w+):(>=|<=|>|<)?('[^']*'|"[^"]*"|\S+))|('[^']*'|"[^"]*"|\S+)""")


def parse_search(query: str | None) -> list[tuple[str | None, str, str]]:
    """Shopify search syntax, the subset the project uses: `field:value`, `field:>=value`,
    quoted values, bare words; terms are ANDed (the words AND/OR are ignored)."""
    terms = []
    for m in _TERM.finditer(query or ""):
        if m.group(1):
            terms.append((m.group(1).lower(), m.group(2) or "=", m.group(3).strip("'\"")))
        else:
            word = m.group(4).strip("'\"")
            if word.upper() not in ("AND", "OR"):
                terms.append((None, "=", word))
    return terms


def _compare(left: Any, op: str, right: Any) -> bool:
    return {
        "=": left == right,
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }[op]


@dataclass
class Call:
    operation: str | None
    variables: dict[str, Any]
    status: int
    outcome: str  # ok | graphql_error | throttled | failed | invalid | unauthorized | timeout
    query: str = ""
    cost: int = 0  # requested cost (0 when the document never got that far)
    replayed: bool = False  # an @idempotent mutation answered from its first result
    version: str | None = None  # the version served


@dataclass
class _Fault:
    kind: str  # status | throttle | timeout
    operation: str | None = None  # only requests for this operation name
    status: int = 500
    after_execute: bool = False
    with_code: bool = True
    retry_after: float | None = None


@dataclass
class _Bucket:
    maximum: float
    restore_rate: float
    available: float
    at: float


class FakeTimeout(Exception):
    """Raised inside the transport to simulate a timeout (mapped to httpx.ReadTimeout)."""


# --- the fake -------------------------------------------------------------------------------------


class FakeShopify:
    def __init__(
        self,
        *,
        access_token: str = "shpat_fake_token_0123456789",
        shop_domain: str = "acme-test.myshopify.com",
        currency: str = "USD",
        bucket_size: float = 20000.0,
        restore_rate: float = 1000.0,
        monotonic: Callable[[], float] | None = None,
        now: Callable[[], datetime] | None = None,
        supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS,
    ) -> None:
        self.access_token = access_token
        self.supported_versions = tuple(supported_versions)
        self.shop_domain = shop_domain
        self.currency = currency
        self.schema = load_reference_schema()
        self._monotonic = monotonic or time.monotonic
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._lock = threading.RLock()
        self._bucket = _Bucket(bucket_size, restore_rate, bucket_size, self._monotonic())
        self._faults: list[_Fault] = []
        self._seq: dict[str, int] = {}
        self.calls: list[Call] = []
        self.invalid_documents: list[tuple[str, list[str]]] = []
        self.mutations: list[tuple[str, dict[str, Any]]] = []  # applied: (mutation, input)
        # Called (served over HTTP only) with the operation name after it took effect and
        # before its answer is sent: crash tests kill the caller while it waits here.
        self.before_reply: Callable[[str | None], None] | None = None
        self.customers: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.returns: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.store_credit_accounts: dict[str, dict] = {}
        self.store_credit_transactions: dict[str, dict] = {}
        self.metafields: dict[tuple[str, str, str], dict] = {}
        self.reverse_fulfillment_orders: dict[str, dict] = {}
        self.reverse_deliveries: dict[str, dict] = {}
        self.variants: dict[str, dict] = {}  # ProductVariant nodes (exchange items' stock)
        self.draft_orders: dict[str, dict] = {}
        # @idempotent keys seen: key → (mutation, input fingerprint, result or None if it failed)
        self.idempotency: dict[str, tuple[str, str, dict | None]] = {}
        self._replayed = False
        self.location = {"__typename": "Location", "id": "gid://shopify/Location/1", "name": "Main warehouse"}
        self._order_number = 1000
        self.shop = {
            "__typename": "Shop",
            "id": "gid://shopify/Shop/1",
            "name": "Acme Test Store",
            "myshopifyDomain": shop_domain,
            "currencyCode": currency,
            "ianaTimezone": "UTC",  # tests set another: fake.shop["ianaTimezone"] = "Europe/Berlin"
        }
        # The app installation's granted scopes (`currentAppInstallation`): what `check`
        # compares with what returnsbot needs. Tests narrow it to see a missing scope named.
        from integrations.shopify.auth import RECOMMENDED_SCOPES, REQUIRED_SCOPES

        self.access_scopes: list[str] = [*REQUIRED_SCOPES, *RECOMMENDED_SCOPES]

    # --- scripting ------------------------------------------------------------------------------

    def fail_next(
        self, n: int = 1, status: int = 500, *, after_execute: bool = False, operation: str | None = None
    ) -> None:
        """The next n requests (for `operation`, if named) answer `status`; with after_execute
        the operation runs first (a mutation that took effect although the caller saw an error)."""
        with self._lock:
            self._faults += [
                _Fault("status", operation=operation, status=status, after_execute=after_execute) for _ in range(n)
            ]

    def throttle_next(
        self,
        n: int = 1,
        *,
        status: int = 200,
        with_code: bool = True,
        retry_after: float | None = None,
        operation: str | None = None,
    ) -> None:
        """The next n requests are refused as THROTTLED (HTTP 200 or 429; with_code=False sends
        only the message "Throttled"); the bucket is reported as holding less than the cost."""
        with self._lock:
            self._faults += [
                _Fault("throttle", operation=operation, status=status, with_code=with_code, retry_after=retry_after)
                for _ in range(n)
            ]

    def timeout_next(self, n: int = 1, *, after_execute: bool = False, operation: str | None = None) -> None:
        """The next n requests time out (transport: httpx.ReadTimeout; server: connection dropped)."""
        with self._lock:
            self._faults += [_Fault("timeout", operation=operation, after_execute=after_execute) for _ in range(n)]

    def _take_fault(self, operation: str | None) -> _Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.operation is None or fault.operation == operation:
                return self._faults.pop(i)
        return None

    def operations(self, outcome: str | None = "ok") -> list[str | None]:
        with self._lock:
            return [c.operation for c in self.calls if outcome is None or c.outcome == outcome]

    def calls_to(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    @property
    def bucket_available(self) -> float:
        with self._lock:
            self._restore()
            return self._bucket.available

    # --- wiring ---------------------------------------------------------------------------------

    def graphql_url(self, base_url: str = "https://acme-test.myshopify.com", version: str = API_VERSION) -> str:
        return f"{base_url.rstrip('/')}/admin/api/{version}/graphql.json"

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            try:
                status, out_headers, body = self.handle(request.method, request.url.path, headers, request.content)
            except FakeTimeout:
                raise httpx.ReadTimeout("fake timeout", request=request) from None
            return httpx.Response(status, headers=out_headers, content=body, request=request)

        return httpx.MockTransport(handler)

    def http_client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """A real HTTP server on 127.0.0.1 (random port) for the duration of the block."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, out_headers, payload = fake.handle("POST", self.path.split("?", 1)[0], headers, body)
                except FakeTimeout:
                    self.close_connection = True
                    return
                if fake.before_reply is not None:  # the operation took effect; its answer waits
                    try:
                        fake.before_reply(json.loads(body or b"{}").get("operationName"))
                    except ValueError:
                        pass
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        with running(Handler, "fake-shopify") as url:
            yield url

    # --- request handling --------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            return self._handle(method, path, headers, body)

    def served_version(self, requested: str) -> str:
        """Fall-forward: a supported (or unstable) version is served as asked; any other
        gets the oldest supported stable version, as Shopify does."""
        if requested in self.supported_versions or requested == "unstable":
            return requested
        return min(self.supported_versions)

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json; charset=utf-8", **(extra or {})}
        return status, headers, json.dumps(payload).encode()

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method != "POST":
            return self._json(405, {"errors": "Method Not Allowed"})
        matched = _PATH.match(path)
        if not matched:
            return self._json(404, {"errors": "Not Found"})
        version = self.served_version(matched.group(1))
        vh = {"X-Shopify-Api-Version": version}
        if headers.get("x-shopify-access-token") != self.access_token:
            self.calls.append(Call(None, {}, 401, "unauthorized", version=version))
            return self._json(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, vh)
        try:
            request = json.loads(body or b"{}")
            source = request["query"]
            variables = request.get("variables") or {}
            operation_name = request.get("operationName")
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"errors": "Bad Request: expected a JSON body with a query"}, vh)

        def record(name: str | None, status: int, outcome: str, cost: int = 0, replayed: bool = False) -> None:
            self.calls.append(Call(name, variables, status, outcome, source, cost=cost, replayed=replayed, version=version))

        early_name = operation_name
        if early_name is None and isinstance(source, str):
            m = _OP_NAME.match(source)
            early_name = m.group(1) if m else None
        fault = self._take_fault(early_name)
        if fault and fault.kind == "status" and not fault.after_execute:
            record(early_name, fault.status, "failed")
            return self._json(fault.status, {"errors": "Internal Server Error"}, vh)
        if fault and fault.kind == "timeout" and not fault.after_execute:
            record(early_name, 0, "timeout")
            raise FakeTimeout()

        try:
            document = parse(source)
        except GraphQLError as exc:
            self.invalid_documents.append((source, [exc.message]))
            record(operation_name, 200, "invalid")
            return self._json(200, {"errors": [exc.formatted]}, vh)
        errors = validate(self.schema, document)
        op = get_operation_ast(document, operation_name)
        name = op.name.value if isinstance(op, OperationDefinitionNode) and op.name else operation_name
        if errors:
            self.invalid_documents.append((source, [e.message for e in errors]))
            record(name, 200, "invalid")
            return self._json(200, {"errors": [e.formatted for e in errors]}, vh)

        try:
            cost = estimate_cost(self.schema, document, variables, operation_name)
        except CostError as exc:
            record(name, 200, "graphql_error")
            return self._json(200, {"errors": [{"message": str(exc), "extensions": {"code": "BAD_REQUEST"}}]}, vh)
        if cost > MAX_QUERY_COST:
            record(name, 200, "graphql_error", cost)
            return self._json(
                200,
                {
                    "errors": [
                        {
                            "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST},
                        }
                    ]
                },
                vh,
            )

        self._restore()
        if (fault and fault.kind == "throttle") or self._bucket.available + 1e-6 < cost:
            forced = fault is not None and fault.kind == "throttle"
            available = min(self._bucket.available, cost - 1) if forced else self._bucket.available
            error: dict[str, Any] = {"message": "Throttled"}
            if not forced or fault.with_code:
                error["extensions"] = {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}
            payload = {"errors": [error], "extensions": {"cost": self._cost_block(cost, None, available)}}
            status = fault.status if forced else 200
            extra = {"Retry-After": str(fault.retry_after)} if forced and fault.retry_after is not None else {}
            record(name, status, "throttled", cost)
            return self._json(status, payload, {**vh, **extra})

        self._bucket.available = max(0.0, self._bucket.available - cost)
        self._replayed = False
        result = execute_sync(
            self.schema, document, root_value=self._root(), variable_values=variables, operation_name=operation_name
        )
        payload = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["extensions"] = {"cost": self._cost_block(cost, cost, self._bucket.available)}
        outcome = "graphql_error" if result.errors else "ok"

        if fault and fault.after_execute:
            if fault.kind == "timeout":
                record(name, 0, "timeout", cost, self._replayed)
                raise FakeTimeout()
            record(name, fault.status, "failed", cost, self._replayed)
            return self._json(fault.status, {"errors": "Internal Server Error"}, vh)
        record(name, 200, outcome, cost, self._replayed)
        return self._json(200, payload, vh)

    def _restore(self) -> None:
        now = self._monotonic()
        b = self._bucket
        b.available = min(b.maximum, b.available + b.restore_rate * max(0.0, now - b.at))
        b.at = now

    def _cost_block(self, requested: int, actual: int | None, available: float) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self._bucket.maximum,
                "currentlyAvailable": available,
                "restoreRate": self._bucket.restore_rate,
            },
        }

    # --- ids and time ---------------------------------------------------------------------------

    def _next(self, kind: str) -> str:
        bases = {
            "Order": 5550000,
            "Customer": 7770000,
            "Return": 9990000,
            "Refund": 8880000,
            "ShopifyPaymentsDispute": 6660000,
            "LineItem": 1110000,
            "FulfillmentLineItem": 2220000,
            "Fulfillment": 3330000,
            "ReturnLineItem": 4440000,
            "OrderTransaction": 1230000,
            "BasicEvent": 1000000,
            "Product": 4560000,
            "StoreCreditAccount": 7890000,
            "StoreCreditAccountCreditTransaction": 7900000,
            "Metafield": 3210000,
            "ReverseFulfillmentOrder": 6540000,
            "ReverseFulfillmentOrderLineItem": 6550000,
            "ReverseFulfillmentOrderDisposition": 6560000,
            "ReverseDelivery": 6570000,
            "ReverseDeliveryLineItem": 6580000,
            "ExchangeLineItem": 4450000,
            "ProductVariant": 4470000,
            "InventoryItem": 4480000,
            "ReturnReasonDefinition": 100,
            "DraftOrder": 1190000,
        }
        self._seq[kind] = self._seq.get(kind, bases.get(kind, 100)) + 1
        return f"gid://shopify/{kind}/{self._seq[kind]}"

    def now(self) -> datetime:
        return self._now()

    # --- seeding --------------------------------------------------------------------------------

    def add_customer(
        self,
        *,
        display_name: str = "Ada Lovelace",
        email: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
        number_of_orders: int | None = None,
        amount_spent: str | Decimal | None = None,
        currency: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """A customer; orders count and amount spent default to what their orders add up to."""
        with self._lock:
            gid = self._next("Customer")
            currency = currency or self.currency
            first, _, last = display_name.partition(" ")
            rec: dict[str, Any] = {
                "__typename": "Customer",
                "id": gid,
                "legacyResourceId": gid.rsplit("/", 1)[1],
                "displayName": display_name,
                "firstName": first,
                "lastName": last or None,
                "email": email if email is not None else f"{first.lower() or 'customer'}@example.com",
                "tags": list(tags),
                "createdAt": _iso(created_at or self.now() - timedelta(days=400)),
                "updatedAt": _iso(self.now()),
                "note": None,
                "_number_of_orders": number_of_orders,
                "_amount_spent": amount_spent,
                "_currency": currency,
            }
            rec["numberOfOrders"] = lambda info, r=rec: str(
                r["_number_of_orders"] if r["_number_of_orders"] is not None else len(self._orders_of(r["id"]))
            )
            rec["amountSpent"] = lambda info, r=rec: _money(
                r["_amount_spent"]
                if r["_amount_spent"] is not None
                else sum((o["_total"] for o in self._orders_of(r["id"])), Decimal(0)),
                r["_currency"],
            )
            rec["defaultEmailAddress"] = lambda info, r=rec: (
                {"emailAddress": r["email"], "marketingState": "NOT_SUBSCRIBED"} if r["email"] else None
            )
            rec["orders"] = lambda info, r=rec, **kw: self._orders_connection(self._orders_of(r["id"]), **kw)
            rec["metafield"] = lambda info, r=rec, key=None, namespace=None: self.metafields.get((r["id"], namespace, key))
            rec["storeCreditAccounts"] = lambda info, r=rec, **kw: connection(
                [a for a in self.store_credit_accounts.values() if a["_owner"] == r["id"]],
                first=kw.get("first"),
                after=kw.get("after"),
            )
            self.customers[gid] = rec
            return gid

    def add_order(
        self,
        *,
        customer_id: str | None = None,
        name: str | None = None,
        created_at: datetime | None = None,
        currency: str | None = None,
        line_items: list[dict[str, Any]] | None = None,
        tags: list[str] | tuple[str, ...] = (),
        email: str | None = None,
        financial_status: str = "PAID",
        fulfillment_status: str | None = None,
        fulfillments: list[dict[str, Any]] | None = None,
        delivered_at: datetime | None = None,
        risk_level: str | None = "LOW",
        risk_facts: list[tuple[str, str]] | tuple = (),
        cancelled_at: datetime | None = None,
        paid: bool = True,
        shipping: str | Decimal = "0",
        presentment_currency: str | None = None,
        exchange_rate: str | Decimal = "1",
    ) -> str:
        """An order. Line items: dicts with title, price, quantity, sku, product_tags,
        variant_title (default: one "Merino Sweater" at 149.00). Fulfillments: dicts with
        display_status, delivered_at, in_transit_at, created_at, estimated_delivery_at,
        company, number, url, location (default: one, DELIVERED three days after the order,
        from the fake's one location; pass []
        for an unfulfilled order). Paid orders get one successful SALE transaction of the
        items and the shipping. `presentment_currency`/`exchange_rate`: the customer paid
        in another currency, at `exchange_rate` units of it per unit of shop money."""
        with self._lock:
            gid = self._next("Order")
            currency = currency or self.currency
            pcur = presentment_currency or currency
            rate = _dec(exchange_rate) if pcur != currency else Decimal(1)
            pres = lambda amount: _round(_dec(amount) * rate, pcur)  # noqa: E731
            bag = lambda amount: _bag2(amount, currency, pres(amount), pcur)  # noqa: E731
            created = created_at or self.now() - timedelta(days=10)
            self._order_number += 1
            order_name = name or f"#{self._order_number}"
            items_in = line_items if line_items is not None else [{"title": "Merino Sweater", "price": "149.00"}]
            items = []
            for spec in items_in:
                price = _dec(spec.get("price", "149.00"))
                qty = int(spec.get("quantity", 1))
                li_id = self._next("LineItem")
                product_id = self._next("Product")
                li = {
                    "__typename": "LineItem",
                    "id": li_id,
                    "title": spec.get("title", "Merino Sweater"),
                    "name": spec.get("title", "Merino Sweater"),
                    "sku": spec.get("sku"),
                    "variantTitle": spec.get("variant_title"),
                    "quantity": qty,
                    "currentQuantity": qty,
                    "discountedUnitPriceAfterAllDiscountsSet": bag(price),
                    "originalUnitPriceSet": bag(spec.get("original_price", price)),
                    "product": {
                        "__typename": "Product",
                        "id": product_id,
                        "title": spec.get("title", "Merino Sweater"),
                        "tags": list(spec.get("product_tags", ())),
                    },
                    "_price": price,
                    "_fli": {"__typename": "FulfillmentLineItem", "id": self._next("FulfillmentLineItem"), "quantity": qty},
                }
                li["_fli"]["lineItem"] = li
                items.append(li)
            shipping_amount = _dec(shipping)
            total = sum((li["_price"] * li["quantity"] for li in items), Decimal(0)) + shipping_amount
            customer = self.customers.get(customer_id) if customer_id else None
            if customer_id and customer is None:
                raise KeyError(f"no customer {customer_id}")

            if fulfillments is None:
                fulfillments = [{"display_status": "DELIVERED", "delivered_at": delivered_at or created + timedelta(days=3)}]
            fulfillment_recs = []
            for spec in fulfillments:
                f_created = spec.get("created_at") or created + timedelta(days=1)
                delivered = spec.get("delivered_at")
                fulfillment_recs.append(
                    {
                        "__typename": "Fulfillment",
                        "id": self._next("Fulfillment"),
                        "name": f"{order_name}-F{len(fulfillment_recs) + 1}",
                        "status": spec.get("status", "SUCCESS"),
                        "displayStatus": spec.get("display_status", "DELIVERED" if delivered else "IN_TRANSIT"),
                        "createdAt": _iso(f_created),
                        "updatedAt": _iso(delivered or f_created),
                        "inTransitAt": _iso(spec["in_transit_at"]) if spec.get("in_transit_at") else _iso(f_created),
                        "deliveredAt": _iso(delivered) if delivered else None,
                        "estimatedDeliveryAt": _iso(spec["estimated_delivery_at"]) if spec.get("estimated_delivery_at") else None,
                        "location": spec.get("location", self.location),
                        "_lines": [li["_fli"] for li in items] if not fulfillment_recs else [],
                        "_tracking": [
                            {
                                "company": spec.get("company", "UPS"),
                                "number": spec.get("number", "1Z999AA10123456784"),
                                "url": spec.get("url", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
                            }
                        ],
                    }
                )
                fulfillment_recs[-1]["trackingInfo"] = lambda info, f=fulfillment_recs[-1], first=None: f["_tracking"][
                    : first or None
                ]
                fulfillment_recs[-1]["fulfillmentLineItems"] = lambda info, f=fulfillment_recs[-1], **kw: connection(
                    f["_lines"], **kw
                )

            rec: dict[str, Any] = {
                "__typename": "Order",
                "id": gid,
                "legacyResourceId": gid.rsplit("/", 1)[1],
                "name": order_name,
                "createdAt": _iso(created),
                "processedAt": _iso(created),
                "updatedAt": _iso(max(created, *(self._parse(f["updatedAt"]) for f in fulfillment_recs)) if fulfillment_recs else created),
                "cancelledAt": _iso(cancelled_at) if cancelled_at else None,
                "closed": False,
                "currencyCode": currency,
                "presentmentCurrencyCode": pcur,
                "_rate": rate,
                "_shipping": shipping_amount,
                "_shipping_refunded": Decimal(0),
                "email": email if email is not None else (customer["email"] if customer else None),
                "tags": list(tags),
                "displayFinancialStatus": financial_status,
                "clientIp": None,
                "billingAddress": None,
                "shippingAddress": None,
                "billingAddressMatchesShippingAddress": True,
                "displayFulfillmentStatus": fulfillment_status
                or ("FULFILLED" if fulfillment_recs else "UNFULFILLED"),
                "note": None,
                "test": False,
                "_total": total,
                "_customer": customer_id,
                "_line_items": items,
                "_fulfillments": fulfillment_recs,
                "_events": [],
                "_risk": {
                    "recommendation": {"HIGH": "CANCEL", "MEDIUM": "INVESTIGATE"}.get(risk_level or "", "ACCEPT"),
                    "assessments": (
                        [
                            {
                                "riskLevel": risk_level,
                                "facts": [{"description": d, "sentiment": s} for d, s in risk_facts],
                                "provider": None,
                            }
                        ]
                        if risk_level
                        else []
                    ),
                },
            }
            rec["totalPriceSet"] = bag(total)
            rec["totalShippingPriceSet"] = bag(shipping_amount)
            rec["totalRefundedShippingSet"] = lambda info, r=rec: bag(r["_shipping_refunded"])
            rec["currentTotalPriceSet"] = lambda info, r=rec: bag(r["_total"])
            rec["totalReceivedSet"] = lambda info, r=rec: bag(self._received(r))
            rec["totalRefundedSet"] = lambda info, r=rec: bag(self._refunded(r))
            rec["netPaymentSet"] = lambda info, r=rec: bag(self._received(r) - self._refunded(r))
            rec["_bag"] = bag
            rec["customer"] = lambda info, r=rec: self.customers.get(r["_customer"]) if r["_customer"] else None
            rec["lineItems"] = lambda info, r=rec, **kw: connection(r["_line_items"], **kw)
            rec["fulfillments"] = lambda info, r=rec, first=None: r["_fulfillments"][: first or None]
            rec["refunds"] = lambda info, r=rec, first=None: self._refunds_of(r["id"])[: first or None]
            rec["transactions"] = lambda info, r=rec, first=None, **kw: self._transactions_of(r["id"])[: first or None]
            rec["risk"] = lambda info, r=rec: r["_risk"]
            rec["returnStatus"] = lambda info, r=rec: self._return_status(r)
            rec["returns"] = lambda info, r=rec, **kw: self._returns_connection(r, **kw)
            rec["disputes"] = lambda info, r=rec: [
                {"__typename": "OrderDisputeSummary", "id": d["id"], "status": d["status"], "initiatedAs": d["type"]}
                for d in self.disputes.values()
                if d["_order"] == r["id"]
            ]
            rec["events"] = lambda info, r=rec, **kw: self._events_connection(r, **kw)
            rec["metafield"] = lambda info, r=rec, key=None, namespace=None: self.metafields.get((r["id"], namespace, key))
            rec["shippingAddress"] = {
                "__typename": "MailingAddress", "address1": "1 Main St", "address2": None, "city": "Portland",
                "company": None, "countryCodeV2": "US", "firstName": "Ada", "lastName": "Lovelace", "phone": None,
                "provinceCode": "OR", "zip": "97201"}
            self.orders[gid] = rec
            if paid and total > 0:
                self._add_transaction(gid, "SALE", total, created_at=created)
            self.add_event(gid, f"Order {order_name} was placed.", action="placed", created_at=created)
            return gid

    def add_event(self, order_id: str, message: str, *, action: str = "comment", created_at: datetime | None = None) -> str:
        with self._lock:
            event = {
                "__typename": "BasicEvent",
                "id": self._next("BasicEvent"),
                "createdAt": _iso(created_at or self.now()),
                "action": action,
                "message": message,
                "appTitle": None,
                "attributeToApp": False,
                "attributeToUser": False,
                "criticalAlert": False,
            }
            self.orders[order_id]["_events"].append(event)
            return event["id"]

    def add_return(
        self,
        order_id: str,
        *,
        line_items: list[dict[str, Any]] | None = None,
        status: str = "REQUESTED",
        name: str | None = None,
        requested_at: datetime | None = None,
        reason: str = "SIZE_TOO_SMALL",
        reason_handle: str | None | type(...) = ...,
        reason_note: str = "",
        customer_note: str | None = None,
        exchange_items: list[dict[str, Any]] | None = None,
        processed: bool = False,
    ) -> str:
        """A return on `order_id`, requested at `requested_at` (its `createdAt`; default now).

        Line items: dicts naming the order line by `line_item_id`, `sku` or `index`, with
        quantity, reason, reason_handle, reason_note, customer_note (default: every line
        of the order, full quantity). A line's reason definition has the handle
        `reason_handle` — by default the legacy `reason` spelled as a handle
        (SIZE_TOO_SMALL → "size-too-small"); None: no definition (a return from before
        2026-01), so only the deprecated `returnReason` says why. `exchange_items`: dicts
        with title, quantity. An OPEN or CLOSED return has its reverse fulfillment order;
        `processed`: its items were processed already (in the admin, without a refund)."""
        with self._lock:
            order = self.orders[order_id]
            gid = self._next("Return")
            n = sum(1 for r in self.returns.values() if r["_order"] == order_id) + 1
            specs = line_items if line_items is not None else [{"index": i} for i in range(len(order["_line_items"]))]
            when = requested_at or self.now()
            rec: dict[str, Any] = {
                "__typename": "Return",
                "id": gid,
                "name": name or f"{order['name']}-R{n}",
                "status": status,
                "decline": None,
                "createdAt": _iso(when),
                "requestApprovedAt": _iso(when) if status in ("OPEN", "CLOSED") else None,
                "closedAt": _iso(when) if status == "CLOSED" else None,
                "returnShippingFees": [],
                "_order": order_id,
                "_lines": [],
                "_exchanges": [],
                "_rfos": [],
            }
            for spec in specs:
                li = self._find_line(order, spec)
                qty = int(spec.get("quantity", li["quantity"]))
                line_reason = spec.get("reason", reason)
                handle = spec.get("reason_handle", reason_handle)
                if handle is ...:
                    handle = line_reason.lower().replace("_", "-")
                line: dict[str, Any] = {
                    "__typename": "ReturnLineItem",
                    "id": self._next("ReturnLineItem"),
                    "quantity": qty,
                    "_processed": qty if processed else 0,
                    "refundedQuantity": 0,
                    "returnReason": line_reason,
                    "returnReasonDefinition": (
                        {"__typename": "ReturnReasonDefinition", "id": self._next("ReturnReasonDefinition"),
                         "handle": handle, "name": handle.replace("-", " ").capitalize(), "deleted": False}
                        if handle else None
                    ),
                    "returnReasonNote": spec.get("reason_note", reason_note),
                    "customerNote": spec.get("customer_note", customer_note),
                    "fulfillmentLineItem": li["_fli"],
                    "restockingFee": None,
                    "_return": rec,
                }
                self._line_quantities(line)
                rec["_lines"].append(line)
            for spec in exchange_items or []:
                ex: dict[str, Any] = {
                    "__typename": "ExchangeLineItem",
                    "id": self._next("ExchangeLineItem"),
                    "title": spec.get("title", "Exchange item"),
                    "quantity": int(spec.get("quantity", 1)),
                    "_processed": 0,
                    "lineItems": None,
                    "_return": rec,
                }
                self._line_quantities(ex)
                rec["_exchanges"].append(ex)
            rec["order"] = lambda info, r=rec: self.orders[r["_order"]]
            rec["totalQuantity"] = lambda info, r=rec: sum(li["quantity"] for li in r["_lines"])
            rec["returnLineItems"] = lambda info, r=rec, processingStatus=None, **kw: connection(
                _by_processing(r["_lines"], processingStatus), **kw)
            rec["exchangeLineItems"] = lambda info, r=rec, processingStatus=None, includeRemovedItems=False, **kw: (
                connection(_by_processing([e for e in r["_exchanges"] if includeRemovedItems
                                           or e.get("_removed", 0) < e["quantity"]], processingStatus), **kw))
            rec["refunds"] = lambda info, r=rec, **kw: connection(
                [x for x in self.refunds.values() if x["_return"] == r["id"]], **kw
            )
            rec["reverseFulfillmentOrders"] = lambda info, r=rec, **kw: connection(r["_rfos"], **kw)
            self.returns[gid] = rec
            if status in ("OPEN", "CLOSED"):
                self._open_reverse_fulfillment(rec)
            self._touch(order, when)
            return gid

    def _line_quantities(self, line: dict[str, Any]) -> None:
        """Quantities derived from the processed count and the return's status."""
        line["processedQuantity"] = lambda info, x=line: x["_processed"]
        line["unprocessedQuantity"] = lambda info, x=line: x["quantity"] - x["_processed"] - x.get("_removed", 0)
        line["processableQuantity"] = lambda info, x=line: (
            x["quantity"] - x["_processed"] - x.get("_removed", 0) if x["_return"]["status"] == "OPEN" else 0
        )
        if line["__typename"] == "ReturnLineItem":
            line["refundableQuantity"] = lambda info, x=line: (
                0 if x["_return"]["status"] in ("DECLINED", "CANCELED") else x["quantity"] - x["refundedQuantity"]
            )

    def _open_reverse_fulfillment(self, ret: dict[str, Any]) -> None:
        """What approving a return creates: one reverse fulfillment order for its items."""
        if ret["_rfos"]:
            return
        rfo: dict[str, Any] = {"__typename": "ReverseFulfillmentOrder", "id": self._next("ReverseFulfillmentOrder"),
                               "status": "OPEN", "_lines": []}
        for line in ret["_lines"]:
            item = {
                "__typename": "ReverseFulfillmentOrderLineItem",
                "id": self._next("ReverseFulfillmentOrderLineItem"),
                "totalQuantity": line["quantity"],
                "dispositions": [],
                "fulfillmentLineItem": line["fulfillmentLineItem"],
                "_line": line,
            }
            rfo["_lines"].append(item)
        rfo["lineItems"] = lambda info, r=rfo, **kw: connection(r["_lines"], **kw)
        rfo["order"] = lambda info, r=ret: self.orders[r["_order"]]
        rfo["_deliveries"] = []
        rfo["reverseDeliveries"] = lambda info, r=rfo, **kw: connection(r["_deliveries"], **kw)
        ret["_rfos"].append(rfo)
        self.reverse_fulfillment_orders[rfo["id"]] = rfo

    # --- the warehouse (issue 9) ---------------------------------------------------------------

    def attach_label(self, return_id: str, *, carrier: str = "DHL", number: str = "JD000001",
                     url: str | None = None, label_url: str = "https://cdn.example/label.pdf",
                     names_return: bool = True) -> dict[str, Any]:
        """What `reverseDeliveryCreateWithShipping` does for the return's reverse fulfillment
        order: a reverse delivery for every item still to come back, with the label and
        tracking. Returns the reverse_deliveries/attach_deliverable body Shopify would send;
        `names_return=False`: a body that names only the reverse delivery and its reverse
        fulfillment order (Shopify documents no sample, so the adapter must cope with both)."""
        with self._lock:
            ret = self.returns[return_id]
            rfo = ret["_rfos"][0]
            delivery_id = self._next("ReverseDelivery")
            delivery: dict[str, Any] = {
                "__typename": "ReverseDelivery", "id": delivery_id,
                "deliverable": {"__typename": "ReverseDeliveryShippingDeliverable",
                                "label": {"publicFileUrl": label_url, "createdAt": _iso(self.now()),
                                          "updatedAt": _iso(self.now())},
                                "tracking": {"carrierName": carrier, "number": number, "url": url}},
                "reverseFulfillmentOrder": rfo,
                "_lines": [{"__typename": "ReverseDeliveryLineItem", "id": self._next("ReverseDeliveryLineItem"),
                            "quantity": item["totalQuantity"] - _disposed_quantity(item), "dispositions": [],
                            "reverseFulfillmentOrderLineItem": item}
                           for item in rfo["_lines"] if item["totalQuantity"] - _disposed_quantity(item) > 0],
            }
            delivery["reverseDeliveryLineItems"] = lambda info, d=delivery, **kw: connection(d["_lines"], **kw)
            rfo["_deliveries"].append(delivery)
            self.reverse_deliveries[delivery_id] = delivery
            self._touch(self.orders[ret["_order"]])
            return self._delivery_body(delivery, names_return=names_return)

    def dispose(self, return_id: str, items: list[tuple[Any, int, str, str | None]], *,
                names_return: bool = True) -> dict[str, Any]:
        """The warehouse inspects what came back: what `reverseFulfillmentOrderDispose` does,
        for `(line, quantity, disposition, location id)` items, where `line` is a return line
        id, a reverse fulfillment order line id or a line index. Refused as Shopify refuses
        (more than is left to dispose, no location to restock at): `FakeUserErrors`. Returns
        the reverse_fulfillment_orders/dispose body (the reverse fulfillment order with its
        lines and all their dispositions so far)."""
        with self._lock:
            ret = self.returns[return_id]
            inputs = []
            for line, qty, disposition, location in items:
                item = self._rfo_item(ret, line)
                inputs.append({"reverseFulfillmentOrderLineItemId": item["id"], "quantity": qty,
                               "dispositionType": disposition, "locationId": location})
            disposed, errors = self._dispose(inputs)
            if errors:
                raise FakeUserErrors(errors)
            rfo = next(r for r in ret["_rfos"] if any(i in r["_lines"] for i in disposed))
            return self._rfo_body(rfo, names_return=names_return)

    def _rfo_item(self, ret: dict[str, Any], line: Any) -> dict[str, Any]:
        items = [item for rfo in ret["_rfos"] for item in rfo["_lines"]]
        if isinstance(line, int):
            return next(i for i in items if i["_line"] is ret["_lines"][line])
        return next(i for i in items if line in (i["id"], i["_line"]["id"]))

    def _dispose(self, inputs: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
        """Check every disposition, then apply all of them (or none): (lines, userErrors)."""
        wanted: dict[str, int] = {}
        found: list[dict] = []
        for i, d in enumerate(inputs):
            path = ["dispositionInputs", str(i)]
            item = next((x for rfo in self.reverse_fulfillment_orders.values() for x in rfo["_lines"]
                         if x["id"] == d["reverseFulfillmentOrderLineItemId"]), None)
            if item is None:
                return [], [self._user_error("Reverse fulfillment order line item does not exist.", "NOT_FOUND",
                                             [*path, "reverseFulfillmentOrderLineItemId"])]
            ret = item["_line"]["_return"]
            if ret["status"] != "OPEN":
                return [], [self._user_error(f"Return is {ret['status'].lower()}; its items cannot be disposed.",
                                             "INVALID_STATE", [*path, "reverseFulfillmentOrderLineItemId"])]
            wanted[item["id"]] = wanted.get(item["id"], 0) + d["quantity"]
            if d["quantity"] <= 0:
                return [], [self._user_error("Quantity must be greater than 0.", "GREATER_THAN", [*path, "quantity"])]
            if wanted[item["id"]] > item["totalQuantity"] - _disposed_quantity(item):
                return [], [self._user_error("Quantity exceeds the quantity left to dispose.", "INVALID",
                                             [*path, "quantity"])]
            if d["dispositionType"] == "RESTOCKED" and d.get("locationId") != self.location["id"]:
                return [], [self._user_error("A location is required to restock.", "INVALID", [*path, "locationId"])]
            found.append(item)
        for item, d in zip(found, inputs):
            item["dispositions"].append({
                "__typename": "ReverseFulfillmentOrderDisposition", "id": self._next("ReverseFulfillmentOrderDisposition"),
                "createdAt": _iso(self.now()), "quantity": d["quantity"], "type": d["dispositionType"],
                "location": self.location if d.get("locationId") else None,
            })
            self._touch(self.orders[item["_line"]["_return"]["_order"]])
        return found, []

    def _delivery_body(self, delivery: dict[str, Any], *, names_return: bool) -> dict[str, Any]:
        rfo = delivery["reverseFulfillmentOrder"]
        deliverable = delivery["deliverable"]
        tracking, label = deliverable["tracking"], deliverable["label"]
        body: dict[str, Any] = {
            "id": _num(delivery["id"]), "admin_graphql_api_id": delivery["id"],
            "reverse_fulfillment_order": {"id": _num(rfo["id"]), "admin_graphql_api_id": rfo["id"]},
            "reverse_delivery_line_items": [
                {"id": _num(li["id"]), "admin_graphql_api_id": li["id"], "quantity": li["quantity"],
                 "reverse_fulfillment_order_line_item": {
                     "id": _num(li["reverseFulfillmentOrderLineItem"]["id"]),
                     "admin_graphql_api_id": li["reverseFulfillmentOrderLineItem"]["id"]}}
                for li in delivery["_lines"]],
            "deliverable": {"tracking": {"carrier_name": tracking["carrierName"], "number": tracking["number"],
                                         "url": tracking["url"]},
                            "label": {"public_file_url": label["publicFileUrl"]}},
            "updated_at": label["updatedAt"],
        }
        if names_return:
            body["reverse_fulfillment_order"]["return_id"] = self._return_of_rfo(rfo)["id"]
        return body

    def _rfo_body(self, rfo: dict[str, Any], *, names_return: bool) -> dict[str, Any]:
        ret = self._return_of_rfo(rfo)
        order = self.orders[ret["_order"]]
        times = [d["createdAt"] for item in rfo["_lines"] for d in item["dispositions"]]
        body: dict[str, Any] = {
            "id": _num(rfo["id"]), "admin_graphql_api_id": rfo["id"], "status": rfo["status"].lower(),
            "order_id": _num(order["id"]),
            "line_items": [
                {"id": _num(item["id"]), "admin_graphql_api_id": item["id"], "total_quantity": item["totalQuantity"],
                 "fulfillment_line_item": {"id": _num(item["fulfillmentLineItem"]["id"]),
                                           "admin_graphql_api_id": item["fulfillmentLineItem"]["id"]},
                 "dispositions": [
                     {"id": _num(d["id"]), "quantity": d["quantity"], "type": d["type"].lower(),
                      "location": ({"id": _num(d["location"]["id"]), "name": d["location"]["name"]}
                                   if d["location"] else None),
                      "created_at": d["createdAt"]}
                     for d in item["dispositions"]]}
                for item in rfo["_lines"]],
            "updated_at": max(times) if times else _iso(self.now()),
        }
        if names_return:
            body["return"] = {"id": _num(ret["id"]), "admin_graphql_api_id": ret["id"]}
        return body

    def _return_of_rfo(self, rfo: dict[str, Any]) -> dict[str, Any]:
        return next(r for r in self.returns.values() if rfo in r["_rfos"])

    def add_refund(
        self,
        order_id: str,
        *,
        amount: str | Decimal,
        note: str | None = None,
        created_at: datetime | None = None,
        return_id: str | None = None,
    ) -> str:
        """A refund of `amount` against the order's first SALE/CAPTURE transaction."""
        with self._lock:
            order = self.orders[order_id]
            parent = next(
                (t for t in self._transactions_of(order_id) if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"),
                None,
            )
            return self._create_refund(order, _dec(amount), parent, note=note, created_at=created_at, return_id=return_id)

    def add_dispute(
        self,
        order_id: str | None,
        *,
        amount: str | Decimal | None = None,
        currency: str | None = None,
        status: str = "NEEDS_RESPONSE",
        reason: str = "FRAUDULENT",
        type: str = "CHARGEBACK",  # noqa: A002
        initiated_at: datetime | None = None,
        evidence_due_by: str | None = None,
    ) -> str:
        with self._lock:
            order = self.orders.get(order_id) if order_id else None
            gid = self._next("ShopifyPaymentsDispute")
            initiated = initiated_at or self.now() - timedelta(days=1)
            rec: dict[str, Any] = {
                "__typename": "ShopifyPaymentsDispute",
                "id": gid,
                "legacyResourceId": gid.rsplit("/", 1)[1],
                "status": status,
                "type": type,
                "initiatedAt": _iso(initiated),
                "evidenceDueBy": evidence_due_by or (initiated + timedelta(days=14)).date().isoformat(),
                "evidenceSentOn": None,
                "finalizedOn": None,
                "amount": _money(
                    amount if amount is not None else (order["_total"] if order else "0"),
                    currency or (order["currencyCode"] if order else self.currency),
                ),
                "reasonDetails": {"reason": reason, "networkReasonCode": "4837"},
                "_order": order_id,
            }
            rec["disputeEvidence"] = {"__typename": "ShopifyPaymentsDisputeEvidence",
                                      "id": gid.replace("ShopifyPaymentsDispute", "ShopifyPaymentsDisputeEvidence"),
                                      "submitted": False, "dispute": rec, "disputeFileUploads": [], "fulfillments": [],
                                      "_input": {}}
            rec["order"] = lambda info, r=rec: self.orders.get(r["_order"]) if r["_order"] else None
            self.disputes[gid] = rec
            return gid

    def set_order_facts(self, order_id: str, *, client_ip: str | None, address: dict[str, Any] | None,
                        billing: dict[str, Any] | None = None) -> None:
        """How the order was placed: the buyer's IP, the shipping address (MailingAddress
        fields) and the billing one (the same unless given)."""
        with self._lock:
            order = self.orders[order_id]
            ship = {"__typename": "MailingAddress", **address} if address else None
            bill = {"__typename": "MailingAddress", **billing} if billing else ship
            order.update(clientIp=client_ip, shippingAddress=ship, billingAddress=bill,
                         billingAddressMatchesShippingAddress=ship == bill)

    # --- webhooks for seeded objects ------------------------------------------------------------------

    def webhook_body(self, topic: str, gid: str, *, names_return: bool = True) -> dict[str, Any]:
        """A real-shaped delivery body for a seeded object: returns/* (a return id; a
        returns/process body carries the last process time), orders/create (an order id),
        refunds/create (a refund id), disputes/create (a dispute id),
        reverse_deliveries/attach_deliverable (a reverse delivery id) and
        reverse_fulfillment_orders/dispose (a reverse fulfillment order id; `names_return`:
        see `attach_label`)."""
        with self._lock:
            num = lambda g: int(g.rsplit("/", 1)[1])  # noqa: E731
            if topic == "reverse_deliveries/attach_deliverable":
                return self._delivery_body(self.reverse_deliveries[gid], names_return=names_return)
            if topic == "reverse_fulfillment_orders/dispose":
                return self._rfo_body(self.reverse_fulfillment_orders[gid], names_return=names_return)
            if topic.startswith("returns/"):
                ret = self.returns[gid]
                if topic == "returns/decline":
                    decline = ret["decline"] or {"reason": "OTHER", "note": None}
                    return {
                        "id": num(gid),
                        "admin_graphql_api_id": gid,
                        "status": "declined",
                        "decline": {"reason": str(decline["reason"]).lower(), "note": decline["note"]},
                    }
                order = self.orders[ret["_order"]]
                extra = {"processed_at": ret.get("_processedAt")} if topic == "returns/process" else {}
                return {
                    **extra,
                    "id": num(gid),
                    "admin_graphql_api_id": gid,
                    "status": ret["status"].lower(),
                    "order": {"id": num(order["id"]), "admin_graphql_api_id": order["id"]},
                    "total_return_line_items": len(ret["_lines"]),
                    "name": ret["name"],
                    "return_line_items": [
                        {
                            "id": num(li["id"]),
                            "admin_graphql_api_id": li["id"],
                            "fulfillment_line_item": {
                                "id": num(li["fulfillmentLineItem"]["id"]),
                                "admin_graphql_api_id": li["fulfillmentLineItem"]["id"],
                                "line_item": {
                                    "id": num(li["fulfillmentLineItem"]["lineItem"]["id"]),
                                    "admin_graphql_api_id": li["fulfillmentLineItem"]["lineItem"]["id"],
                                },
                            },
                            "quantity": li["quantity"],
                            "return_reason": li["returnReason"].lower(),
                            "return_reason_note": li["returnReasonNote"],
                            "customer_note": li["customerNote"],
                            "restocking_fee": None,
                        }
                        for li in ret["_lines"]
                    ],
                    "return_shipping_fees": [],
                    "exchange_line_items": [],
                    "total_exchange_line_items": 0,
                }
            if topic == "orders/create":
                order = self.orders[gid]
                customer = self.customers.get(order["_customer"]) if order["_customer"] else None
                return {
                    "id": num(gid),
                    "admin_graphql_api_id": gid,
                    "name": order["name"],
                    "email": order["email"],
                    "created_at": order["createdAt"],
                    "currency": order["currencyCode"],
                    "current_total_price": str(order["_total"]),
                    "total_price": str(order["_total"]),
                    "financial_status": order["displayFinancialStatus"].lower(),
                    "customer": (
                        {"id": num(customer["id"]), "admin_graphql_api_id": customer["id"], "email": customer["email"]}
                        if customer
                        else None
                    ),
                    "line_items": [
                        {"id": num(li["id"]), "title": li["title"], "price": str(li["_price"]), "quantity": li["quantity"]}
                        for li in order["_line_items"]
                    ],
                }
            if topic == "refunds/create":
                refund = self.refunds[gid]
                order = self.orders[refund["_order"]]
                txs = [t for t in self._transactions_of(order["id"]) if t["kind"] == "REFUND" and t["createdAt"] == refund["createdAt"]]
                body: dict[str, Any] = {
                    "id": num(gid),
                    "admin_graphql_api_id": gid,
                    "order_id": num(order["id"]),
                    "created_at": refund["createdAt"],
                    "note": refund["note"],
                    "refund_line_items": [],
                    "transactions": [
                        {
                            "id": num(t["id"]),
                            "order_id": num(order["id"]),
                            "kind": "refund",
                            "status": "success",
                            "gateway": t["gateway"],
                            "currency": t["amountSet"]["shopMoney"]["currencyCode"],
                            "amount": t["amountSet"]["shopMoney"]["amount"],
                            "parent_id": num(t["parentTransaction"]["id"]) if t["parentTransaction"] else None,
                        }
                        for t in txs
                    ],
                    "order_adjustments": [],
                }
                if refund["_return"]:
                    body["return"] = {"id": num(refund["_return"]), "admin_graphql_api_id": refund["_return"]}
                return body
            if topic in ("disputes/create", "disputes/update"):
                d = self.disputes[gid]
                return {
                    "id": num(gid),
                    "order_id": num(d["_order"]) if d["_order"] else None,
                    "type": d["type"].lower(),
                    "amount": d["amount"]["amount"],
                    "currency": d["amount"]["currencyCode"],
                    "reason": d["reasonDetails"]["reason"].lower(),
                    "network_reason_code": d["reasonDetails"]["networkReasonCode"],
                    "status": d["status"].lower(),
                    "evidence_due_by": f"{d['evidenceDueBy']}T00:00:00Z" if d["evidenceDueBy"] else None,
                    "evidence_sent_on": None,
                    "finalized_on": None,
                    "initiated_at": d["initiatedAt"],
                }
            raise KeyError(f"no fake body for topic {topic!r}")

    def signed_webhook(
        self, topic: str, gid: str, secret: bytes, *, webhook_id: str | None = None, event_id: str | None = None,
        api_version: str = API_VERSION, payload: dict[str, Any] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """(raw body, headers) as Shopify would deliver them, signed with the app secret.
        `payload`: this body instead of the object's current one (the body a warehouse
        step returned, delivered late)."""
        import hmac as _hmac

        body = json.dumps(payload if payload is not None else self.webhook_body(topic, gid)).encode()
        digest = base64.b64encode(_hmac.new(secret, body, hashlib.sha256).digest()).decode()
        self._seq["webhook"] = self._seq.get("webhook", 0) + 1
        n = self._seq["webhook"]
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": digest,
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": api_version,
            "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-bdd9-4b37-8a5f-bf7d70bc{n:04d}",
            "X-Shopify-Event-Id": event_id or f"98880550-7158-44d4-b7cd-2c97c8a0{n:04d}",
            "X-Shopify-Triggered-At": _iso(self.now()),
        }
        return body, headers

    # --- state queries for tests ------------------------------------------------------------------

    def pay_outside(self, order_id: str, *, gateway: str, payment_id: str | None = None,
                    receipt: dict | None = None) -> dict:
        """The order's SALE was taken outside Shopify (a store charging through its own
        processor and creating the order with the payment recorded): a manual gateway, so a
        refund against it records the refund and moves no money (`money_moved` says which did)."""
        with self._lock:
            [sale] = [t for t in self._transactions_of(order_id) if t["kind"] in ("SALE", "CAPTURE")]
            sale.update(gateway=gateway, manualPaymentGateway=True, paymentId=payment_id,
                        receiptJson=json.dumps(receipt) if receipt is not None else None)
            return sale

    def money_moved(self, order_id: str) -> list[dict]:
        """The order's refund transactions that gave money back through Shopify (their
        parent is on a gateway Shopify processes); a manual gateway's refund is a record only."""
        with self._lock:
            return [t for t in self._transactions_of(order_id) if t["kind"] == "REFUND"
                    and not self.transactions.get((t["parentTransaction"] or {}).get("id", ""), {}).get("manualPaymentGateway")]

    def return_status(self, return_id: str) -> str:
        with self._lock:
            return self.returns[return_id]["status"]

    def refunds_of_return(self, return_id: str) -> list[dict]:
        with self._lock:
            return [r for r in self.refunds.values() if r["_return"] == return_id]

    def store_credit_balance(self, customer_id: str, currency: str | None = None) -> Decimal:
        with self._lock:
            return sum(
                (
                    _dec(a["balance"]["amount"])
                    for a in self.store_credit_accounts.values()
                    if a["_owner"] == customer_id and (currency is None or a["balance"]["currencyCode"] == currency)
                ),
                Decimal(0),
            )

    # --- internals: derived values -------------------------------------------------------------------

    @staticmethod
    def _parse(value: str) -> datetime:
        return _parse_time(value)

    def _touch(self, order: dict, when: datetime | None = None) -> None:
        when = when or self.now()
        if _parse_time(order["updatedAt"]) < when:
            order["updatedAt"] = _iso(when)

    def _orders_of(self, customer_id: str) -> list[dict]:
        return [o for o in self.orders.values() if o["_customer"] == customer_id]

    def _transactions_of(self, order_id: str) -> list[dict]:
        return [t for t in self.transactions.values() if t["_order"] == order_id]

    def _refunds_of(self, order_id: str) -> list[dict]:
        return [r for r in self.refunds.values() if r["_order"] == order_id]

    def _received(self, order: dict) -> Decimal:
        return sum(
            (
                _dec(t["amountSet"]["shopMoney"]["amount"])
                for t in self._transactions_of(order["id"])
                if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"
            ),
            Decimal(0),
        )

    def _refunded(self, order: dict) -> Decimal:
        return sum(
            (
                _dec(t["amountSet"]["shopMoney"]["amount"])
                for t in self._transactions_of(order["id"])
                if t["kind"] == "REFUND" and t["status"] == "SUCCESS"
            ),
            Decimal(0),
        )

    def _return_status(self, order: dict) -> str:
        statuses = {r["status"] for r in self.returns.values() if r["_order"] == order["id"]}
        if "REQUESTED" in statuses:
            return "RETURN_REQUESTED"
        if "OPEN" in statuses:
            return "IN_PROGRESS"
        if "CLOSED" in statuses:
            return "RETURNED"
        return "NO_RETURN"

    def _find_line(self, order: dict, spec: dict) -> dict:
        items = order["_line_items"]
        if "line_item_id" in spec:
            return next(li for li in items if li["id"] == spec["line_item_id"])
        if "sku" in spec:
            return next(li for li in items if li["sku"] == spec["sku"])
        return items[int(spec.get("index", 0))]

    def _add_transaction(
        self,
        order_id: str,
        kind: str,
        amount: Decimal,
        *,
        presentment: Decimal | None = None,
        parent: dict | None = None,
        created_at: datetime | None = None,
    ) -> dict:
        """`amount` in shop money; `presentment` defaults to it at the order's rate."""
        order = self.orders[order_id]
        pres = presentment if presentment is not None else _round(amount * order["_rate"], order["presentmentCurrencyCode"])
        rec = {
            "__typename": "OrderTransaction",
            "id": self._next("OrderTransaction"),
            "kind": kind,
            "status": "SUCCESS",
            # A refund goes back through its parent's gateway (a manual one only records it).
            "gateway": (parent or {}).get("gateway") or "shopify_payments",
            "manualPaymentGateway": bool(parent and parent.get("manualPaymentGateway")),
            "createdAt": _iso(created_at or self.now()),
            "amountSet": _bag2(amount, order["currencyCode"], pres, order["presentmentCurrencyCode"]),
            "parentTransaction": parent,
            "test": False,
            "_order": order_id,
        }
        self.transactions[rec["id"]] = rec
        return rec

    def _left(self, parent: dict) -> tuple[Decimal, Decimal]:
        """What a SALE/CAPTURE can still give back: (shop, presentment)."""
        shop = _dec(parent["amountSet"]["shopMoney"]["amount"])
        pres = _dec(parent["amountSet"]["presentmentMoney"]["amount"])
        for t in self._transactions_of(parent["_order"]):
            if t["kind"] == "REFUND" and (t["parentTransaction"] or {}).get("id") == parent["id"]:
                shop -= _dec(t["amountSet"]["shopMoney"]["amount"])
                pres -= _dec(t["amountSet"]["presentmentMoney"]["amount"])
        return shop, pres

    def _shop_share(self, parent: dict, presentment: Decimal) -> Decimal:
        """The shop money a presentment amount refunded from `parent` stands for: at the
        rate the parent was charged, exactly what is left when it takes all of it."""
        left_shop, left_pres = self._left(parent)
        if presentment == left_pres:
            return left_shop
        shop = _dec(parent["amountSet"]["shopMoney"]["amount"])
        pres = _dec(parent["amountSet"]["presentmentMoney"]["amount"])
        return _round(presentment * shop / pres, parent["amountSet"]["shopMoney"]["currencyCode"])

    def _create_refund(
        self,
        order: dict,
        amount: Decimal,
        parent: dict | None,
        *,
        note: str | None = None,
        created_at: datetime | None = None,
        return_id: str | None = None,
        allocations: list[tuple[dict, Decimal, Decimal]] | None = None,
        shipping: Decimal = Decimal(0),
    ) -> str:
        """`allocations`: (parent transaction, shop amount, presentment amount) each."""
        gid = self._next("Refund")
        when = created_at or self.now()
        if allocations is None:
            pres = _round(amount * order["_rate"], order["presentmentCurrencyCode"])
            allocations = [(parent, amount, pres)] if parent is not None and amount > 0 else []
        for p, shop_amount, pres_amount in allocations:
            self._add_transaction(order["id"], "REFUND", shop_amount, presentment=pres_amount, parent=p, created_at=when)
        shop_total = sum((a for _, a, _ in allocations), Decimal(0)) if allocations else amount
        pres_total = sum((b for _, _, b in allocations), Decimal(0)) if allocations else _round(
            amount * order["_rate"], order["presentmentCurrencyCode"])
        rec: dict[str, Any] = {
            "__typename": "Refund",
            "id": gid,
            "legacyResourceId": gid.rsplit("/", 1)[1],
            "createdAt": _iso(when),
            "updatedAt": _iso(when),
            "note": note,
            "totalRefundedSet": _bag2(shop_total, order["currencyCode"], pres_total, order["presentmentCurrencyCode"]),
            "_order": order["id"],
            "_return": return_id,
            "_shipping": shipping,
        }
        rec["order"] = lambda info, r=rec: self.orders[r["_order"]]
        rec["return"] = lambda info, r=rec: self.returns.get(r["_return"]) if r["_return"] else None
        self.refunds[gid] = rec
        order["_shipping_refunded"] += shipping
        refunded, received = self._refunded(order), self._received(order)
        order["displayFinancialStatus"] = "REFUNDED" if refunded >= received > 0 else "PARTIALLY_REFUNDED"
        self._touch(order, when)
        return gid

    # --- internals: connections with search ------------------------------------------------------------

    def _order_matches(self, order: dict, terms: list[tuple[str | None, str, str]]) -> bool:
        for fld, op, value in terms:
            v = value.lower()
            if fld is None:
                customer = self.customers.get(order["_customer"]) if order["_customer"] else None
                hay = " ".join(
                    filter(None, [order["name"], order.get("email") or "", customer["displayName"] if customer else ""])
                ).lower()
                if v not in hay:
                    return False
            elif fld == "name":
                if order["name"].lstrip("#").lower() != v.lstrip("#"):
                    return False
            elif fld == "email":
                if (order.get("email") or "").lower() != v:
                    return False
            elif fld == "customer_id":
                cid = order["_customer"] or ""
                if cid.rsplit("/", 1)[-1] != value.rsplit("/", 1)[-1]:
                    return False
            elif fld in ("created_at", "updated_at", "processed_at"):
                key = {"created_at": "createdAt", "updated_at": "updatedAt", "processed_at": "processedAt"}[fld]
                if not _compare(_parse_time(order[key]), op, _parse_time(value)):
                    return False
            elif fld == "return_status":
                if self._return_status(order).lower() != v:
                    return False
            elif fld == "financial_status":
                if (order["displayFinancialStatus"] or "").lower() != v:
                    return False
            elif fld == "tag":
                if v not in [t.lower() for t in order["tags"]]:
                    return False
            elif fld == "status":
                cancelled = order["cancelledAt"] is not None
                if (v == "cancelled") != cancelled and v in ("open", "cancelled"):
                    return False
            elif fld == "id":
                if not _compare(int(order["legacyResourceId"]), op, int(value.rsplit("/", 1)[-1])):
                    return False
        return True

    def _orders_connection(self, orders: list[dict], *, query=None, sortKey=None, reverse=False, **kw: Any) -> dict:  # noqa: N803
        terms = parse_search(query)
        matched = [o for o in orders if self._order_matches(o, terms)]
        key = {
            "CREATED_AT": lambda o: (o["createdAt"], int(o["legacyResourceId"])),
            "UPDATED_AT": lambda o: (o["updatedAt"], int(o["legacyResourceId"])),
            "PROCESSED_AT": lambda o: (o["processedAt"], int(o["legacyResourceId"])),
            "ORDER_NUMBER": lambda o: o["name"],
        }.get(sortKey or "ID", lambda o: int(o["legacyResourceId"]))
        matched.sort(key=key)
        return connection(matched, reverse=reverse, **kw)

    def _returns_connection(self, order: dict, *, query=None, **kw: Any) -> dict:
        terms = parse_search(query)
        items = [r for r in self.returns.values() if r["_order"] == order["id"]]
        for fld, _, value in terms:
            if fld == "status":
                items = [r for r in items if r["status"].lower() == value.lower()]
        return connection(items, **kw)

    def _events_connection(self, order: dict, *, sortKey=None, reverse=False, query=None, **kw: Any) -> dict:  # noqa: N803
        events = sorted(order["_events"], key=lambda e: (e["createdAt"], e["id"]))
        for fld, op, value in parse_search(query):
            if fld == "action":
                events = [e for e in events if e["action"] == value]
            elif fld == "created_at":
                events = [e for e in events if _compare(_parse_time(e["createdAt"]), op, _parse_time(value))]
        return connection(events, reverse=reverse, **kw)

    def _node(self, gid: str) -> dict | None:
        for table in (self.orders, self.customers, self.returns, self.refunds, self.disputes, self.transactions,
                      self.reverse_fulfillment_orders, self.reverse_deliveries,
                      self.variants, self.draft_orders):
            if gid in table:
                return table[gid]
        return None

    # --- exchanges: variants with stock, exchange lines naming them --------------------------------

    def add_variant(self, title: str, *, inventory_quantity: int | None = 5, inventory_policy: str = "DENY",
                    tracked: bool = True, variant_title: str = "Default Title") -> str:
        """A product variant an exchange can name. `inventory_quantity`: sellable units (Shopify
        leaves it null for a variant whose stock isn't tracked); `inventory_policy`: DENY (no
        selling past zero) or CONTINUE (oversell)."""
        with self._lock:
            gid = self._next("ProductVariant")
            self.variants[gid] = {
                "__typename": "ProductVariant", "id": gid, "title": variant_title,
                "displayName": f"{title} - {variant_title}",
                "inventoryQuantity": inventory_quantity if tracked else None,
                "inventoryPolicy": inventory_policy,
                "inventoryItem": {"__typename": "InventoryItem", "id": self._next("InventoryItem"), "tracked": tracked},
            }
            return gid

    def set_stock(self, variant_id: str, quantity: int) -> None:
        with self._lock:
            self.variants[variant_id]["inventoryQuantity"] = quantity

    def delete_variant(self, variant_id: str) -> None:
        """The variant is gone (the product was deleted): `nodes` answers null for it."""
        with self._lock:
            del self.variants[variant_id]

    def add_exchange_item(self, return_id: str, *, variant_id: str | None, quantity: int = 1,
                          title: str | None = None) -> str:
        """An exchange line on the return for `variant_id`, as the customer chose it (title and
        variant title copied at return creation, like Shopify's)."""
        with self._lock:
            ret = self.returns[return_id]
            variant = self.variants.get(variant_id or "") or {}
            ex: dict[str, Any] = {
                "__typename": "ExchangeLineItem",
                "id": self._next("ExchangeLineItem"),
                "title": title or (variant.get("displayName", "Exchange item").split(" - ")[0]),
                "variantTitle": variant.get("title"),
                "variantId": variant_id,
                "quantity": int(quantity),
                "_processed": 0,
                "lineItems": None,
                "_return": ret,
            }
            self._line_quantities(ex)
            ret["_exchanges"].append(ex)
            return ex["id"]

    def exchange_released(self, return_id: str) -> int:
        """Units of the return's exchange processed so far (what Shopify would ship)."""
        return sum(e["_processed"] for e in self.returns[return_id]["_exchanges"])

    def _commit_exchange_stock(self, ex: dict[str, Any], qty: int) -> None:
        """Processing an exchange commits its units: a tracked variant's sellable quantity drops."""
        variant = self.variants.get(ex.get("variantId") or "")
        if variant and variant["inventoryItem"]["tracked"] and variant["inventoryQuantity"] is not None:
            variant["inventoryQuantity"] -= qty

    # --- internals: the root -----------------------------------------------------------------------

    def _root(self) -> dict[str, Any]:
        root: dict[str, Any] = {
            "shop": self.shop,
            "order": lambda info, id: self.orders.get(id),
            "orders": lambda info, **kw: self._orders_connection(list(self.orders.values()), **kw),
            "customer": lambda info, id: self.customers.get(id),
            "return": lambda info, id: self.returns.get(id),
            "refund": lambda info, id: self.refunds.get(id),
            "dispute": lambda info, id: self.disputes.get(id),
            "reverseFulfillmentOrder": lambda info, id: self.reverse_fulfillment_orders.get(id),
            "reverseDelivery": lambda info, id: self.reverse_deliveries.get(id),
            "productVariant": lambda info, id: self.variants.get(id),
            "draftOrder": lambda info, id: self.draft_orders.get(id),
            "node": lambda info, id: self._node(id),
            "nodes": lambda info, ids: [self._node(i) for i in ids],
            "currentAppInstallation": lambda info: {
                "__typename": "AppInstallation", "id": "gid://shopify/AppInstallation/1",
                "accessScopes": [{"__typename": "AccessScope", "handle": h, "description": h}
                                 for h in self.access_scopes]},
        }
        mutations = {
            "returnApproveRequest": self._m_approve,
            "returnDeclineRequest": self._m_decline,
            "returnProcess": self._m_return_process,
            "returnClose": self._m_return_close,
            "returnCreate": self._m_return_create,
            "reverseFulfillmentOrderDispose": self._m_dispose,
            "removeFromReturn": self._m_remove_from_return,
            "refundCreate": self._m_refund_create,
            "storeCreditAccountCredit": self._m_store_credit,
            "metafieldsSet": self._m_metafields_set,
            "disputeEvidenceUpdate": self._m_dispute_evidence_update,
            "draftOrderCreate": self._m_draft_create,
            "draftOrderComplete": self._m_draft_complete,
            "draftOrderDelete": self._m_draft_delete,
            "tagsAdd": self._m_tags_add,
        }
        for name in self.schema.mutation_type.fields:  # never a silent null for the rest
            root[name] = mutations.get(name) or _not_implemented(name)
        return root

    # --- internals: mutations --------------------------------------------------------------------------

    @staticmethod
    def _user_error(message: str, code: str, field_path: list[str] | None = None) -> dict[str, Any]:
        return {"message": message, "code": code, "field": field_path}

    def _m_approve(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        ret = self.returns.get(input["id"])
        if ret is None:
            return {"return": None, "userErrors": [self._user_error("Return does not exist.", "NOT_FOUND", ["input", "id"])]}
        if ret["status"] != "REQUESTED":
            return {
                "return": None,
                "userErrors": [
                    self._user_error(
                        "Return is not approvable. Only returns with status REQUESTED can be approved.",
                        "INVALID_STATE",
                        ["input", "id"],
                    )
                ],
            }
        ret["status"] = "OPEN"
        ret["requestApprovedAt"] = _iso(self.now())
        self._open_reverse_fulfillment(ret)
        order = self.orders[ret["_order"]]
        self.add_event(order["id"], f"Return {ret['name']} was approved.", action="return_approved")
        self._touch(order)
        self.mutations.append(("returnApproveRequest", dict(input)))
        return {"return": ret, "userErrors": []}

    def _m_return_create(self, info: Any, returnInput: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        """Like Shopify's returnCreate: an OPEN (approved) return on the order for the given
        fulfillment line items, with its reverse fulfillment order. No idempotency key: the
        same input twice is two returns (as in Shopify). Refused as userErrors: an unknown
        order, a fulfillment line item not on it, a quantity not positive or more than is
        left to return (fulfilled minus what its other returns hold), a note over 255
        characters. Every applied call is recorded in `mutations`."""
        def refused(message: str, code: str, *path: Any) -> dict[str, Any]:
            return {"return": None, "userErrors": [self._user_error(message, code, ["returnInput", *map(str, path)])]}

        order = self.orders.get(returnInput["orderId"])
        if order is None:
            return refused("Order does not exist.", "NOT_FOUND", "orderId")
        lines = returnInput.get("returnLineItems") or []
        if not lines:
            return refused("Return must have at least one line item.", "BLANK", "returnLineItems")
        shipped = {f["id"]: f for fr in order["_fulfillments"] for f in fr["_lines"]}  # only what shipped
        held: dict[str, int] = {}
        for r in self.returns.values():
            if r["_order"] == order["id"] and r["status"] not in ("DECLINED", "CANCELED"):
                for rl in r["_lines"]:
                    held[rl["fulfillmentLineItem"]["id"]] = held.get(rl["fulfillmentLineItem"]["id"], 0) + rl["quantity"]
        specs = []
        for i, line in enumerate(lines):
            fli = shipped.get(line["fulfillmentLineItemId"])
            if fli is None:
                return refused("Fulfillment line item does not exist.", "NOT_FOUND", "returnLineItems", i,
                               "fulfillmentLineItemId")
            qty = int(line["quantity"])
            left = fli["quantity"] - held.get(fli["id"], 0)
            if qty <= 0 or qty > left:
                return refused(f"Quantity must be between 1 and {left}.", "INVALID", "returnLineItems", i, "quantity")
            held[fli["id"]] = held.get(fli["id"], 0) + qty
            note = line.get("returnReasonNote") or ""
            if len(note) > 255:
                return refused("Return reason note is too long (maximum is 255 characters)", "TOO_LONG",
                               "returnLineItems", i, "returnReasonNote")
            specs.append({"line_item_id": fli["lineItem"]["id"], "quantity": qty,
                          "reason": line.get("returnReason") or "OTHER", "reason_note": note})
        requested = returnInput.get("requestedAt")
        gid = self.add_return(order["id"], status="OPEN", line_items=specs,
                              requested_at=self._parse(requested) if requested else None)
        ret = self.returns[gid]
        self.add_event(order["id"], f"Return {ret['name']} was created.", action="return_created")
        self.mutations.append(("returnCreate", dict(returnInput)))
        return {"return": ret, "userErrors": []}

    def _m_tags_add(self, info: Any, id: str, tags: list[str]) -> dict[str, Any]:  # noqa: A002
        """Like Shopify: tags on an order or a customer (other taggable kinds are not kept
        here; anything else is not found); each string may be a comma-separated list; tags
        are trimmed, blanks dropped, one already there (compared without case) not added
        again; a tag over 255 characters, or no tag at all, is a userError. Every applied
        call is recorded in `mutations`, a repeat included (it is still a call)."""
        target = self.orders.get(id) or self.customers.get(id)
        if target is None:
            return {"node": None, "userErrors": [self._user_error("Resource does not exist", "NOT_FOUND", ["id"])]}
        wanted = [t.strip() for value in tags for t in str(value).split(",") if t.strip()]
        if not wanted:
            return {"node": None, "userErrors": [self._user_error("Tags can't be blank", "BLANK", ["tags"])]}
        if any(len(t) > 255 for t in wanted):
            return {"node": None, "userErrors": [
                self._user_error("Tags is too long (maximum is 255 characters)", "TOO_LONG", ["tags"])]}
        have = {t.casefold() for t in target["tags"]}
        for t in wanted:
            if t.casefold() not in have:
                target["tags"].append(t)
                have.add(t.casefold())
        if target.get("__typename") == "Order":
            self._touch(target)
        self.mutations.append(("tagsAdd", {"id": id, "tags": list(tags)}))
        return {"node": target, "userErrors": []}

    def _m_dispute_evidence_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        """Evidence fields are saved; `submitEvidence` sends them (the dispute goes under
        review). Submitted evidence, a closed dispute or a past due date refuse the update."""
        evidence = next((d["disputeEvidence"] for d in self.disputes.values() if d["disputeEvidence"]["id"] == id), None)

        def refused(message: str, code: str) -> dict[str, Any]:
            return {"disputeEvidence": None, "userErrors": [self._user_error(message, code, ["id"])]}

        if evidence is None:
            return refused("Dispute evidence could not be found.", "DISPUTE_EVIDENCE_NOT_FOUND")
        dispute = evidence["dispute"]
        if evidence["submitted"] or dispute["status"] != "NEEDS_RESPONSE":
            return refused("Evidence already accepted.", "EVIDENCE_ALREADY_ACCEPTED")
        due = dispute.get("evidenceDueBy")
        if due and _parse_time(due) < self.now():
            return refused("Evidence past due date.", "EVIDENCE_PAST_DUE_DATE")
        fields = {k: v for k, v in input.items() if k != "submitEvidence"}
        evidence["_input"].update(fields)
        if input.get("submitEvidence"):
            evidence["submitted"] = True
            dispute["status"] = "UNDER_REVIEW"
            dispute["evidenceSentOn"] = _iso(self.now())
        self.mutations.append(("disputeEvidenceUpdate", {"id": id, **dict(input)}))
        return {"disputeEvidence": evidence, "userErrors": []}

    def _m_return_close(self, info: Any, id: str) -> dict[str, Any]:  # noqa: A002
        ret = self.returns.get(id)
        if ret is None:
            return {"return": None, "userErrors": [self._user_error("Return does not exist.", "NOT_FOUND", ["id"])]}
        if ret["status"] != "OPEN":
            return {"return": None, "userErrors": [
                self._user_error("Return is not closable. Only open returns can be closed.", "INVALID_STATE", ["id"])]}
        ret["status"] = "CLOSED"
        ret["closedAt"] = _iso(self.now())
        order = self.orders[ret["_order"]]
        self.add_event(order["id"], f"Return {ret['name']} was closed.", action="return_closed")
        self._touch(order)
        self.mutations.append(("returnClose", {"id": id}))
        return {"return": ret, "userErrors": []}

    def _m_remove_from_return(self, info: Any, returnId: str, returnLineItems: list | None = None,  # noqa: N803
                              exchangeLineItems: list | None = None) -> dict[str, Any]:  # noqa: N803
        """Exchange lines only (returnsbot removes nothing else): each quantity at most what is
        unprocessed; a removed line leaves `exchangeLineItems` (unless includeRemovedItems)."""
        def refused(message: str, code: str, *path: Any) -> dict[str, Any]:
            return {"return": None, "userErrors": [self._user_error(message, code, list(map(str, path)))]}

        ret = self.returns.get(returnId)
        if ret is None:
            return refused("Return does not exist.", "NOT_FOUND", "returnId")
        if returnLineItems:
            raise GraphQLError("FakeShopify implements removeFromReturn for exchange line items only")
        if ret["status"] not in ("REQUESTED", "OPEN"):
            return refused(f"Return is {ret['status'].lower()} and cannot be edited.", "INVALID_STATE", "returnId")
        exchanges = {e["id"]: e for e in ret["_exchanges"]}
        taking: dict[str, int] = {}
        for i, item in enumerate(exchangeLineItems or []):
            ex = exchanges.get(item["exchangeLineItemId"])
            if ex is None:
                return refused("Exchange line item does not exist.", "NOT_FOUND", "exchangeLineItems", i,
                               "exchangeLineItemId")
            taking[ex["id"]] = taking.get(ex["id"], 0) + item["quantity"]
            if item["quantity"] <= 0 or taking[ex["id"]] > ex["quantity"] - ex["_processed"] - ex.get("_removed", 0):
                return refused("Quantity exceeds the unprocessed quantity.", "INVALID", "exchangeLineItems", i,
                               "quantity")
        if not taking:
            return refused("Nothing to remove.", "BLANK", "exchangeLineItems")
        for ex_id, qty in taking.items():
            exchanges[ex_id]["_removed"] = exchanges[ex_id].get("_removed", 0) + qty
        self._touch(self.orders[ret["_order"]])
        self.mutations.append(("removeFromReturn", {"returnId": returnId, "exchangeLineItems": exchangeLineItems}))
        return {"return": ret, "userErrors": []}

    def _m_decline(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        ret = self.returns.get(input["id"])
        if ret is None:
            return {"return": None, "userErrors": [self._user_error("Return does not exist.", "NOT_FOUND", ["input", "id"])]}
        note = input.get("declineNote")
        if note is not None and len(note) > 500:
            return {
                "return": None,
                "userErrors": [self._user_error("Decline note is too long.", "TOO_LONG", ["input", "declineNote"])],
            }
        if ret["status"] != "REQUESTED":
            return {
                "return": None,
                "userErrors": [
                    self._user_error(
                        "Return is not declinable. Only returns with status REQUESTED can be declined.",
                        "INVALID_STATE",
                        ["input", "id"],
                    )
                ],
            }
        ret["status"] = "DECLINED"
        ret["decline"] = {"reason": input["declineReason"], "note": note}
        order = self.orders[ret["_order"]]
        self.add_event(order["id"], f"Return {ret['name']} was declined.", action="return_declined")
        self._touch(order)
        self.mutations.append(("returnDeclineRequest", dict(input)))
        return {"return": ret, "userErrors": []}

    def _m_return_process(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        def refused(message: str, code: str, *path: Any) -> dict[str, Any]:
            return {"return": None, "userErrors": [self._user_error(message, code, ["input", *map(str, path)])]}

        ret = self.returns.get(input["returnId"])
        if ret is None:
            return refused("Return does not exist.", "NOT_FOUND", "returnId")
        if ret["status"] != "OPEN":
            return refused(f"Return is {ret['status'].lower()} and cannot be processed.", "INVALID_STATE", "returnId")
        order = self.orders[ret["_order"]]
        lines = {li["id"]: li for li in ret["_lines"]}
        rfo_items = {item["id"]: item for rfo in ret["_rfos"] for item in rfo["_lines"]}
        taking: dict[str, int] = {}
        disposing: list[tuple[dict, int, dict]] = []
        for i, item in enumerate(input.get("returnLineItems") or []):
            line = lines.get(item["id"])
            if line is None:
                return refused("Return line item does not exist.", "NOT_FOUND", "returnLineItems", i, "id")
            taking[line["id"]] = taking.get(line["id"], 0) + item["quantity"]
            if item["quantity"] <= 0 or taking[line["id"]] > line["quantity"] - line["_processed"]:
                return refused("Quantity exceeds the processable quantity.", "INVALID", "returnLineItems", i, "quantity")
            disposed = 0
            for j, d in enumerate(item.get("dispositions") or []):
                path = ("returnLineItems", i, "dispositions", j)
                rfo_item = rfo_items.get(d["reverseFulfillmentOrderLineItemId"])
                if rfo_item is None or rfo_item["_line"] is not line:
                    return refused("Reverse fulfillment order line item does not belong to this return line.", "INVALID",
                                   *path, "reverseFulfillmentOrderLineItemId")
                undisposed = rfo_item["totalQuantity"] - sum(x["quantity"] for x in rfo_item["dispositions"])
                disposed += d["quantity"]
                if d["quantity"] <= 0 or disposed > min(item["quantity"], undisposed):
                    return refused("Disposition quantity exceeds what is left to dispose.", "INVALID", *path, "quantity")
                if d["dispositionType"] == "RESTOCKED" and d.get("locationId") != self.location["id"]:
                    return refused("A location is required to restock.", "INVALID", *path, "locationId")
                disposing.append((rfo_item, d["quantity"], d))
        exchanges = {e["id"]: e for e in ret["_exchanges"]}
        exchanging: dict[str, int] = {}
        for i, item in enumerate(input.get("exchangeLineItems") or []):
            ex = exchanges.get(item["id"])
            if ex is None:
                return refused("Exchange line item does not exist.", "NOT_FOUND", "exchangeLineItems", i, "id")
            exchanging[ex["id"]] = exchanging.get(ex["id"], 0) + item["quantity"]
            if item["quantity"] <= 0 or exchanging[ex["id"]] > ex["quantity"] - ex["_processed"]:
                return refused("Quantity exceeds the processable quantity.", "INVALID", "exchangeLineItems", i, "quantity")

        pcur = order["presentmentCurrencyCode"]
        allocations: list[tuple[dict, Decimal, Decimal]] = []
        refund = (input.get("financialTransfer") or {}).get("issueRefund")
        if refund is not None:
            if refund.get("refundMethods"):
                raise GraphQLError("FakeShopify does not implement refundMethods on returnProcess")
            for i, tx in enumerate(refund["orderTransactions"]):
                path = ("financialTransfer", "issueRefund", "orderTransactions", i)
                parent = self.transactions.get(tx["parentId"])
                if (parent is None or parent["_order"] != order["id"] or parent["kind"] not in ("SALE", "CAPTURE")
                        or parent["status"] != "SUCCESS"):
                    return refused("Parent transaction is not refundable.", "INVALID", *path, "parentId")
                if tx["transactionAmount"]["currencyCode"] != pcur:
                    return refused(f"Transaction amount must be in the order's presentment currency ({pcur}).",
                                   "INVALID", *path, "transactionAmount")
                amount = _dec(tx["transactionAmount"]["amount"])
                _, left = self._left(parent)
                left -= sum((b for p, _, b in allocations if p is parent), Decimal(0))
                if amount <= 0 or (amount > left and not refund.get("allowOverRefunding")):
                    return refused("Amount exceeds the refundable amount.", "INVALID", *path, "transactionAmount")
                allocations.append((parent, self._shop_share(parent, amount), amount))
        shipping = Decimal(0)
        if input.get("refundShipping"):
            spec = input["refundShipping"]
            left = order["_shipping"] - order["_shipping_refunded"]
            if spec.get("shippingRefundAmount"):
                money = spec["shippingRefundAmount"]
                if money["currencyCode"] != pcur:
                    return refused(f"Shipping must be refunded in the order's presentment currency ({pcur}).",
                                   "INVALID", "refundShipping", "shippingRefundAmount")
                shipping = _round(_dec(money["amount"]) / order["_rate"], order["currencyCode"])
                if shipping > left:
                    return refused("Shipping refund exceeds the shipping left to refund.", "INVALID",
                                   "refundShipping", "shippingRefundAmount")
            elif spec.get("fullRefund"):
                shipping = left
        if not taking and not exchanging and refund is None:
            return refused("Nothing to process.", "BLANK", "returnLineItems")

        # Apply.
        for line_id, qty in taking.items():
            lines[line_id]["_processed"] += qty
            if allocations:
                lines[line_id]["refundedQuantity"] += qty
        for rfo_item, qty, d in disposing:
            rfo_item["dispositions"].append({
                "__typename": "ReverseFulfillmentOrderDisposition", "id": self._next("ReverseFulfillmentOrderDisposition"),
                "createdAt": _iso(self.now()), "quantity": qty, "type": d["dispositionType"],
                "location": self.location if d.get("locationId") else None,
            })
        for ex_id, qty in exchanging.items():
            exchanges[ex_id]["_processed"] += qty
            self._commit_exchange_stock(exchanges[ex_id], qty)
        if allocations or shipping:
            total = sum((a for _, a, _ in allocations), Decimal(0))
            self._create_refund(order, total, None, allocations=allocations, return_id=ret["id"], shipping=shipping,
                                note=input.get("note"))
        ret["_processedAt"] = _iso(self.now())
        if all(x["_processed"] + x.get("_removed", 0) >= x["quantity"] for x in (*ret["_lines"], *ret["_exchanges"])):
            ret["status"] = "CLOSED"
            ret["closedAt"] = _iso(self.now())
        self._touch(order)
        self.mutations.append(("returnProcess", dict(input)))
        return {"return": ret, "userErrors": []}

    def _m_dispose(self, info: Any, dispositionInputs: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        disposed, errors = self._dispose(dispositionInputs)
        if errors:
            return {"reverseFulfillmentOrderLineItems": None, "userErrors": errors}
        self.mutations.append(("reverseFulfillmentOrderDispose", {"dispositionInputs": list(dispositionInputs)}))
        unique = list({id(item): item for item in disposed}.values())
        return {"reverseFulfillmentOrderLineItems": unique, "userErrors": []}

    def _m_refund_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        key = _idempotency_key(info)
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        seen = self.idempotency.get(key)
        if seen is not None:
            mutation, first_fingerprint, result = seen
            if mutation != "refundCreate" or first_fingerprint != fingerprint:
                raise GraphQLError("The same idempotency key cannot be used with different operation parameters.",
                                   extensions={"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"})
            if result is None:
                raise GraphQLError("A previous request with this idempotency key failed. Retry with a new idempotency key.",
                                   extensions={"code": "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"})
            self._replayed = True
            return result

        def refused(message: str, *path: Any) -> dict[str, Any]:
            self.idempotency[key] = ("refundCreate", fingerprint, None)
            return {"refund": None, "order": None, "userErrors": [{"message": message, "field": ["input", *map(str, path)]}]}

        order = self.orders.get(input["orderId"])
        if order is None:
            return refused("Order does not exist.", "orderId")
        pcur = order["presentmentCurrencyCode"]
        if pcur != order["currencyCode"] and input.get("currency") != pcur:
            return refused(f"Currency must be the presentment currency ({pcur}) for this order.", "currency")
        allocations: list[tuple[dict, Decimal, Decimal]] = []
        for i, tx in enumerate(input.get("transactions") or []):
            parent = self.transactions.get(tx.get("parentId") or "")
            if tx["kind"] != "REFUND" or parent is None or parent["_order"] != order["id"] or parent["kind"] not in ("SALE", "CAPTURE"):
                return refused("Parent transaction is not refundable.", "transactions", i, "parentId")
            if tx["gateway"] != parent["gateway"]:
                return refused("Gateway does not match the parent transaction.", "transactions", i, "gateway")
            amount = _dec(tx["amount"])
            _, left = self._left(parent)
            left -= sum((b for p, _, b in allocations if p is parent), Decimal(0))
            if amount <= 0 or (amount > left and not input.get("allowOverRefunding")):
                return refused("Amount exceeds the refundable amount.", "transactions", i, "amount")
            allocations.append((parent, self._shop_share(parent, amount), amount))
        if input.get("refundLineItems") or input.get("refundMethods"):
            raise GraphQLError("FakeShopify implements refundCreate for transactions and shipping only")
        shipping = Decimal(0)
        if input.get("shipping"):
            ship = input["shipping"]
            left_shop = order["_shipping"] - order["_shipping_refunded"]
            left_pres = _round(order["_shipping"] * order["_rate"], pcur) - _round(order["_shipping_refunded"] * order["_rate"], pcur)
            if ship.get("fullRefund"):
                shipping = left_shop
            elif ship.get("amount") is not None:
                wanted = _dec(ship["amount"])  # in the refund's (presentment) currency
                if wanted <= 0 or wanted > left_pres:
                    return refused(f"Shipping refund amount exceeds the refundable shipping amount ({left_pres}).",
                                   "shipping", "amount")
                shipping = left_shop if wanted == left_pres else _round(wanted / order["_rate"], order["currencyCode"])
            if shipping <= 0:
                return refused("There is no shipping left to refund.", "shipping")
        total = sum((a for _, a, _ in allocations), Decimal(0))
        gid = self._create_refund(order, total, None, note=input.get("note"), allocations=allocations, shipping=shipping)
        self.mutations.append(("refundCreate", dict(input)))
        result = {"refund": self.refunds[gid], "order": order, "userErrors": []}
        self.idempotency[key] = ("refundCreate", fingerprint, result)
        return result

    # --- draft orders (the reship) ----------------------------------------------------------------

    def draft_orders_of(self, order_id: str) -> list[dict]:
        """Draft orders whose note names the order (the replacements made for it)."""
        with self._lock:
            name = self.orders[order_id]["name"]
            return [d for d in self.draft_orders.values() if f"order {name}" in (d.get("note2") or "")]

    def _m_draft_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        def refused(message: str, *path: Any) -> dict[str, Any]:
            return {"draftOrder": None, "userErrors": [{"message": message, "field": ["input", *map(str, path)]}]}

        lines_in = input.get("lineItems") or []
        if not lines_in:
            return refused("Add at least 1 product", "lineItems")
        customer = (input.get("purchasingEntity") or {}).get("customerId")
        if customer and customer not in self.customers:
            return refused("Customer does not exist", "purchasingEntity", "customerId")
        lines = []
        for i, li in enumerate(lines_in):
            if int(li["quantity"]) <= 0:
                return refused("Quantity must be greater than 0", "lineItems", i, "quantity")
            if li.get("variantId"):
                variant = self.variants.get(li["variantId"])
                if variant is None:
                    return refused("Product variant does not exist", "lineItems", i, "variantId")
                title, price = variant.get("displayName") or variant.get("title"), Decimal(variant.get("price") or 0)
            else:
                money = li.get("originalUnitPriceWithCurrency")
                if not li.get("title") or money is None:
                    return refused("Custom line items need a title and a price", "lineItems", i)
                title, price = li["title"], _dec(money["amount"])
            discount = li.get("appliedDiscount") or input.get("appliedDiscount")
            if discount and discount["valueType"] == "PERCENTAGE":
                price = _round(price * (Decimal(100) - Decimal(str(discount["value"]))) / 100, self.currency)
            elif discount:
                price = max(Decimal(0), price - _dec((discount.get("amountWithCurrency") or {}).get("amount", "0")))
            lines.append({"title": title, "price": str(price), "quantity": int(li["quantity"]), "sku": li.get("sku")})
        shipping = _dec(((input.get("shippingLine") or {}).get("priceWithCurrency") or {}).get("amount", "0"))
        gid = self._next("DraftOrder")
        rec = {"__typename": "DraftOrder", "id": gid, "name": f"#D{gid.rsplit('/', 1)[1][-3:]}", "status": "OPEN",
               "tags": list(input.get("tags") or []), "note2": input.get("note"), "_customer": customer,
               "_email": input.get("email"), "_lines": lines, "_shipping": shipping, "_order": None,
               "completedAt": None}
        rec["order"] = lambda info, r=rec: self.orders.get(r["_order"]) if r["_order"] else None
        self.draft_orders[gid] = rec
        self.mutations.append(("draftOrderCreate", dict(input)))
        return {"draftOrder": rec, "userErrors": []}

    def _m_draft_complete(self, info: Any, id: str, paymentPending: bool | None = None, **_: Any) -> dict[str, Any]:  # noqa: A002, N803
        draft = self.draft_orders.get(id)
        if draft is None:
            return {"draftOrder": None, "userErrors": [{"message": "Draft order does not exist", "field": ["id"]}]}
        if draft["status"] == "COMPLETED":
            return {"draftOrder": None, "userErrors": [{"message": "This order has already been paid", "field": ["id"]}]}
        total = sum((_dec(li["price"]) * li["quantity"] for li in draft["_lines"]), Decimal(0)) + draft["_shipping"]
        order_id = self.add_order(customer_id=draft["_customer"], email=draft["_email"], created_at=self.now(),
                                  line_items=[{k: li[k] for k in ("title", "price", "quantity", "sku")} for li in draft["_lines"]],
                                  tags=draft["tags"], fulfillments=[], shipping=draft["_shipping"],
                                  paid=not paymentPending, risk_level=None)
        if total == 0 or not paymentPending:
            self.orders[order_id]["displayFinancialStatus"] = "PAID"
        draft.update({"status": "COMPLETED", "_order": order_id, "completedAt": _iso(self.now())})
        self.mutations.append(("draftOrderComplete", {"id": id, "paymentPending": paymentPending}))
        return {"draftOrder": draft, "userErrors": []}

    def _m_draft_delete(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        draft = self.draft_orders.get(input["id"])
        if draft is None:
            return {"deletedId": None, "userErrors": [{"message": "Draft order does not exist", "field": ["id"]}]}
        if draft["status"] == "COMPLETED":
            return {"deletedId": None, "userErrors": [{"message": "A completed draft order cannot be deleted", "field": ["id"]}]}
        del self.draft_orders[input["id"]]
        self.mutations.append(("draftOrderDelete", dict(input)))
        return {"deletedId": input["id"], "userErrors": []}

    def _m_store_credit(self, info: Any, id: str, creditInput: dict[str, Any]) -> dict[str, Any]:  # noqa: A002, N803
        money = creditInput["creditAmount"]
        amount, currency = _dec(money["amount"]), money["currencyCode"]
        if amount <= 0:
            return {
                "storeCreditAccountTransaction": None,
                "userErrors": [self._user_error("A positive amount must be used.", "NEGATIVE_OR_ZERO_AMOUNT", ["creditInput", "creditAmount", "amount"])],
            }
        account = self.store_credit_accounts.get(id)
        if account is None:
            if id not in self.customers:
                return {"storeCreditAccountTransaction": None, "userErrors": [self._user_error("Owner does not exist.", "OWNER_NOT_FOUND", ["id"])]}
            account = next(
                (
                    a
                    for a in self.store_credit_accounts.values()
                    if a["_owner"] == id and a["balance"]["currencyCode"] == currency
                ),
                None,
            )
            if account is None:
                account = {"__typename": "StoreCreditAccount", "id": self._next("StoreCreditAccount"), "_owner": id, "_txs": []}
                account["balance"] = _money("0", currency)
                account["owner"] = lambda info, a=account: self.customers[a["_owner"]]
                account["transactions"] = lambda info, a=account, **kw: connection(
                    sorted(
                        (t for t in a["_txs"] if not kw.get("query") or "credit" in kw["query"]),
                        key=lambda t: t["createdAt"],
                    ),
                    first=kw.get("first"),
                    after=kw.get("after"),
                    reverse=kw.get("reverse", False),
                )
                self.store_credit_accounts[account["id"]] = account
        elif account["balance"]["currencyCode"] != currency:
            return {"storeCreditAccountTransaction": None, "userErrors": [self._user_error("Currency mismatch.", "MISMATCHING_CURRENCY", ["creditInput"])]}
        balance = _dec(account["balance"]["amount"]) + amount
        account["balance"] = _money(balance, currency)
        tx = {
            "__typename": "StoreCreditAccountCreditTransaction",
            "id": self._next("StoreCreditAccountCreditTransaction"),
            "createdAt": _iso(self.now()),
            "amount": _money(amount, currency),
            "balanceAfterTransaction": _money(balance, currency),
            "remainingAmount": _money(amount, currency),
            "expiresAt": creditInput.get("expiresAt"),
            "event": "ADJUSTMENT",
            "origin": None,
            "account": account,
        }
        account["_txs"].append(tx)
        self.store_credit_transactions[tx["id"]] = tx
        self.mutations.append(("storeCreditAccountCredit", {"id": id, **creditInput}))
        return {"storeCreditAccountTransaction": tx, "userErrors": []}

    def _m_metafields_set(self, info: Any, metafields: list[dict[str, Any]]) -> dict[str, Any]:
        errors = []
        for i, mf in enumerate(metafields):
            key = (mf["ownerId"], mf.get("namespace"), mf["key"])
            if mf["ownerId"] not in self.customers and mf["ownerId"] not in self.orders:
                errors.append({"message": "Owner does not exist.", "code": "INVALID_VALUE", "field": ["metafields", str(i), "ownerId"], "elementIndex": i})
                continue
            if "compareDigest" in mf:
                current = self.metafields.get(key)
                expected = mf["compareDigest"]
                if (current is None and expected is not None) or (
                    current is not None and current["compareDigest"] != expected
                ):
                    errors.append(
                        {
                            "message": "The resource has been updated since it was loaded. Try again with an updated `compareDigest` value.",
                            "code": "STALE_OBJECT",
                            "field": ["metafields", str(i)],
                            "elementIndex": i,
                        }
                    )
        if errors:
            return {"metafields": None, "userErrors": errors}
        written = []
        for mf in metafields:
            key = (mf["ownerId"], mf.get("namespace"), mf["key"])
            current = self.metafields.get(key)
            rec = current or {
                "__typename": "Metafield",
                "id": self._next("Metafield"),
                "namespace": mf.get("namespace"),
                "key": mf["key"],
                "createdAt": _iso(self.now()),
                "ownerType": "ORDER" if mf["ownerId"] in self.orders else "CUSTOMER",
            }
            rec.update(
                {
                    "value": mf["value"],
                    "type": mf.get("type") or rec.get("type", "single_line_text_field"),
                    "updatedAt": _iso(self.now()),
                    "compareDigest": hashlib.sha256(f"{rec['id']}:{mf['value']}".encode()).hexdigest(),
                }
            )
            self.metafields[key] = rec
            written.append(rec)
            self.mutations.append(("metafieldsSet", dict(mf)))
        return {"metafields": written, "userErrors": []}


__all__ = [
    "Call",
    "FakeClock",
    "FakeShopify",
    "connection",
    "estimate_cost",
    "load_reference_schema",
    "parse_search",
    "validate_document",
]
