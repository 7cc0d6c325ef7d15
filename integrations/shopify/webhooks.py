"""Shopify webhook deliveries: signature, delivery id, and payload → `DomainEvent`.

A delivery is `base64(HMAC-SHA256(app client secret, raw body))` in
`X-Shopify-Hmac-Sha256`; there is no timestamp in the signed content. Bodies are the
topic's REST resource, unwrapped (returns/* have their own shape: see
reference/shopify/returns-webhook-payload-shapes.md). The event carries ids only (plus a
few strings in `detail` that exist only in the delivery, such as a decline reason); the
store's API stays the authority for amounts and history.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

from integrations.shopify.versions import VersionWatch, mismatch_note  # VersionWatch: for the route
from policy import models as _models  # noqa: F401  (first: policy.lifecycle resolves against it)
from policy.lifecycle import Disposition, DisposedLine, ReturnStage, StageUpdate, Tracking
from policy.models import DomainEvent, EventKind, utc

log = logging.getLogger(__name__)

SOURCE = "shopify"

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
API_VERSION_HEADER = "X-Shopify-API-Version"

TOPICS = (
    "returns/request",
    "returns/approve",
    "returns/decline",
    "returns/process",
    "returns/close",
    "returns/cancel",
    "returns/reopen",
    "reverse_deliveries/attach_deliverable",
    "reverse_fulfillment_orders/dispose",
    "refunds/create",
    "orders/create",
    "disputes/create",
    "disputes/update",
)


class MalformedWebhook(ValueError):
    """The payload lacks what its topic must carry (ids, mostly)."""


@dataclass(frozen=True)
class ReverseOwner:
    """The return a reverse delivery / reverse fulfillment order belongs to, as read from the
    store (reverse.ReverseLookup), and how that object's lines meet the return's lines."""

    return_id: str
    order_id: str | None = None
    # reverse fulfillment order line id → return line id (they meet at the fulfillment line)
    return_line_of: Mapping[str, str] = field(default_factory=dict)


# A reverse object's gid → its owner; None: the store does not know it (the delivery is ignored).
Resolve = Callable[[str], "ReverseOwner | None"]


class _Unknown(Exception):
    """The store does not know the reverse object a delivery names: nothing to record."""


_LOOKED_UP_LATER = "gid://shopify/Return/0"  # at the door only: the event is not kept


def _at_the_door(gid_: str) -> ReverseOwner | None:
    """Validation before the 200 does no I/O: the lookup happens when the delivery is decoded."""
    raise AssertionError("not called: _owner answers for the door itself")


# --- headers ----------------------------------------------------------------------------------


def header(headers: Any, name: str) -> str | None:
    """Case-insensitive header lookup on a plain mapping or anything with `.get`."""
    if headers is None:
        return None
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and hasattr(headers, "items"):
        lowered = name.lower()
        for key, candidate in headers.items():
            if str(key).lower() == lowered:
                value = candidate
                break
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def verify_hmac(secret: bytes, raw_body: bytes, header_value: str | None) -> bool:
    """True only for a well-formed base64 digest equal to HMAC-SHA256(secret, raw_body)."""
    if not secret or not header_value:
        return False
    try:
        given = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(given) != hashlib.sha256().digest_size:
        return False
    expected = hmac.new(secret, raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


def sign(secret: bytes, raw_body: bytes) -> str:
    """The header value Shopify would send (for tests and local tooling)."""
    return base64.b64encode(hmac.new(secret, raw_body, hashlib.sha256).digest()).decode("ascii")


def delivery_id(headers: Any) -> str | None:
    """The id to dedupe deliveries on: the event id where sent, else the webhook id."""
    return header(headers, EVENT_ID_HEADER) or header(headers, WEBHOOK_ID_HEADER)


def served_api_version(headers: Any) -> str | None:
    """The Admin API version Shopify rendered this delivery's payload with."""
    return header(headers, API_VERSION_HEADER)


