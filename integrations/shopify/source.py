"""`ShopifyStore`: the Shopify Admin GraphQL API as a `StoreSource` and `StoreActions`.

Reads
  Every object is read fresh (the webhook only names it). A new return case costs one
  document: `get_return` reads the return with its order, the order's returns and dispute
  summaries, the customer and their ten most recently updated orders (`RETURN_CASE`), and
  hands the parts to the calls context assembly makes next (`get_order`, `get_customer`,
  `get_customer_history`, `get_order_returns`, `order_disputes`; `read_ahead.py`) — once
  each, within seconds. `get_order` does the same for order, refund and dispute cases. A
  second document reads the other returns the history or the order needs in full, a third
  only when the order has disputes. Long lists are paged: order line items, an order's
  returns, a customer's orders when the recent ten do not reach back over the look-back
  period. A return's `requested_at` is its `createdAt`.

Polling
  Catch-up for missed webhooks. The cursor is an ISO timestamp (the newest `createdAt` /
  `updatedAt` seen); each poll searches from the cursor minus `poll_overlap`, so it sees
  some events twice — the caller dedupes on natural keys. With no cursor, new orders start
  `initial_lookback` ago, and return requests are read whatever their age: every one still
  waiting for a decision on first connect is a case to make. An item the poll cannot map
  (an id of the wrong kind, a time it cannot read) is returned in `PollPage.unmapped` and
  the poll goes on; the cursor moves past it.

Exactly-once on the store side
  No `return*` mutation takes an idempotency key, and a request that timed out may have
  been applied. So the client never retries a mutation whose request may have reached
  Shopify (it raises a retryable `IntegrationError`), and every action reads the store
  before writing, so that calling it again — with the same key, after a crash or a
  timeout — finds its own earlier effect instead of repeating it:

  - approve: a return already OPEN (or CLOSED: approved and processed) is done; an
    INVALID_STATE userError re-reads the status and is success if it is now OPEN.
  - decline: likewise for DECLINED.
  - refund: `returnProcess` processes what is still processable (returned items with
    their dispositions, exchange items) and refunds in the same call, so the refund is
    attached to the return and the return's own refunds are the record: a refund of the
    requested amount there means the action already ran; any other refund on it stops the
    action (non-retryable) rather than risk paying twice. A return with nothing left to
    process (processed in Shopify without a refund) is refunded with `refundCreate`,
    under `@idempotent(key:)` — a UUID derived from the action's key, so every retry
    sends the same — and with the key in the refund's note, which the check finds on the
    order. Money goes back to the order's successful SALE/CAPTURE transactions, in the
    order's presentment currency (`refunds.py` has the currency reading).
  - release exchange: `returnProcess` with the exchange lines only; their processable
    quantities are the record (none left, some processed → a repeat). Stock is read first
    (`nodes` of the lines' variants): one short raises `ExchangeOutOfStock`, nothing sent.
  - remove exchange: `removeFromReturn` with the exchange lines still processable; none
    left → a repeat.
  - refund shipping / reship (delayed shipments): see `remedies.py` — a marker in the
    refund's note plus `@idempotent`; a draft order recorded in the order's
    `returnsbot.reships` ledger (compare-and-set) before it is completed.
  - store credit: `storeCreditAccountCredit` takes no key and has no note, so the key is recorded
    on the customer, in the JSON metafield `returnsbot.store_credits`, written with
    compare-and-set (`compareDigest`): `pending` before crediting, `done` (with the
    transaction id) after. A retry that finds `done` stops; one that finds `pending`
    looks for a credit of that amount and currency made since the reservation and, if it
    is there, records it as done instead of crediting again.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from integrations.shopify import documents as doc
from integrations.shopify import mapping as m
from integrations.shopify import progress
from integrations.shopify import refunds as rf
from integrations.shopify import open_return as opening
from integrations.shopify import order_refund, remedies
from integrations.shopify.client import SYSTEM, ShopifyGraphQL
from integrations.shopify.read_ahead import DEFAULT_TTL, ReadAhead
from policy.models import (
    Customer,
    CustomerHistory,
    Dispute,
    DomainEvent,
    EventKind,
    Money,
    Order,
    OrderFacts,
    Refund,
    ReturnRequest,
    ReturnStatus,
    utc,
)
from policy.exchange_rules import in_stock
from policy.ports import ActionResult, ExchangeItem, ExchangeOutOfStock, IntegrationError, NotFound, PollPage, Unmapped

log = logging.getLogger(__name__)

_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)(\?.*)?$")
_DECLINE_REASONS = {
    "RETURN_PERIOD_ENDED": "RETURN_PERIOD_ENDED",
    "OUTSIDE_WINDOW": "RETURN_PERIOD_ENDED",
    "OUTSIDE_RETURN_WINDOW": "RETURN_PERIOD_ENDED",
    "FINAL_SALE": "FINAL_SALE",
    "OTHER": "OTHER",
}
_DECLINE_NOTE_MAX = 500


@dataclass(frozen=True)
class _StatusChange:
    """A return status change made with check-before-act (`ShopifyStore._check_before_act`)."""

    operation: str  # the outbox operation, for the log
    target: frozenset[ReturnStatus]  # already here: the change was made (a repeat)
    allowed: frozenset[ReturnStatus]  # the statuses it can be made from
    done: str  # "approved": the summary's word
    doing: str  # "approving return": for Shopify's refusal
    refusal: str  # why another status is refused
    recheck_on: str | None  # the userError code that makes a re-read worth it (None: any)


_APPROVE = _StatusChange("approve_return", frozenset({ReturnStatus.APPROVED, ReturnStatus.CLOSED}),
                         frozenset({ReturnStatus.REQUESTED}), "approved", "approving return",
                         "can no longer be approved", recheck_on="INVALID_STATE")
_DECLINE = _StatusChange("decline_return", frozenset({ReturnStatus.DECLINED}), frozenset({ReturnStatus.REQUESTED}),
                         "declined", "declining return", "can no longer be declined", recheck_on="INVALID_STATE")
_CLOSE = _StatusChange("close_return", frozenset({ReturnStatus.CLOSED}), frozenset({ReturnStatus.APPROVED}),
                       "closed", "closing return", "cannot be closed", recheck_on=None)
_LEDGER_MAX_ENTRIES = 200
_CLOCK_SKEW = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ShopifyStore:
    name = "shopify"

    def __init__(
        self,
        client: ShopifyGraphQL,
        *,
        shop_domain: str,
        now: Callable[[], datetime] = _now,
        initial_lookback: timedelta = timedelta(days=1),
        poll_overlap: timedelta = timedelta(minutes=2),
        max_pages: int = 20,
        read_ahead_ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
        restock: bool = True,
    ) -> None:
        self.client = client
        self.shop_domain = shop_domain.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        self._now = now
        self.initial_lookback = initial_lookback
        self.poll_overlap = poll_overlap
        self.max_pages = max_pages
        self.restock = restock  # False: process returns without dispositions
        self._ahead = ReadAhead(ttl=read_ahead_ttl, monotonic=monotonic)

    # --- links ----------------------------------------------------------------------------------

    @property
    def store_handle(self) -> str:
        return self.shop_domain.removesuffix(".myshopify.com")

    def admin_url(self, gid: str, *, order_id: str | None = None) -> str:
        """A link into the Shopify admin for an object (returns, refunds and disputes live
        on their order's page, so pass `order_id` for those)."""
        base = f"https://admin.shopify.com/store/{self.store_handle}"
        parsed = _GID.match(gid or "")
        pages = {"Order": "orders", "Customer": "customers", "Product": "products", "DraftOrder": "draft_orders"}
        if parsed and parsed.group(1) in pages:
            return f"{base}/{pages[parsed.group(1)]}/{parsed.group(2)}"
        if order_id:
            return self.admin_url(order_id)
        return base

    def ping(self) -> str:
        """For `check`: the shop, and the Admin API version that served the request."""
        shop = self.client.execute(doc.SHOP_PING)["shop"]
        version = self.client.served_version or self.client.requested_version or "unknown version"
        text = f"{shop['name']} ({shop['myshopifyDomain']}, {shop['currencyCode']}), Admin API {version}"
        mismatch = self.client.version_mismatch
        return f"{text}; {mismatch}" if mismatch else text

    @property
    def api_version_note(self) -> str | None:
        """For health: "Shopify served 2026-07 instead of 2026-10 (…)", or None."""
        return self.client.version_mismatch

    # --- reads ------------------------------------------------------------------------------------

    def get_return(self, return_id: str) -> ReturnRequest:
        rid = _gid("Return", return_id)
        node = self._one(doc.RETURN_CASE, {"id": rid}, "return", rid)
        ret = self._map_return(node, self._return_lines(rid, node))
        try:
            self._read_ahead_order(node["order"], current=ret)
        except (IntegrationError, NotFound, *_UNMAPPABLE) as exc:  # get_order reads it again and says so
            log.warning("shopify.read_ahead.order_skipped return_id=%s error=%s", rid, exc)
        return ret

    def get_order(self, order_id: str) -> Order:
        oid = _gid("Order", order_id)
        ahead = self._ahead.take("order", oid)
        if ahead is not None:
            return ahead
        node = self._one(doc.ORDER_BY_ID, {"id": oid}, "order", oid)
        return self._read_ahead_order(node, current=None)

    def payment_references(self, order_id: str) -> list:
        """How the order was paid (policy.payments.PaymentReference): what a payment
        processor's connector links its payments by."""
        oid = _gid("Order", order_id)
        node = self._one(doc.ORDER_PAYMENT_REFERENCES, {"id": oid}, "order", oid)
        return self._map(lambda: m.payment_references(node), "order payments", oid)

    def get_customer(self, customer_id: str) -> Customer:
        cid = _gid("Customer", customer_id)
        ahead = self._ahead.take("customer", cid)
        if ahead is not None:
            return ahead
        node = self._one(doc.CUSTOMER_BY_ID, {"id": cid}, "customer", cid)
        self._ahead.put("history", cid, _HistoryAhead(node))
        return self._map(lambda: m.customer(node), "customer", cid)

    def get_customer_history(self, customer_id: str, since: datetime) -> CustomerHistory:
        """Orders placed since `since`, and the returns requested since then (all of them:
        the caller leaves out the one it is deciding)."""
        cid = _gid("Customer", customer_id)
        since = utc(since)
        ahead: _HistoryAhead | None = self._ahead.take("history", cid)
        found = ahead.covering(since) if ahead is not None else None
        if found is None:
            found = self._history_pages(cid, since)
        orders, refs, first_order_at = found
        placed = sum(1 for o in orders if m.dt(o["createdAt"]) >= since)
        wanted = [r["id"] for r in refs if m.dt(r["createdAt"]) >= since]
        known = dict(ahead.known) if ahead is not None else {}
        extra = ahead.order_returns.missing() if ahead is not None and ahead.order_returns else []
        fetched = {r.id: r for r in self._returns_by_ids([i for i in dict.fromkeys(wanted + extra) if i not in known])}
        if ahead is not None and ahead.order_returns:
            ahead.order_returns.add(fetched)
        returns = [r for i in dict.fromkeys(wanted) if (r := known.get(i) or fetched.get(i)) is not None]
        returns = sorted((r for r in returns if r.requested_at >= since), key=lambda r: r.requested_at)
        return CustomerHistory(
            since=since,
            orders_count=placed,
            returns=tuple(m.past_return(r) for r in returns),
            first_order_at=first_order_at,
        )

    def get_order_returns(self, order_id: str) -> list[ReturnRequest]:
        oid = _gid("Order", order_id)
        ahead: _OrderReturnsAhead | None = self._ahead.take("order_returns", oid)
        if ahead is not None:
            ids, known = ahead.ids, ahead.snapshot()
        else:
            ids, known = self._order_return_ids(oid), {}
        fetched = {r.id: r for r in self._returns_by_ids([i for i in ids if i not in known])}
        return [r for i in ids if (r := known.get(i) or fetched.get(i)) is not None]

    def get_dispute(self, dispute_id: str) -> Dispute:
        did = _gid("ShopifyPaymentsDispute", dispute_id)
        node = self._one(doc.DISPUTE_BY_ID, {"id": did}, "dispute", did)
        return self._map(lambda: m.dispute(node), "dispute", did)

    def order_facts(self, order_id: str) -> OrderFacts:
        """The buyer's IP and addresses: read for a dispute's evidence only."""
        oid = _gid("Order", order_id)
        node = self._one(doc.ORDER_FACTS, {"id": oid}, "order", oid)
        return self._map(lambda: m.order_facts(node), "order", oid)

    def submit_dispute_evidence(self, dispute_id: str, *, evidence: Mapping[str, str],
                                idempotency_key: str) -> ActionResult:
        """`disputeEvidenceUpdate` with `submitEvidence` (it takes no key: check before act —
        evidence already submitted is a repeat, not a second submission). There is no
        `accept_dispute`: the 2026-10 Admin API has no call that accepts a dispute."""
        did = _gid("ShopifyPaymentsDispute", dispute_id)
        node = self._one(doc.DISPUTE_EVIDENCE, {"id": did}, "dispute", did)
        ev = node.get("disputeEvidence") or {}
        if ev.get("submitted"):
            return ActionResult(ok=True, summary="evidence already submitted to Shopify Payments (not sent twice)",
                                external_id=did)
        if node.get("status") != "NEEDS_RESPONSE":
            raise IntegrationError(f"Shopify Payments dispute {did} is {str(node.get('status')).lower().replace('_', ' ')}: "
                                   f"nothing was sent", retryable=False, system=SYSTEM)
        payload = self._mutate(doc.DISPUTE_EVIDENCE_UPDATE, {"id": ev["id"], "input": m.evidence_input(dict(evidence))},
                               "disputeEvidenceUpdate")
        errors = payload.get("userErrors") or []
        if any(e.get("code") == "EVIDENCE_ALREADY_ACCEPTED" for e in errors):
            return ActionResult(ok=True, summary="evidence already submitted to Shopify Payments (not sent twice)",
                                external_id=did)
        if errors:
            raise IntegrationError("Shopify refused the dispute evidence: "
                                   + "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors),
                                   retryable=False, system=SYSTEM)
        return ActionResult(ok=True, summary="evidence submitted to Shopify Payments", external_id=did)

    def order_disputes(self, order_id: str) -> list[Dispute]:
        oid = _gid("Order", order_id)
        summaries = self._ahead.take("disputes", oid)
        if summaries is None:
            summaries = self._one(doc.ORDER_DISPUTES, {"id": oid}, "order", oid).get("disputes") or []
        ids = [s["id"] for s in summaries if s and s.get("id")]
        out: list[Dispute] = []
        for batch in _batches(ids, 25):
            data = self.client.execute(doc.DISPUTES_BY_IDS, {"ids": batch})
            for node in data.get("nodes") or []:
                if node and node.get("__typename") == "ShopifyPaymentsDispute":
                    out.append(self._map(lambda n=node: m.dispute(n), "dispute", node.get("id")))
        return out

    def get_refund(self, refund_id: str) -> Refund:
        rid = _gid("Refund", refund_id)
        node = self._one(doc.REFUND_BY_ID, {"id": rid}, "refund", rid)
        return self._map(lambda: m.refund(node, node["order"]["id"]), "refund", rid)

    def find_orders(self, query: str, limit: int = 5) -> list[Order]:
        """Order lookup by number ("1001"/"#1001"), email, gid, or free text."""
        q = (query or "").strip()
        if not q:
            return []
        if q.startswith("gid://"):
            try:
                return [self.get_order(q)]
            except NotFound:
                return []
        if re.fullmatch(r"#?\d+", q):
            search = f"name:{q.lstrip('#')}"
        elif "@" in q and " " not in q:
            search = f"email:{_search_value(q)}"
        else:
            search = _search_value(q)
        first = max(1, min(int(limit), 25))
        data = self.client.execute(doc.ORDER_SEARCH, {"query": search, "first": first})
        return [self.get_order(n["id"]) for n in m.nodes(data.get("orders"))]

    # --- polling ----------------------------------------------------------------------------------

    def poll_new_orders(self, cursor: str | None) -> PollPage:
        start, previous = self._poll_start(cursor)
        query = f"created_at:>='{m.iso(start)}'"
        events: list[DomainEvent] = []
        unmapped: list[Unmapped] = []
        newest = previous
        after = None
        for _ in range(self.max_pages):
            conn = self.client.execute(doc.ORDERS_CREATED_SINCE, {"query": query, "after": after})["orders"]
            for node in m.nodes(conn):
                try:
                    created = m.dt(node["createdAt"])
                    newest = max(newest, created) if newest else created
                    events.append(DomainEvent(
                        source=self.name, kind=EventKind.ORDER_CREATED, resource_id=_poll_gid("Order", node["id"]),
                        order_id=node["id"], occurred_at=created, detail={"name": node["name"], "via": "poll"},
                    ))
                except _UNMAPPABLE as exc:
                    unmapped.append(_unmapped(node.get("id"), exc))
            more, after = m.page_info(conn)
            if not more:
                break
        return PollPage(events=events, cursor=m.iso(newest) if newest else m.iso(start), unmapped=unmapped)

    def poll_requested_returns(self, cursor: str | None) -> PollPage:
        """Return requests awaiting a decision: updated since the cursor, or — the first
        poll, no cursor — all of them, whatever their age."""
        start, previous = self._poll_start(cursor)
        query = "return_status:return_requested"
        if cursor:
            query += f" updated_at:>='{m.iso(start)}'"
        events: list[DomainEvent] = []
        unmapped: list[Unmapped] = []
        newest = previous
        after = None
        for _ in range(self.max_pages):
            variables = {"query": query, "returnQuery": "status:requested", "after": after}
            conn = self.client.execute(doc.ORDERS_WITH_REQUESTED_RETURNS, variables)["orders"]
            for node in m.nodes(conn):
                requested = [r for r in m.nodes(node.get("returns"))
                             if str(r.get("status")).upper() == ReturnStatus.REQUESTED]  # the filter is a hint
                try:
                    updated = m.dt(node["updatedAt"])
                except _UNMAPPABLE as exc:
                    unmapped += [_unmapped(r.get("id") or node.get("id"), exc) for r in requested]
                    continue
                newest = max(newest, updated) if newest else updated
                for ret in requested:
                    try:
                        events.append(self._requested_event(node, ret))
                    except _UNMAPPABLE as exc:
                        unmapped.append(_unmapped(ret.get("id"), exc))
            more, after = m.page_info(conn)
            if not more:
                break
        return PollPage(events=events, cursor=m.iso(newest) if newest else m.iso(start), unmapped=unmapped)

    def poll_return_progress(self, cursor: str | None) -> PollPage:
        """Catch-up for the return lifecycle webhooks: orders updated since the cursor with
        open (approved) returns, then one RETURN_PROGRESS read per return (about 200 + 340
        points requested each). The events repeat facts already seen; the lifecycle dedupes
        them on (source, stage, ref), which are the webhooks' refs."""
        start, previous = self._poll_start(cursor)
        query = f"updated_at:>='{m.iso(start)}'"
        events: list[DomainEvent] = []
        unmapped: list[Unmapped] = []
        newest = previous
        after = None
        now = utc(self._now())
        for _ in range(self.max_pages):
            conn = self.client.execute(doc.ORDERS_WITH_RETURNS_IN_PROGRESS, {"query": query, "after": after})["orders"]
            for node in m.nodes(conn):
                try:
                    updated = m.dt(node["updatedAt"])
                except _UNMAPPABLE:
                    continue
                newest = max(newest, updated) if newest else updated
                for ret in m.nodes(node.get("returns")):
                    if str(ret.get("status")).upper() != "OPEN":
                        continue  # the filter is a hint
                    try:
                        read = self._one(doc.RETURN_PROGRESS, {"id": ret["id"]}, "return", ret["id"])
                        for update in progress.stage_updates(read, now=now):
                            events.append(DomainEvent(
                                source=self.name, kind=EventKind.RETURN_STAGE, resource_id=update.return_id,
                                order_id=_poll_gid("Order", node["id"]), occurred_at=update.at,
                                detail={"via": "poll"}, stage=update))
                    except _UNMAPPABLE as exc:
                        unmapped.append(_unmapped(ret.get("id"), exc))
            more, after = m.page_info(conn)
            if not more:
                break
        return PollPage(events=events, cursor=m.iso(newest) if newest else m.iso(start), unmapped=unmapped)

    def _requested_event(self, order: dict[str, Any], ret: dict[str, Any]) -> DomainEvent:
        detail = {"order_name": order["name"], "status": ReturnStatus.REQUESTED.value, "via": "poll"}
        if ret.get("name"):
            detail["name"] = ret["name"]
        return DomainEvent(
            source=self.name,
            kind=EventKind.RETURN_REQUESTED,
            resource_id=_poll_gid("Return", ret["id"]),
            order_id=_poll_gid("Order", order["id"]),
            occurred_at=m.dt(ret["createdAt"]) if ret.get("createdAt") else None,
            detail=detail,
        )

    # --- actions ----------------------------------------------------------------------------------

    def approve_return(self, return_id: str, *, notify_customer: bool, idempotency_key: str) -> ActionResult:
        return self._check_before_act(
            _APPROVE, return_id, idempotency_key,
            lambda rid: self._mutate(doc.RETURN_APPROVE, {"input": {"id": rid, "notifyCustomer": bool(notify_customer)}},
                                     "returnApproveRequest"),
        )

    def decline_return(
        self,
        return_id: str,
        *,
        reason: str,
        note: str | None,
        notify_customer: bool,
        idempotency_key: str,
    ) -> ActionResult:
        shopify_reason = _DECLINE_REASONS.get((reason or "").strip().upper().replace(" ", "_").replace("-", "_"), "OTHER")
        decline_note = note
        if shopify_reason == "OTHER" and reason and reason.strip().upper() != "OTHER" and not note:
            decline_note = reason  # keep a free-text reason for the customer

        def decline(rid: str) -> dict[str, Any]:
            payload_input: dict[str, Any] = {
                "id": rid,
                "declineReason": shopify_reason,
                "notifyCustomer": bool(notify_customer),
            }
            if decline_note:
                payload_input["declineNote"] = _truncate(decline_note, _DECLINE_NOTE_MAX)
            return self._mutate(doc.RETURN_DECLINE, {"input": payload_input}, "returnDeclineRequest")

        return self._check_before_act(_DECLINE, return_id, idempotency_key, decline, detail=f" ({shopify_reason})")

    def close_return(self, return_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
        """Close an approved return (expired by policy). Check before act: a return already
        closed is a repeat, one declined or cancelled is refused (returnClose has no key)."""
        return self._check_before_act(
            _CLOSE, return_id, idempotency_key, lambda rid: self._mutate(doc.RETURN_CLOSE, {"id": rid}, "returnClose"),
            detail=f": {note}" if note else "",
        )

    def _check_before_act(self, change: _StatusChange, return_id: str, idempotency_key: str,
                          mutation: Callable[[str], dict[str, Any]], *, detail: str = "") -> ActionResult:
        """Move a return to `change`'s target status, once. Shopify's return mutations take
        no idempotency key, so the return's state decides: already in the target status is
        a repeat (ok), a status it can't be moved from is refused, and when the mutation
        answers with userErrors the state is read again — a concurrent or earlier attempt
        may have made the change — before the errors are raised."""
        rid = _gid("Return", return_id)
        state = self._return_state(rid)
        label = state.get("name") or rid
        status = state["status"]
        repeat = f"return {label} was already {change.done}"
        if status in change.target:
            return self._done(change.operation, idempotency_key, repeat, rid, repeat=True)
        if status not in change.allowed:
            raise IntegrationError(f"return {label} is {status} and {change.refusal}", retryable=False, system=SYSTEM)
        payload = mutation(rid)
        errors = payload.get("userErrors") or []
        if errors:
            if ((change.recheck_on is None or _has_code(errors, change.recheck_on))
                    and self._return_state(rid)["status"] in change.target):
                return self._done(change.operation, idempotency_key, repeat, rid, repeat=True)
            raise _user_errors(change.doing, label, errors)
        return self._done(change.operation, idempotency_key, f"return {label} {change.done}{detail}", rid)

    def refund_return(
        self, return_id: str, *, amount: Money, notify_customer: bool, idempotency_key: str
    ) -> ActionResult:
        return self._refund(return_id, amount=amount, notify_customer=notify_customer, idempotency_key=idempotency_key)

    def record_refund(self, return_id: str, *, amount: Money, refunded_in: str, notify_customer: bool,
                      idempotency_key: str) -> ActionResult:
        """The return was refunded by the processor holding the money (`refunded_in` says
        where): the same plan as a refund, against the order's manual-gateway payments, where
        Shopify records the refund and moves no money. A share on a gateway Shopify
        processes would pay the customer a second time: refused, nothing changed."""
        return self._refund(return_id, amount=amount, notify_customer=notify_customer,
                            idempotency_key=idempotency_key, recorded_from=refunded_in)

    def _refund(self, return_id: str, *, amount: Money, notify_customer: bool, idempotency_key: str,
                recorded_from: str | None = None) -> ActionResult:
        rid = _gid("Return", return_id)
        if amount.amount <= 0:
            raise IntegrationError(f"refund amount must be positive, got {amount}", retryable=False, system=SYSTEM)
        ret = self._one(doc.RETURN_PROCESS_CONTEXT, {"id": rid}, "return", rid)
        label = ret.get("name") or rid
        status = m.return_status(ret["status"])
        order = ret["order"]
        cur = rf.Currencies.of(order)
        transactions = order.get("transactions") or []
        try:
            cur.side(amount.currency)
        except rf.PlanError as exc:
            raise IntegrationError(f"{exc} ({order['id']})", retryable=False, system=SYSTEM) from None
        marker = _refund_marker(idempotency_key)

        # 1. Has this refund already happened (an earlier attempt that timed out or crashed)?
        if (earlier := rf.marked_refund(order.get("refunds"), marker)) is not None:
            return self._done("refund_return", idempotency_key,
                              f"refund {amount} was already issued for return {label}", earlier["id"], repeat=True)
        existing = m.nodes(ret.get("refunds"))
        paid_with = rf.payments(transactions)
        for r in existing:
            if rf.matches(r["totalRefundedSet"], amount, cur, paid_with):
                return self._done(
                    "refund_return", idempotency_key, f"refund {amount} was already issued for return {label}", r["id"], repeat=True
                )
        if existing:
            refunded = ", ".join(str(m.money(r["totalRefundedSet"])) for r in existing)
            raise IntegrationError(
                f"return {label} already has refund(s) of {refunded}; not refunding {amount} on top — check it in Shopify",
                retryable=False,
                system=SYSTEM,
            )
        if status == ReturnStatus.REQUESTED:
            raise IntegrationError(
                f"return {label} is not approved yet (REQUESTED); it must be approved before it is refunded",
                retryable=True,
                system=SYSTEM,
            )
        if status not in (ReturnStatus.APPROVED, ReturnStatus.CLOSED):
            raise IntegrationError(f"return {label} is {status} and cannot be refunded", retryable=False, system=SYSTEM)

        # 2. The plan: the money back to the original payments, in the presentment currency.
        try:
            shares = rf.allocate(amount, transactions, cur)
        except rf.PlanError as exc:
            raise IntegrationError(str(exc), retryable=False, system=SYSTEM) from None
        moving = [s for s in shares if not s.manual]
        if recorded_from is not None and moving:
            raise IntegrationError(
                f"return {label}: refunded in {recorded_from}, but Shopify would refund "
                f"{', '.join(str(s.amount) for s in moving)} again through {moving[0].gateway}; not recorded — check "
                f"the order in Shopify", retryable=False, system=SYSTEM)
        note = f"Refunded in {recorded_from} by returnsbot ({marker})" if recorded_from is not None else None
        lines = self._all_nodes(
            ret["returnLineItems"],
            lambda after: self._one(doc.RETURN_PROCESS_LINES_PAGE, {"id": rid, "after": after}, "return", rid)[
                "returnLineItems"
            ],
        )
        quantities = {li["id"]: int(li.get("processableQuantity") or 0) for li in lines}
        exchanges = [e for e in m.nodes(ret.get("exchangeLineItems")) if int(e.get("processableQuantity") or 0) > 0]
        if status is ReturnStatus.APPROVED and (any(q > 0 for q in quantities.values()) or exchanges):
            return self._process(ret, label, lines, quantities, exchanges, shares, amount, cur,
                                 notify_customer=notify_customer, idempotency_key=idempotency_key, note=note)
        # 3. Nothing left to process (processed in Shopify without a refund): refund on its own.
        return self._refund_processed(ret, label, shares, cur, marker, notify_customer=notify_customer,
                                      idempotency_key=idempotency_key, amount=amount, note=note)

    def _process(self, ret: dict[str, Any], label: str, lines: list[dict[str, Any]], quantities: dict[str, int],
                 exchanges: list[dict[str, Any]], shares: list[rf.Share], amount: Money, cur: rf.Currencies, *,
                 notify_customer: bool, idempotency_key: str, note: str | None = None) -> ActionResult:
        locations = rf.restock_locations(ret["order"])
        # The warehouse has inspected the return (reverseFulfillmentOrderDispose): what it did
        # not dispose it did not confirm (never arrived, still open), so we add no disposition
        # of our own; Shopify would refuse one for what it already disposed anyway.
        dispose = self.restock and not _warehouse_disposed(ret)
        return_lines = []
        for li in lines:
            qty = quantities.get(li["id"], 0)
            if qty <= 0:
                continue
            item: dict[str, Any] = {"id": li["id"], "quantity": qty}
            disposed = rf.dispositions(li, qty, ret, locations) if dispose else []
            if disposed:
                item["dispositions"] = disposed
            return_lines.append(item)
        process_input: dict[str, Any] = {
            "returnId": ret["id"],
            "returnLineItems": return_lines,
            "exchangeLineItems": [{"id": e["id"], "quantity": int(e["processableQuantity"])} for e in exchanges],
            "financialTransfer": {"issueRefund": {"orderTransactions": [
                {"parentId": s.parent_id, "transactionAmount": {"amount": str(s.amount.amount), "currencyCode": s.amount.currency}}
                for s in shares
            ]}},
            "notifyCustomer": bool(notify_customer),
        }
        if note:
            process_input["note"] = note
        shipping = rf.shipping_refund(amount, rf.items_value(lines, quantities, amount.currency, cur), ret["order"], cur)
        if shipping:
            process_input["refundShipping"] = shipping
        before = {r["id"] for r in m.nodes(ret.get("refunds"))}
        payload = self._mutate(doc.RETURN_PROCESS, {"input": process_input}, "returnProcess")
        errors = payload.get("userErrors") or []
        if errors:
            raise _user_errors("processing return", label, errors)
        made = [r for r in m.nodes((payload.get("return") or {}).get("refunds")) if r["id"] not in before]
        refund_id = max(made, key=lambda r: r.get("createdAt") or "")["id"] if made else None
        extra = f" and {len(exchanges)} exchange item(s)" if exchanges else ""
        if note:
            return self._done("record_refund", idempotency_key,
                              f"refund {amount} recorded on return {label}, no money moved (processed{extra})", refund_id)
        return self._done("refund_return", idempotency_key,
                          f"refund {amount} issued for return {label} (processed{extra})", refund_id)

    def _refund_processed(self, ret: dict[str, Any], label: str, shares: list[rf.Share], cur: rf.Currencies,
                          marker: str, *, notify_customer: bool, idempotency_key: str, amount: Money,
                          note: str | None = None) -> ActionResult:
        order = ret["order"]
        refund_input = {
            "orderId": order["id"],
            "currency": cur.presentment,
            "note": note or f"Refund for return {label} ({marker})",
            "notify": bool(notify_customer),
            "transactions": rf.refund_transactions(order["id"], shares),
        }
        payload = self._mutate(doc.REFUND_CREATE, {"input": refund_input, "key": shopify_idempotency_key(idempotency_key)},
                               "refundCreate")
        errors = payload.get("userErrors") or []
        if errors:
            raise _user_errors("refunding return", label, errors)
        refund = payload.get("refund") or {}
        if note:
            return self._done("record_refund", idempotency_key, f"refund {amount} recorded on return {label}, no money "
                              "moved (already processed in Shopify)", refund.get("id"))
        return self._done("refund_return", idempotency_key,
                          f"refund {amount} issued for return {label} (already processed in Shopify)", refund.get("id"))

    def issue_store_credit(self, customer_id: str, *, amount: Money, idempotency_key: str) -> ActionResult:
        cid = _gid("Customer", customer_id)
        if amount.amount <= 0:
            raise IntegrationError(f"store credit must be positive, got {amount}", retryable=False, system=SYSTEM)
        state = self._one(doc.CUSTOMER_STORE_CREDIT, {"id": cid}, "customer", cid)
        metafield = state.get("metafield")
        digest = metafield.get("compareDigest") if metafield else None
        ledger = _load_ledger(metafield)
        entry = ledger.get(idempotency_key)

        if entry and entry.get("state") == "done":
            return self._done(
                "issue_store_credit", idempotency_key, f"store credit {amount} was already issued", entry.get("transaction"), repeat=True
            )
        if entry and entry.get("state") == "pending":
            since = m.dt(entry["at"]) - _CLOCK_SKEW
            match = _find_credit(state, amount, since)
            if match is not None:
                ledger[idempotency_key] = {**entry, "state": "done", "transaction": match}
                self._write_ledger_quietly(cid, ledger, digest)
                return self._done(
                    "issue_store_credit", idempotency_key, f"store credit {amount} was already issued", match, repeat=True
                )

        # Reserve the key (compare-and-set), then credit, then record the transaction.
        ledger[idempotency_key] = {
            "state": "pending",
            "at": m.iso(self._now()),
            "amount": str(amount.amount),
            "currency": amount.currency,
        }
        digest = self._write_ledger(cid, ledger, digest)
        payload = self._mutate(
            doc.STORE_CREDIT_CREDIT,
            {"id": cid, "creditInput": {"creditAmount": {"amount": str(amount.amount), "currencyCode": amount.currency}}},
            "storeCreditAccountCredit",
        )
        errors = payload.get("userErrors") or []
        if errors:
            ledger.pop(idempotency_key, None)  # definitely not credited: release the key
            self._write_ledger_quietly(cid, ledger, digest)
            raise _user_errors("crediting customer", cid, errors)
        transaction = (payload.get("storeCreditAccountTransaction") or {}).get("id")
        ledger[idempotency_key] = {**ledger[idempotency_key], "state": "done", "transaction": transaction}
        self._write_ledger_quietly(cid, ledger, digest)
        return self._done("issue_store_credit", idempotency_key, f"store credit {amount} issued", transaction)

    def release_exchange(self, return_id: str, *, notify_customer: bool, idempotency_key: str) -> ActionResult:
        """Release the exchange: `returnProcess` with the exchange lines only (no refund, no
        returned lines), which makes Shopify create the exchange's fulfillment orders.

        Check before act (returnProcess takes no key): the exchange lines' processable
        quantities are re-read, so a retry after a lost answer finds them processed and is a
        repeat, never a second exchange. Stock is read before releasing anything: a tracked
        variant that may not be oversold needs every unit, and one short (or gone) raises
        `ExchangeOutOfStock` with nothing released."""
        rid = _gid("Return", return_id)
        ret = self._one(doc.RETURN_EXCHANGE_STATE, {"id": rid}, "return", rid)
        label = ret.get("name") or rid
        status = m.return_status(ret["status"])
        items = m.nodes(ret.get("exchangeLineItems"))
        if not items:  # the policy recommended an exchange; the customer chose no exchange item
            return self._done("release_exchange", idempotency_key,
                              f"return {label} has no exchange items: nothing to release", rid)
        if status == ReturnStatus.REQUESTED:
            raise IntegrationError(f"return {label} is not approved yet (REQUESTED); the exchange waits for it",
                                   retryable=True, system=SYSTEM)
        pending = _unprocessed(items)
        released = sum(int(e.get("processedQuantity") or 0) for e in items)
        if not pending and released:
            return self._done("release_exchange", idempotency_key,
                              f"exchange for return {label} was already released", rid, repeat=True)
        if status != ReturnStatus.APPROVED or not pending:
            raise IntegrationError(f"return {label} is {status} with nothing to release; the exchange cannot be "
                                   f"released", retryable=False, system=SYSTEM)
        short = [i for i in self._exchange_stock(pending) if not i.in_stock]
        if short:
            names = ", ".join(i.title for i in short)
            raise ExchangeOutOfStock(f"exchange for return {label}: {names} out of stock; nothing released",
                                     items=tuple(short), system=SYSTEM)
        process_input = {
            "returnId": rid,
            "exchangeLineItems": [{"id": e["id"], "quantity": int(e["processableQuantity"])} for e in pending],
            "notifyCustomer": bool(notify_customer),
        }
        payload = self._mutate(doc.RETURN_PROCESS_EXCHANGE, {"input": process_input}, "returnProcess")
        if payload.get("userErrors"):
            return self._exchange_refused(rid, payload["userErrors"], "releasing the exchange of return", label,
                                          "release_exchange", idempotency_key,
                                          f"exchange for return {label} was already released")
        units = sum(int(e["processableQuantity"]) for e in pending)
        return self._done("release_exchange", idempotency_key,
                          f"exchange for return {label} released ({units} item(s))", rid)

    def _exchange_refused(self, rid: str, errors: list, doing: str, label: str, operation: str,
                          idempotency_key: str, repeat_summary: str) -> ActionResult:
        """A refused exchange mutation: re-read, and nothing left unprocessed means an earlier
        attempt (whose answer was lost) did it — a repeat; otherwise the refusal stands."""
        again = self._one(doc.RETURN_EXCHANGE_STATE, {"id": rid}, "return", rid)
        if not _unprocessed(m.nodes(again.get("exchangeLineItems"))):
            return self._done(operation, idempotency_key, repeat_summary, rid, repeat=True)
        raise _user_errors(doing, label, errors)

    def remove_exchange(self, return_id: str, *, idempotency_key: str) -> ActionResult:
        """Take the exchange lines not processed yet off the return (`removeFromReturn`). Check
        before act (no key): the lines are re-read, and none left to remove is a repeat."""
        rid = _gid("Return", return_id)
        ret = self._one(doc.RETURN_EXCHANGE_STATE, {"id": rid}, "return", rid)
        label = ret.get("name") or rid
        pending = _unprocessed(m.nodes(ret.get("exchangeLineItems")))
        if not pending:
            return self._done("remove_exchange", idempotency_key,
                              f"no exchange items left to remove from return {label}", rid, repeat=True)
        lines = [{"exchangeLineItemId": e["id"], "quantity": int(e["processableQuantity"])} for e in pending]
        payload = self._mutate(doc.REMOVE_EXCHANGE_FROM_RETURN, {"returnId": rid, "exchangeLineItems": lines},
                               "removeFromReturn")
        if payload.get("userErrors"):
            return self._exchange_refused(rid, payload["userErrors"], "removing the exchange from return", label,
                                          "remove_exchange", idempotency_key,
                                          f"no exchange items left to remove from return {label}")
        units = sum(li["quantity"] for li in lines)
        return self._done("remove_exchange", idempotency_key,
                          f"{units} exchange item(s) removed from return {label}", rid)

    def refund_shipping(self, order_id: str, *, amount: Money | None, notify_customer: bool,
                        idempotency_key: str) -> ActionResult:
        """refundCreate of the shipping, marker-checked and @idempotent (see remedies.py)."""
        return remedies.refund_shipping(self, order_id, amount=amount, notify_customer=notify_customer,
                                        idempotency_key=idempotency_key)

    def refund_order(self, order_id: str, *, amount: Money, items: str | None, notify_customer: bool,
                     idempotency_key: str) -> ActionResult:
        """refundCreate of money, no store return, marker-checked and @idempotent (see order_refund.py)."""
        return order_refund.refund_order(self, order_id, amount=amount, items=items, notify_customer=notify_customer,
                                         idempotency_key=idempotency_key)

    def open_return(self, order_id: str, *, lines: list[tuple[str, int]], reason_note: str | None,
                    requested_at: datetime | None, idempotency_key: str) -> ActionResult:
        """returnCreate (OPEN), marker-checked against the order's returns (see open_return.py)."""
        return opening.open_return(self, order_id, lines=lines, reason_note=reason_note, requested_at=requested_at,
                                   idempotency_key=idempotency_key)

    def reship_order(self, order_id: str, *, note: str | None, idempotency_key: str) -> ActionResult:
        """A $0 replacement order from a draft, recorded in the order's ledger (see remedies.py)."""
        return remedies.reship_order(self, order_id, note=note, idempotency_key=idempotency_key)

    def add_tags(self, resource_id: str, *, tags: tuple[str, ...], idempotency_key: str) -> ActionResult:
        """`tagsAdd` on a customer or an order, checked before: the tags are read, and a
        resource carrying all of them already (without case, as Shopify compares) is a repeat
        with no mutation sent. No key on the call: `tagsAdd` takes none, and adding a tag
        twice changes nothing anyway."""
        kind = _GID.match(str(resource_id or "").strip())
        if not kind or kind.group(1) not in ("Customer", "Order"):
            raise NotFound(f"not a Shopify customer or order id: {resource_id!r}")
        gid = _gid(kind.group(1), resource_id)
        node = self._one(doc.RESOURCE_TAGS, {"id": gid}, "node", gid)
        label = node.get("displayName") or node.get("name") or gid
        have = {str(t).casefold() for t in node.get("tags") or []}
        missing = [t for t in dict.fromkeys(tags) if t.casefold() not in have]
        if not missing:
            return self._done("add_tags", idempotency_key, f"{label} is already tagged {', '.join(tags)}", gid,
                              repeat=True)
        payload = self._mutate(doc.TAGS_ADD, {"id": gid, "tags": missing}, "tagsAdd")
        errors = payload.get("userErrors") or []
        if errors:
            raise _user_errors("tagging", label, errors)
        return self._done("add_tags", idempotency_key, f"{label} tagged {', '.join(missing)}", gid)

    def _exchange_stock(self, pending: list[dict[str, Any]]) -> list[ExchangeItem]:
        """Each pending exchange line with its variant's stock. Units wanted of one variant
        are summed across lines; a line whose variant is gone (no id, or no node) is out of
        stock: there is nothing to ship."""
        ids = list(dict.fromkeys(e["variantId"] for e in pending if e.get("variantId")))
        variants: dict[str, dict[str, Any]] = {}
        for batch in _batches(ids, 50):
            for node in self.client.execute(doc.EXCHANGE_VARIANT_STOCK, {"ids": batch}).get("nodes") or []:
                if node and node.get("id"):
                    variants[node["id"]] = node
        wanted: dict[str, int] = {}
        for e in pending:
            if e.get("variantId"):
                wanted[e["variantId"]] = wanted.get(e["variantId"], 0) + int(e["processableQuantity"])
        out = []
        for e in pending:
            title = " — ".join(t for t in (e.get("title"), e.get("variantTitle")) if t) or e["id"]
            v = variants.get(e.get("variantId") or "")
            if v is None:
                out.append(ExchangeItem(e["id"], title, int(e["processableQuantity"]), 0, False))
                continue
            available = v.get("inventoryQuantity")
            tracked = bool((v.get("inventoryItem") or {}).get("tracked"))
            ok = in_stock(wanted=wanted[v["id"]], available=available, tracked=tracked,
                          oversell=v.get("inventoryPolicy") == "CONTINUE")
            out.append(ExchangeItem(e["id"], title, int(e["processableQuantity"]),
                                    int(available) if tracked and available is not None else None, ok))
        return out

    # --- internals ----------------------------------------------------------------------------------

    def _one(self, document: str, variables: dict[str, Any], field: str, ident: str) -> dict[str, Any]:
        data = self.client.execute(document, variables)
        node = data.get(field)
        if node is None:
            raise NotFound(f"Shopify has no {field} {ident}")
        return node

    def _map(self, build: Callable[[], Any], what: str, ident: str | None) -> Any:
        try:
            return build()
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrationError(
                f"unexpected Shopify data for {what} {ident}: {type(exc).__name__}: {exc}", retryable=False, system=SYSTEM
            ) from exc

    def _map_return(self, node: dict, lines: list) -> ReturnRequest:
        return self._map(lambda: m.return_request(node, line_item_nodes=lines), "return", node.get("id"))

    def _return_by_id(self, rid: str) -> ReturnRequest:
        node = self._one(doc.RETURN_BY_ID, {"id": rid}, "return", rid)
        return self._map_return(node, self._return_lines(rid, node))

    def _returns_by_ids(self, ids: list[str]) -> list[ReturnRequest]:
        out: list[ReturnRequest] = []
        for batch in _batches(list(dict.fromkeys(ids)), doc.RETURNS_BATCH):
            data = self.client.execute(doc.RETURNS_BY_IDS, {"ids": batch})
            for node in data.get("nodes") or []:
                if not node or node.get("__typename") != "Return":
                    continue
                if m.page_info(node["returnLineItems"])[0]:
                    out.append(self._return_by_id(node["id"]))  # more lines than the batch reads
                else:
                    out.append(self._map_return(node, m.nodes(node["returnLineItems"])))
        return out

    def _read_ahead_order(self, node: dict[str, Any], *, current: ReturnRequest | None) -> Order:
        """Map an order read with `OrderContextFields`, and keep its parts for the calls
        that follow (see the module docstring); the order itself too when it came with the
        return `current`. Returns the order."""
        oid = node["id"]
        items = self._all_nodes(
            node["lineItems"],
            lambda after: self._one(doc.ORDER_LINE_ITEMS_PAGE, {"id": oid, "after": after}, "order", oid)["lineItems"],
        )
        order = self._map(lambda: m.order(node, items), "order", oid)
        if current is not None:  # read with a return: the order is asked for next
            self._ahead.put("order", oid, order)
        known = {current.id: current} if current is not None else {}
        order_returns = None
        if not m.page_info(node.get("returns"))[0]:
            ids = [r["id"] for r in m.nodes(node.get("returns"))]
            order_returns = _OrderReturnsAhead(ids=ids, known=dict(known))
            self._ahead.put("order_returns", oid, order_returns)
        self._ahead.put("disputes", oid, node.get("disputes") or [])
        customer = node.get("customer")
        if customer and customer.get("id"):
            cid = customer["id"]
            try:
                self._ahead.put("customer", cid, m.customer(customer))
            except _UNMAPPABLE as exc:  # get_customer reads it again and says what is wrong
                log.warning("shopify.read_ahead.unmapped customer_id=%s error=%s", cid, exc)
            self._ahead.put("history", cid, _HistoryAhead(customer, known=known, order_returns=order_returns))
        return order

    def _history_pages(self, cid: str, since: datetime) -> tuple[list[dict], list[dict], datetime | None]:
        """The customer's orders updated since `since` (a return request updates its order)
        and the returns on them, paged."""
        query = f"updated_at:>='{m.iso(since)}'"
        orders: list[dict] = []
        first_order_at = None
        after = None
        for _ in range(self.max_pages):
            node = self._one(doc.CUSTOMER_HISTORY, {"id": cid, "query": query, "after": after}, "customer", cid)
            firsts = m.nodes(node.get("firstOrder"))
            if firsts:
                first_order_at = m.dt(firsts[0]["createdAt"])
            orders += m.nodes(node["orders"])
            more, after = m.page_info(node["orders"])
            if not more:
                break
        refs = [r for o in orders for r in m.nodes(o.get("returns"))]
        return orders, refs, first_order_at

    def _order_return_ids(self, oid: str) -> list[str]:
        ids: list[str] = []
        after = None
        for _ in range(self.max_pages):
            order = self._one(doc.ORDER_RETURNS, {"id": oid, "after": after}, "order", oid)
            ids += [r["id"] for r in m.nodes(order["returns"])]
            more, after = m.page_info(order["returns"])
            if not more:
                break
        return ids

    def _poll_start(self, cursor: str | None) -> tuple[datetime, datetime | None]:
        if cursor:
            try:
                previous = m.dt(cursor)
            except ValueError:
                log.warning("shopify.poll.bad_cursor cursor=%r: starting over", cursor)
            else:
                return previous - self.poll_overlap, previous
        return utc(self._now()) - self.initial_lookback, None

    def _return_state(self, rid: str) -> dict[str, Any]:
        node = self._one(doc.RETURN_STATE, {"id": rid}, "return", rid)
        node["status"] = m.return_status(node["status"])
        return node

    def _return_lines(self, rid: str, ret: dict[str, Any]) -> list[dict[str, Any]]:
        """All of a return's line items: the page read with it, then any further pages."""
        return self._all_nodes(
            ret["returnLineItems"],
            lambda after: self._one(doc.RETURN_LINE_ITEMS_PAGE, {"id": rid, "after": after}, "return", rid)[
                "returnLineItems"
            ],
        )

    def _all_nodes(self, first: dict[str, Any], next_page: Callable[[str], dict[str, Any]]) -> list[dict[str, Any]]:
        """The nodes of a connection already read, and of up to `max_pages` pages after it."""
        nodes = m.nodes(first)
        more, after = m.page_info(first)
        for _ in range(self.max_pages):
            if not more:
                break
            page = next_page(after)
            nodes += m.nodes(page)
            more, after = m.page_info(page)
        return nodes

    def _mutate(self, document: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        data = self.client.execute(document, variables)
        payload = data.get(field)
        if payload is None:
            raise IntegrationError(f"Shopify returned no result for {field}", retryable=True, system=SYSTEM)
        return payload

    def _write_ledger(self, cid: str, ledger: dict[str, Any], digest: str | None,
                      *, key: str = doc.STORE_CREDIT_KEY) -> str | None:
        """Compare-and-set a ledger metafield (the customer's store credits, an order's
        reships); returns the new digest."""
        value = json.dumps(_prune(ledger), sort_keys=True, separators=(",", ":"))
        payload = self._mutate(
            doc.METAFIELDS_SET,
            {
                "metafields": [
                    {
                        "ownerId": cid,
                        "namespace": doc.STORE_CREDIT_NAMESPACE,
                        "key": key,
                        "type": "json",
                        "value": value,
                        # null: "must not exist yet" — Shopify's create-only compare-and-set.
                        "compareDigest": digest,
                    }
                ]
            },
            "metafieldsSet",
        )
        errors = payload.get("userErrors") or []
        if errors:
            stale = _has_code(errors, "STALE_OBJECT") or _has_code(errors, "INVALID_COMPARE_DIGEST")
            raise IntegrationError(
                f"the {key} ledger changed while writing it; try again"
                if stale
                else f"could not record the {key} key: " + "; ".join(e.get("message", "") for e in errors),
                retryable=stale,
                system=SYSTEM,
            )
        written = payload.get("metafields") or []
        return written[0].get("compareDigest") if written else None

    def _write_ledger_quietly(self, cid: str, ledger: dict[str, Any], digest: str | None) -> None:
        """Best effort: a lost `done` mark is recovered from the `pending` one on a retry."""
        try:
            self._write_ledger(cid, ledger, digest)
        except IntegrationError as exc:
            log.warning("shopify.store_credit.ledger_write_failed customer_id=%s error=%s", cid, exc)

    def _done(self, op: str, key: str, summary: str, external_id: str | None, *, repeat: bool = False) -> ActionResult:
        log.info("shopify.action op=%s key=%s outcome=%s external_id=%s", op, key, "repeat" if repeat else "done", external_id)
        return ActionResult(ok=True, summary=summary, external_id=external_id)


# --- read-ahead entries -------------------------------------------------------------------------


@dataclass
class _OrderReturnsAhead:
    """An order's return ids (all of them), and those already read in full. Shared by the
    history entry, which fills it in, and `get_order_returns`, which may run at the same
    time (the order lookup reads its parts in parallel)."""

    ids: list[str]
    known: dict[str, ReturnRequest] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def missing(self) -> list[str]:
        with self._lock:
            return [i for i in self.ids if i not in self.known]

    def add(self, found: dict[str, ReturnRequest]) -> None:
        with self._lock:
            self.known.update({i: r for i, r in found.items() if i in self.ids})

    def snapshot(self) -> dict[str, ReturnRequest]:
        with self._lock:
            return dict(self.known)


@dataclass
class _HistoryAhead:
    """A customer node read with `RecentHistoryFields`; `known`: returns read in full
    already; `order_returns`: the case's order, whose other returns are read in the same
    round trip as the history's."""

    customer: dict[str, Any]
    known: dict[str, ReturnRequest] = field(default_factory=dict)
    order_returns: _OrderReturnsAhead | None = None

    def covering(self, since: datetime) -> tuple[list[dict], list[dict], datetime | None] | None:
        """(orders, return refs, first order time) when the recent orders reach back past
        `since` (sorted by update time, newest first); None when they may not."""
        try:
            recent = self.customer["recentOrders"]
            orders = m.nodes(recent)
            if m.page_info(recent)[0] and not (orders and min(m.dt(o["updatedAt"]) for o in orders) < since):
                return None
            current = [o for o in orders if m.dt(o["updatedAt"]) >= since]
            if any(m.page_info(o.get("returns"))[0] for o in current):
                return None  # an order with more returns than the page holds
            firsts = m.nodes(self.customer.get("firstOrder"))
            first_order_at = m.dt(firsts[0]["createdAt"]) if firsts else None
        except _UNMAPPABLE as exc:
            log.warning("shopify.read_ahead.history_unusable customer_id=%s error=%s", self.customer.get("id"), exc)
            return None
        return current, [r for o in current for r in m.nodes(o.get("returns"))], first_order_at


# --- helpers -------------------------------------------------------------------------------------


def _warehouse_disposed(ret: dict[str, Any]) -> bool:
    """Any item of the return disposed already (read with RETURN_PROCESS_CONTEXT)."""
    return any(d for rfo in m.nodes(ret.get("reverseFulfillmentOrders"))
               for item in m.nodes(rfo.get("lineItems")) for d in item.get("dispositions") or [])


def _refund_marker(idempotency_key: str) -> str:
    """Written into the note of a refund made with refundCreate, so a retry finds it."""
    return f"returnsbot:{idempotency_key}"


def shopify_idempotency_key(idempotency_key: str) -> str:
    """The `@idempotent(key:)` for an action: a UUID (what Shopify recommends) that is the
    same for every retry of that action."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"returnsbot:{idempotency_key}"))


# What mapping one polled item can raise: that item is set aside, the poll goes on.
_UNMAPPABLE = (KeyError, TypeError, ValueError)


def _poll_gid(kind: str, value: Any) -> str:
    """A polled item's id, which must be a gid of `kind` (the event is fetched by it)."""
    parsed = _GID.match(value) if isinstance(value, str) else None
    if not parsed or parsed.group(1) != kind:
        raise ValueError(f"expected a Shopify {kind} id, got {value!r}")
    return value


def _unmapped(ref: Any, exc: Exception) -> Unmapped:
    ref = str(ref) if ref else "(no id)"
    log.warning("shopify.poll.unmapped ref=%s error=%s", ref, exc)
    return Unmapped(ref=ref, error=f"{type(exc).__name__}: {exc}")


def _gid(kind: str, value: str) -> str:
    """Accept a gid of the right kind, or a bare numeric id; anything else is not found."""
    text = str(value or "").strip()
    if text.isdigit():
        return f"gid://shopify/{kind}/{text}"
    parsed = _GID.match(text)
    if not parsed or parsed.group(1) != kind:
        raise NotFound(f"not a Shopify {kind} id: {value!r}")
    return text


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _search_value(text: str) -> str:
    if re.fullmatch(r"[^\s:\\()\"']+", text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_code(errors: list[dict[str, Any]], code: str) -> bool:
    return any((e or {}).get("code") == code for e in errors)


def _user_errors(doing: str, label: str, errors: list[dict[str, Any]]) -> IntegrationError:
    parts = []
    for e in errors:
        code = e.get("code")
        parts.append(f"{e.get('message', 'error')}" + (f" [{code}]" if code else ""))
    return IntegrationError(f"Shopify refused {doing} {label}: " + "; ".join(parts), retryable=False, system=SYSTEM)


def _load_ledger(metafield: dict[str, Any] | None) -> dict[str, Any]:
    if not metafield or not metafield.get("value"):
        return {}
    try:
        value = json.loads(metafield["value"])
    except ValueError:
        raise IntegrationError(
            "the customer's returnsbot.store_credits metafield is not JSON; fix or delete it in Shopify",
            retryable=False,
            system=SYSTEM,
        ) from None
    return value if isinstance(value, dict) else {}


def _prune(ledger: dict[str, Any]) -> dict[str, Any]:
    if len(ledger) <= _LEDGER_MAX_ENTRIES:
        return ledger
    done = sorted((k for k, v in ledger.items() if v.get("state") == "done"), key=lambda k: ledger[k].get("at", ""))
    drop = set(done[: len(ledger) - _LEDGER_MAX_ENTRIES])
    return {k: v for k, v in ledger.items() if k not in drop}


def _find_credit(customer: dict[str, Any], amount: Money, since: datetime) -> str | None:
    for account in m.nodes(customer.get("storeCreditAccounts")):
        for t in m.nodes(account.get("transactions")):
            if m.money(t["amount"]) == amount and m.dt(t["createdAt"]) >= since:
                return t.get("id") or account.get("id")
    return None


def _unprocessed(exchange_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exchange lines with a quantity still to process."""
    return [e for e in exchange_lines if int(e.get("processableQuantity") or 0) > 0]