def api_version_mismatch(headers: Any, expected: str | VersionWatch) -> str | None:
    """For the webhook route: "Shopify served 2026-07 instead of 2026-10 (…)" when the
    delivery's `X-Shopify-API-Version` differs from `expected`, else None.

    `expected` is the configured version, or a `VersionWatch` built with it (one per
    process), which also remembers the served version for health and logs a warning the
    first time each other version arrives. The delivery is still accepted: the bot takes
    only ids from a payload and reads everything else from the API, so a mismatch is
    reported, never a reason to reject."""
    served = served_api_version(headers)
    if isinstance(expected, VersionWatch):
        return expected.observe(served)
    return mismatch_note(served, expected)


def triggered_at(headers: Any) -> datetime | None:
    value = header(headers, TRIGGERED_AT_HEADER)
    try:
        return _datetime(value) if value else None
    except ValueError:
        return None


# --- payload → event --------------------------------------------------------------------------


def gid(kind: str, value: Any, what: str | None = None) -> str:
    """`gid://shopify/{kind}/{id}` from a numeric id (or pass a gid of that kind through)."""
    text = str(value).strip()
    if text.startswith(f"gid://shopify/{kind}/"):
        return text
    if not text.isdigit():
        raise MalformedWebhook(f"{what or kind}: {kind} id {value!r} is not numeric")
    return f"gid://shopify/{kind}/{text}"


def event_from_webhook(
    topic: str, payload: dict, *, triggered_at: datetime | None = None, resolve: Resolve | None = None
) -> DomainEvent | None:
    """The domain event a delivery stands for; None for topics returnsbot ignores.

    Raises MalformedWebhook (a ValueError) when the payload lacks the ids its topic needs.
    `triggered_at` (from X-Shopify-Triggered-At) is used as `occurred_at` when the body
    carries no time of its own. `resolve` finds the return of a reverse_* body that names
    none (or names only reverse-fulfillment lines); without it such a body is malformed.
    None as well when `resolve` says the store does not know the object (logged).
    """
    handler = _HANDLERS.get((topic or "").strip().lower())
    if handler is None:
        return None
    if not isinstance(payload, Mapping):
        raise MalformedWebhook(f"{topic}: expected a JSON object")
    if handler in _REVERSE_HANDLERS:
        try:
            return handler(payload, triggered_at, resolve)
        except _Unknown as exc:
            log.warning("shopify.webhook.ignored topic=%s: %s", topic, exc)
            return None
    return handler(payload, triggered_at)


def validate_webhook(topic: str, payload: dict) -> DomainEvent | None:
    """At the door (before the 200, no I/O): everything `event_from_webhook` checks, except
    that a reverse_* body may leave its return to be looked up when it is decoded."""
    return event_from_webhook(topic, payload, resolve=_at_the_door)


def decoder(resolve: Resolve | None) -> Callable[[str, dict], DomainEvent | None]:
    """The route's decoder (after the 200, in the inbox job), looking returns up with
    `resolve`. Its read failing raises (a retryable IntegrationError: the job retries)."""
    return lambda topic, payload: event_from_webhook(topic, payload, resolve=resolve)


def _return_event(kind: EventKind) -> Callable[[Mapping[str, Any], datetime | None], DomainEvent]:
    def build(p: Mapping[str, Any], at: datetime | None) -> DomainEvent:
        topic = _TOPIC_OF[kind]
        return_id = _resource_id(p, "Return", topic)
        order = p.get("order")
        order_id = None
        if isinstance(order, Mapping):
            order_id = _resource_id(order, "Order", f"{topic} order")
        elif p.get("order_id") is not None:
            order_id = gid("Order", p["order_id"], f"{topic} order_id")
        elif kind is not EventKind.RETURN_DECLINED:
            # returns/decline bodies carry only the return and its decline; the others name the order.
            raise MalformedWebhook(f"{topic}: payload has no order id")
        detail: dict[str, str] = {}
        _put(detail, "status", _upper(p.get("status")))
        _put(detail, "name", p.get("name"))
        _put(detail, "total_return_line_items", p.get("total_return_line_items"))
        decline = p.get("decline")
        if isinstance(decline, Mapping):
            _put(detail, "decline_reason", _upper(decline.get("reason")))
            _put(detail, "decline_note", decline.get("note"))
        return DomainEvent(
            source=SOURCE, kind=kind, resource_id=return_id, order_id=order_id, occurred_at=_utc_or_none(at), detail=detail
        )

    return build


# The note our own refunds carry (source._refund_marker of a job's key): a refund returnsbot
# made (or recorded after the processor refunded it) reported back is nothing new to decide,
# even when it arrives before the job's result names the refund.
_OUR_REFUND_NOTE = re.compile(r"\breturnsbot:returnsbot:[\w.-]+:case-\d+:\w+")


def _refund_created(p: Mapping[str, Any], at: datetime | None) -> DomainEvent | None:
    refund_id = _resource_id(p, "Refund", "refunds/create")
    if p.get("order_id") is None:
        raise MalformedWebhook("refunds/create: payload has no order_id")
    if isinstance(p.get("note"), str) and _OUR_REFUND_NOTE.search(p["note"]):
        log.info("shopify.webhook.own_refund_ignored refund_id=%s", refund_id)
        return None
    order_id = gid("Order", p["order_id"], "refunds/create order_id")
    detail: dict[str, str] = {}
    amount, currency = _refund_amount(p)
    _put(detail, "amount", amount)
    _put(detail, "currency", currency)
    _put(detail, "note", p.get("note"))
    ret = p.get("return")
    if isinstance(ret, Mapping):
        try:
            _put(detail, "return_id", _resource_id(ret, "Return", "refunds/create return"))
        except MalformedWebhook:
            pass
    occurred = _optional_datetime(p.get("created_at"), "refunds/create created_at") or at
    return DomainEvent(
        source=SOURCE,
        kind=EventKind.REFUND_CREATED,
        resource_id=refund_id,
        order_id=order_id,
        occurred_at=_utc_or_none(occurred),
        detail=detail,
    )


def _order_created(p: Mapping[str, Any], at: datetime | None) -> DomainEvent:
    order_id = _resource_id(p, "Order", "orders/create")
    detail: dict[str, str] = {}
    _put(detail, "name", p.get("name"))
    _put(detail, "currency", p.get("currency"))
    _put(detail, "total", p.get("current_total_price") or p.get("total_price"))
    _put(detail, "financial_status", _upper(p.get("financial_status")))
    customer = p.get("customer")
    if isinstance(customer, Mapping):
        try:
            _put(detail, "customer_id", _resource_id(customer, "Customer", "orders/create customer"))
        except MalformedWebhook:
            pass
    occurred = _optional_datetime(p.get("created_at"), "orders/create created_at") or at
    return DomainEvent(
        source=SOURCE,
        kind=EventKind.ORDER_CREATED,
        resource_id=order_id,
        order_id=order_id,
        occurred_at=_utc_or_none(occurred),
        detail=detail,
    )


def _dispute_updated(p: Mapping[str, Any], at: datetime | None) -> DomainEvent:
    """A Shopify Payments dispute moved (evidence sent, won, lost): the dispute case follows
    it; its status is read again from the store, not from this body."""
    dispute_id = _resource_id(p, "ShopifyPaymentsDispute", "disputes/update")
    order_id = gid("Order", p["order_id"], "disputes/update order_id") if p.get("order_id") is not None else None
    return DomainEvent(source=SOURCE, kind=EventKind.DISPUTE_UPDATED, resource_id=dispute_id, order_id=order_id,
                       occurred_at=_utc_or_none(at), detail={})


def _dispute_created(p: Mapping[str, Any], at: datetime | None) -> DomainEvent:
    dispute_id = _resource_id(p, "ShopifyPaymentsDispute", "disputes/create")
    order_id = gid("Order", p["order_id"], "disputes/create order_id") if p.get("order_id") is not None else None
    detail: dict[str, str] = {}
    _put(detail, "amount", p.get("amount"))
    _put(detail, "currency", _upper(p.get("currency")))
    _put(detail, "reason", _upper(p.get("reason")))
    _put(detail, "status", _upper(p.get("status")))
    _put(detail, "type", _upper(p.get("type")))
    _put(detail, "evidence_due_by", p.get("evidence_due_by"))
    occurred = _optional_datetime(p.get("initiated_at"), "disputes/create initiated_at") or at
    return DomainEvent(
        source=SOURCE,
        kind=EventKind.DISPUTE_CREATED,
        resource_id=dispute_id,
        order_id=order_id,
        occurred_at=_utc_or_none(occurred),
        detail=detail,
    )


# --- return lifecycle (issue 9) ----------------------------------------------------------------
# returns/approve stays one RETURN_APPROVED event (one topic → one event); the lifecycle records
# the APPROVED stage from it. The topics below become RETURN_STAGE events. Shopify documents no
# sample bodies for the reverse_* topics: they are read defensively as REST-style snake_case with
# admin_graphql_api_id, and the return id is looked for where such a body could carry it
# (docs/DECISIONS.md, "Return lifecycle webhooks").

_STAGE_OF_TOPIC = {
    "returns/process": ReturnStage.PROCESSED,
    "returns/close": ReturnStage.CLOSED,
    "returns/cancel": ReturnStage.CANCELLED,
    # a reopened return is open again: reported as APPROVED; the lifecycle treats a reopen as the one way back
    "returns/reopen": ReturnStage.APPROVED,
}


def _stage_event(
    topic: str, p: Mapping[str, Any], at: datetime | None, update: StageUpdate, order_id: str | None
) -> DomainEvent:
    detail: dict[str, str] = {"topic": topic}
    _put(detail, "status", _upper(p.get("status")))
    return DomainEvent(
        source=SOURCE,
        kind=EventKind.RETURN_STAGE,
        resource_id=update.return_id,
        order_id=order_id,
        occurred_at=_utc_or_none(at) or update.at,
        detail=detail,
        stage=update,
    )


def _order_of(p: Mapping[str, Any], topic: str) -> str | None:
    order = p.get("order")
    if isinstance(order, Mapping):
        return _resource_id(order, "Order", f"{topic} order")
    if p.get("order_id") is not None:
        return gid("Order", p["order_id"], f"{topic} order_id")
    return None


def _when(p: Mapping[str, Any], topic: str, at: datetime | None, *keys: str) -> datetime:
    for key in keys:
        found = _optional_datetime(p.get(key), f"{topic} {key}")
        if found is not None:
            return found
    if at is not None:
        return utc(at)
    raise MalformedWebhook(f"{topic}: payload has no time and the delivery no X-Shopify-Triggered-At")


def _return_status_event(topic: str) -> Callable[[Mapping[str, Any], datetime | None], DomainEvent]:
    stage = _STAGE_OF_TOPIC[topic]

    def build(p: Mapping[str, Any], at: datetime | None) -> DomainEvent:
        return_id = _resource_id(p, "Return", topic)
        order_id = _order_of(p, topic)
        when = _when(p, topic, at, "processed_at", "closed_at", "updated_at")
        # ref: the return plus the delivery's time, so a second close after a reopen is a new fact
        update = StageUpdate(
            return_id=return_id, stage=stage, at=when, source=SOURCE, ref=f"{return_id}@{when.isoformat()}",
            note=_text(p.get("note")), reopened=topic == "returns/reopen",
        )
        return _stage_event(topic, p, at, update, order_id)

    return build


def _owner(p: Mapping[str, Any], topic: str, object_id: str, resolve: Resolve | None, *,
           lines_need_lookup: bool = False) -> ReverseOwner:
    """The return (and order) a reverse_* body belongs to: named in the body, else looked up
    from the reverse object (`resolve`). Also looked up when the body's lines are reverse
    fulfillment order lines, which the case knows only as return lines."""
    try:
        named: str | None = _return_id_in(p, topic)
    except MalformedWebhook:
        if resolve is None:
            raise
        named = None
    order_id = _order_of(p, topic)
    if resolve is None or (named is not None and not lines_need_lookup):
        # without a lookup, reverse-fulfillment lines stay as they are
        return ReverseOwner(return_id=named, order_id=order_id)  # type: ignore[arg-type]  (named: not None here)
    if resolve is _at_the_door:
        return ReverseOwner(return_id=named or _LOOKED_UP_LATER, order_id=order_id)
    owner = resolve(object_id)
    if owner is None:
        raise _Unknown(f"Shopify does not know {object_id} or its return")
    return ReverseOwner(return_id=named or owner.return_id, order_id=order_id or owner.order_id,
                        return_line_of=owner.return_line_of)


def _return_id_in(p: Mapping[str, Any], topic: str) -> str:
    """The return a reverse_* body belongs to, wherever such a body could name it."""
    candidates: list[Any] = [p.get("return"), p.get("return_id")]
    for key in ("reverse_fulfillment_order", "reverse_delivery"):
        inner = p.get(key)
        if isinstance(inner, Mapping):
            candidates += [inner.get("return"), inner.get("return_id")]
            rfo = inner.get("reverse_fulfillment_order")
            if isinstance(rfo, Mapping):
                candidates += [rfo.get("return"), rfo.get("return_id")]
    for c in candidates:
        if isinstance(c, Mapping):
            return _resource_id(c, "Return", f"{topic} return")
        if c is not None and not isinstance(c, bool) and str(c).strip():
            return gid("Return", c, f"{topic} return_id")
    raise MalformedWebhook(f"{topic}: payload names no return")


def _label_attached(p: Mapping[str, Any], at: datetime | None, resolve: Resolve | None = None) -> DomainEvent:
    topic = "reverse_deliveries/attach_deliverable"
    delivery_id = _resource_id(p, "ReverseDelivery", topic)
    deliverable = p.get("deliverable") if isinstance(p.get("deliverable"), Mapping) else p
    tracking_in = deliverable.get("tracking") if isinstance(deliverable.get("tracking"), Mapping) else {}
    label_in = deliverable.get("label") if isinstance(deliverable.get("label"), Mapping) else {}
    tracking = Tracking(
        carrier=_text(tracking_in.get("carrier_name") or tracking_in.get("company")),
        number=_text(tracking_in.get("number") or tracking_in.get("tracking_number")),
        url=_text(tracking_in.get("url") or tracking_in.get("tracking_url")),
        label_url=_text(label_in.get("public_file_url") or label_in.get("url")),
    )
    if not any((tracking.carrier, tracking.number, tracking.url, tracking.label_url)):
        tracking = None
    when = _when(p, topic, at, "updated_at", "created_at")
    owner = _owner(p, topic, delivery_id, resolve)  # last: only a body that is otherwise sound costs a read
    update = StageUpdate(
        return_id=owner.return_id, stage=ReturnStage.LABEL_SENT, at=when, source=SOURCE, ref=delivery_id,
        tracking=tracking,
    )
    return _stage_event(topic, p, at, update, owner.order_id)


def _disposed(p: Mapping[str, Any], at: datetime | None, resolve: Resolve | None = None) -> DomainEvent:
    topic = "reverse_fulfillment_orders/dispose"
    rfo_id = _resource_id(p, "ReverseFulfillmentOrder", topic)
    lines: list[DisposedLine] = []
    raw_lines = p.get("line_items") or p.get("dispositions") or []
    if not isinstance(raw_lines, list):
        raise MalformedWebhook(f"{topic}: line_items is not a list")
    for item in raw_lines:
        if not isinstance(item, Mapping):
            raise MalformedWebhook(f"{topic}: a line is not an object")
        lines += _disposed_lines(item, topic)
    when = _when(p, topic, at, "updated_at", "created_at")
    rfo_lines = any("/ReverseFulfillmentOrderLineItem/" in d.return_line_id for d in lines)
    owner = _owner(p, topic, rfo_id, resolve, lines_need_lookup=rfo_lines)
    if owner.return_line_of:  # the case knows return lines; unmatched ones stay as they are
        lines = [d.model_copy(update={"return_line_id": owner.return_line_of.get(d.return_line_id, d.return_line_id)})
                 for d in lines]
    # ref: the RFO plus the disposed quantities, so a second, later disposal of the same RFO is a
    # new fact; with the lines as return lines it is the poller's ref for the same disposal
    ref = rfo_id + "#" + ",".join(f"{d.return_line_id}:{d.disposition}:{d.quantity}" for d in lines)
    update = StageUpdate(
        return_id=owner.return_id, stage=ReturnStage.RECEIVED, at=when, source=SOURCE, ref=ref[:255],
        dispositions=tuple(lines),
    )
    return _stage_event(topic, p, at, update, owner.order_id)


def _disposed_lines(item: Mapping[str, Any], topic: str) -> list[DisposedLine]:
    line = item.get("return_line_item") if isinstance(item.get("return_line_item"), Mapping) else None
    if line is not None:
        line_id = _resource_id(line, "ReturnLineItem", f"{topic} return_line_item")
    elif item.get("return_line_item_id") is not None:
        line_id = gid("ReturnLineItem", item["return_line_item_id"], f"{topic} return_line_item_id")
    else:
        # a reverse fulfillment order line: its own id stands for the line (the read resolves it)
        line_id = _resource_id(item, "ReverseFulfillmentOrderLineItem", f"{topic} line")
    dispositions = item.get("dispositions")
    if not isinstance(dispositions, list):
        dispositions = [item]
    out: list[DisposedLine] = []
    for d in dispositions:
        if not isinstance(d, Mapping):
            raise MalformedWebhook(f"{topic}: a disposition is not an object")
        kind = _upper(d.get("type") or d.get("disposition_type") or d.get("disposition"))
        if kind is None:
            continue  # a line not (yet) disposed
        try:
            disposition = Disposition(kind)
        except ValueError:
            raise MalformedWebhook(f"{topic}: unknown disposition {kind!r}") from None
        try:
            quantity = int(d.get("quantity"))
        except (TypeError, ValueError):
            raise MalformedWebhook(f"{topic}: disposition quantity {d.get('quantity')!r}") from None
        if quantity < 0:
            raise MalformedWebhook(f"{topic}: negative quantity")
        location = d.get("location")
        name = _text(location.get("name")) if isinstance(location, Mapping) else None
        out.append(DisposedLine(return_line_id=line_id, quantity=quantity, disposition=disposition, location=name))
    return out


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


_TOPIC_OF = {
    EventKind.RETURN_REQUESTED: "returns/request",
    EventKind.RETURN_APPROVED: "returns/approve",
    EventKind.RETURN_DECLINED: "returns/decline",
}

_HANDLERS: dict[str, Callable[..., DomainEvent]] = {
    "returns/request": _return_event(EventKind.RETURN_REQUESTED),
    "returns/approve": _return_event(EventKind.RETURN_APPROVED),
    "returns/decline": _return_event(EventKind.RETURN_DECLINED),
    "returns/process": _return_status_event("returns/process"),
    "returns/close": _return_status_event("returns/close"),
    "returns/cancel": _return_status_event("returns/cancel"),
    "returns/reopen": _return_status_event("returns/reopen"),
    "reverse_deliveries/attach_deliverable": _label_attached,
    "reverse_fulfillment_orders/dispose": _disposed,
    "refunds/create": _refund_created,
    "orders/create": _order_created,
    "disputes/create": _dispute_created,
    "disputes/update": _dispute_updated,
}
_REVERSE_HANDLERS = (_label_attached, _disposed)  # these take `resolve` too


# --- helpers ----------------------------------------------------------------------------------


def _resource_id(p: Mapping[str, Any], kind: str, what: str) -> str:
    api_id = p.get("admin_graphql_api_id")
    if isinstance(api_id, str) and api_id.startswith(f"gid://shopify/{kind}/"):
        return api_id
    raw = p.get("id")
    if raw is None or isinstance(raw, bool) or str(raw).strip() == "":
        raise MalformedWebhook(f"{what}: payload has no id")
    return gid(kind, raw, what)


def _refund_amount(p: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Sum of the successful refund transactions in a REST refund body."""
    transactions = p.get("transactions")
    if not isinstance(transactions, list):
        return None, None
    total = Decimal(0)
    currency = None
    seen = False
    for t in transactions:
        if not isinstance(t, Mapping):
            continue
        if str(t.get("kind", "")).lower() != "refund" or str(t.get("status", "")).lower() != "success":
            continue
        try:
            total += Decimal(str(t.get("amount")))
        except (InvalidOperation, ValueError):
            continue
        seen = True
        currency = currency or _upper(t.get("currency"))
    return (str(total) if seen else None), currency


def _put(detail: dict[str, str], key: str, value: Any) -> None:
    if value is None or value == "":
        return
    detail[key] = str(value)


def _upper(value: Any) -> str | None:
    return str(value).upper() if value not in (None, "") else None


def _datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return utc(parsed)


def _optional_datetime(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return _datetime(str(value))
    except ValueError:
        raise MalformedWebhook(f"{what}: not an ISO 8601 time with an offset: {value!r}") from None


def _utc_or_none(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return utc(value)
    except ValueError:
        return None
