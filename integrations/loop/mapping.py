"""Loop's return object → `LoopReturn` (this connector's view) → the domain's ReturnRequest.

Lenient on purpose (Loop: "unknown or extra fields … must not cause failures"): ids arrive
as strings or integers, money as strings, `needs review` and `review` are one state, and
extra fields are ignored. What cannot be read (no id, no lines, a price that is not a
number) is a ValueError: the poller parks it, the webhook's job reports it.

Every Loop field name is read here (webhooks.py reads the envelope: topic, trigger, id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from policy.models import Money, ReturnLineItem, ReturnOutcome, ReturnRequest, ReturnStatus

SOURCE = "loop"
LABEL = "Loop"  # how people call it (the connector and the cards)
EXTERNAL_PREFIX = "loop:"  # a case's external id: "loop:12345" (the return id, never a Shopify gid)
ORDER_GID = "gid://shopify/Order/{}"
LINE_ITEM_GID = "gid://shopify/LineItem/{}"
# Loop's merchant admin page of a return. The reference gives no admin URL; this is the
# shape Loop's admin uses for a return (admin.loopreturns.com/returns/<id>): a choice,
# recorded in docs/DECISIONS.md, kept in this one place.
ADMIN_URL = "https://admin.loopreturns.com/returns/{}"
NOT_ASSIGNED = "N/A"  # Loop's carrier / tracking number / label status before a label exists


class LoopState(StrEnum):
    OPEN = "open"
    REVIEW = "review"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


_STATES = {"open": LoopState.OPEN, "review": LoopState.REVIEW, "needs review": LoopState.REVIEW,
           "needs_review": LoopState.REVIEW, "closed": LoopState.CLOSED, "cancelled": LoopState.CANCELLED,
           "canceled": LoopState.CANCELLED, "expired": LoopState.EXPIRED}

# Loop's states as the domain's return status: an open Loop return is one Loop accepted.
_STATUS = {LoopState.OPEN: ReturnStatus.APPROVED, LoopState.REVIEW: ReturnStatus.REQUESTED,
           LoopState.CLOSED: ReturnStatus.CLOSED, LoopState.CANCELLED: ReturnStatus.CANCELED,
           LoopState.EXPIRED: ReturnStatus.CLOSED}

# A line's `outcome` when it names one (the api-evangelist schema's enum, and keep-item).
_OUTCOMES = {"refund": ReturnOutcome.REFUND, "exchange": ReturnOutcome.EXCHANGE,
             "store_credit": ReturnOutcome.STORE_CREDIT, "gift_card": ReturnOutcome.STORE_CREDIT,
             "giftcard": ReturnOutcome.STORE_CREDIT, "credit": ReturnOutcome.STORE_CREDIT,
             "keep": ReturnOutcome.KEEP, "keep_item": ReturnOutcome.KEEP, "keep item": ReturnOutcome.KEEP}

# Loop's reasons are the shop's own words ("Too small", under "Didn't fit"): the domain's
# reason codes where the words clearly say one, OTHER else (the words stay in reason_note).
_REASON_WORDS = ((r"too small|too tight|runs small", "SIZE_TOO_SMALL"),
                 (r"too (large|big|loose)|runs (large|big)", "SIZE_TOO_LARGE"),
                 (r"defect|damag|broken|faulty", "DEFECTIVE"), (r"wrong item|incorrect item", "WRONG_ITEM"),
                 (r"not as described|different from", "NOT_AS_DESCRIBED"), (r"colou?r", "COLOR"),
                 (r"changed? (my )?mind|no longer (need|want)|unwanted|don'?t (like|want)", "UNWANTED"),
                 (r"\bstyle\b", "STYLE"))


@dataclass(frozen=True)
class LoopLine:
    line_item_id: str  # Loop's
    provider_line_item_id: str  # Shopify's LineItem id
    title: str
    sku: str | None
    price: Money
    discount: Money
    tax: Money
    refund: Money
    outcome: ReturnOutcome
    exchange_title: str | None = None  # EXCHANGE: the variant chosen
    exchange_variant_id: str | None = None
    reason: str | None = None
    parent_reason: str | None = None
    comment: str | None = None
    quantity: int = 1  # a Loop line is one unit unless it says otherwise


@dataclass(frozen=True)
class LoopLabel:
    status: str | None  # pre_transit, in_transit, … (EasyPost's words), None before a label
    carrier: str | None
    tracking_number: str | None
    url: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class LoopReturn:
    id: str
    state: LoopState
    flagged: bool
    created_at: datetime
    updated_at: datetime | None
    currency: str
    provider_order_id: str  # the Shopify order id
    order_name: str | None
    customer_email: str | None
    lines: tuple[LoopLine, ...]
    totals: dict[str, Money]  # return_total, refund, gift_card, exchange_total, handling_fee, upsell, …
    label: LoopLabel
    status_page_url: str | None
    refunds: tuple[Money, ...] = ()
    exchange_order_id: str | None = None
    gift_card_order_id: str | None = None
    raw_keys: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def external_id(self) -> str:
        return external_id(self.id)

    @property
    def order_gid(self) -> str:
        return ORDER_GID.format(self.provider_order_id)

    @property
    def admin_url(self) -> str:
        return admin_url(self.id)

    @property
    def fulfilled(self) -> bool:
        """Outcomes were carried out (a refund made, an exchange order or gift card placed):
        a closed return was processed, not closed without them."""
        return bool(self.refunds or self.exchange_order_id or self.gift_card_order_id)


def external_id(return_id: str | int) -> str:
    return f"{EXTERNAL_PREFIX}{return_id}"


def return_id_of(external: str) -> str:
    """"loop:12345" → "12345" (a bare id passes)."""
    text = external.removeprefix(EXTERNAL_PREFIX)
    if not text.isdigit():
        raise ValueError(f"not a Loop return id: {external!r}")
    return text


def admin_url(return_id: str | int) -> str:
    return ADMIN_URL.format(str(return_id).removeprefix(EXTERNAL_PREFIX))


# --- readers -------------------------------------------------------------------------------


def _id(value: Any, what: str, *, required: bool = True) -> str | None:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{what} is required")
        return None
    if isinstance(value, float):  # JSON numbers that lost their integer-ness: refuse to guess
        raise ValueError(f"{what}: {value!r} is not an id")
    text = str(value).strip()
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1]
    if not text.isdigit():
        raise ValueError(f"{what}: {value!r} is not a numeric id")
    return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text != NOT_ASSIGNED else None


def _money(value: Any, currency: str, what: str) -> Money:
    if value is None or value == "":
        return Money(amount=Decimal("0.00"), currency=currency)
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{what}: {value!r} is not a money string")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{what}: {value!r} is not an amount")
    return Money(amount=amount, currency=currency)


def _time(value: Any, what: str, *, required: bool = False) -> datetime | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{what} is required")
        return None
    text = str(value).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a time") from None
    # Loop's "2023-05-01 12:00:00" (no zone) is UTC, as its API's list filter reads it.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def state_of(value: Any) -> LoopState:
    text = str(value or "").strip().lower()
    if text not in _STATES:
        raise ValueError(f"unknown Loop return state {value!r}")
    return _STATES[text]


def _line(node: Any, currency: str, exchange: dict | None, totals: dict[str, Money], index: int) -> LoopLine:
    if not isinstance(node, dict):
        raise ValueError(f"line_items[{index}] is not an object")
    what = f"line_items[{index}]"
    outcome_text = str(node.get("outcome") or "").strip().lower()
    chosen = _text(node.get("exchange_variant"))
    if outcome_text in _OUTCOMES:
        outcome = _OUTCOMES[outcome_text]
    elif chosen or exchange is not None:
        outcome = ReturnOutcome.EXCHANGE
    else:  # "default": the return's totals say what the customer chose
        outcome = _outcome_from_totals(totals)
    quantity = node.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, (int, str)) or not str(quantity).isdigit() \
            or int(quantity) < 1:
        raise ValueError(f"{what}.quantity: {quantity!r} is not a positive count")
    return LoopLine(
        line_item_id=_id(node.get("line_item_id") or node.get("id"), f"{what}.line_item_id"),
        provider_line_item_id=_id(node.get("provider_line_item_id"), f"{what}.provider_line_item_id"),
        title=_text(node.get("title")) or "(untitled item)", sku=_text(node.get("sku")),
        price=_money(node.get("price"), currency, f"{what}.price"),
        discount=_money(node.get("discount"), currency, f"{what}.discount"),
        tax=_money(node.get("tax"), currency, f"{what}.tax"),
        refund=_money(node.get("refund"), currency, f"{what}.refund"),
        outcome=outcome,
        exchange_title=(chosen or _text((exchange or {}).get("title"))) if outcome is ReturnOutcome.EXCHANGE else None,
        exchange_variant_id=_id((exchange or {}).get("variant_id"), f"{what} exchange variant_id", required=False)
        if outcome is ReturnOutcome.EXCHANGE else None,
        reason=_text(node.get("return_reason")), parent_reason=_text(node.get("parent_return_reason")),
        comment=_text(node.get("return_comment")), quantity=int(quantity),
    )


def _outcome_from_totals(totals: dict[str, Money]) -> ReturnOutcome:
    """No outcome on the line: exchange_total > 0 → exchange, gift_card > 0 → store credit,
    else refund (reference: "There is no top-level return outcome field")."""
    zero = Decimal(0)
    if totals["exchange_total"].amount > zero:
        return ReturnOutcome.EXCHANGE
    if totals["gift_card"].amount > zero and totals["refund"].amount <= zero:
        return ReturnOutcome.STORE_CREDIT
    return ReturnOutcome.REFUND


TOTALS = ("total", "return_product_total", "return_discount_total", "return_tax_total", "return_total",
          "return_credit_total", "exchange_product_total", "exchange_discount_total", "exchange_tax_total",
          "exchange_total", "exchange_credit_total", "gift_card", "handling_fee", "refund", "upsell")


def loop_return(body: Any) -> LoopReturn:
    """A return object from `/warehouse/return/details`, the list, or a webhook body."""
    if not isinstance(body, dict):
        raise ValueError("a Loop return is a JSON object")
    return_id = _id(body.get("id"), "id")
    currency = str(body.get("currency") or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency: {body.get('currency')!r} is not a currency code")
    totals = {k: _money(body.get(k), currency, k) for k in TOTALS}
    exchanges = [e for e in (body.get("exchanges") or []) if isinstance(e, dict)]
    nodes = body.get("line_items")
    if not isinstance(nodes, list) or not nodes:
        raise ValueError("line_items: a return has at least one line")
    # Exchanges pair with the lines that ask for one, in order (Loop links them by nothing else).
    asking = [i for i, n in enumerate(nodes) if isinstance(n, dict) and (
        _text(n.get("exchange_variant")) or str(n.get("outcome") or "").lower() == "exchange")]
    paired = dict(zip(asking, exchanges))
    lines = tuple(_line(n, currency, paired.get(i), totals, i) for i, n in enumerate(nodes))
    labels = [lb for lb in (body.get("labels") or []) if isinstance(lb, dict)]
    newest = labels[-1] if labels else {}
    label = LoopLabel(
        status=_text(body.get("label_status")) or _text(newest.get("status")),
        carrier=_text(body.get("carrier")) or _text(newest.get("carrier")),
        tracking_number=_text(body.get("tracking_number")) or _text(newest.get("tracking_number")),
        url=_text(newest.get("url")),
        updated_at=_time(body.get("label_updated_at") or newest.get("updated_at"), "label_updated_at"))
    refunds = tuple(_money(r.get("amount"), str(r.get("currency") or currency).upper(), "refunds[].amount")
                    for r in (body.get("refunds") or []) if isinstance(r, dict))
    customer = body.get("customer_detail") if isinstance(body.get("customer_detail"), dict) else {}
    return LoopReturn(
        id=return_id, state=state_of(body.get("state")),
        flagged=body.get("flagged") is True or body.get("is_flagged") is True,
        created_at=_time(body.get("created_at"), "created_at", required=True),
        updated_at=_time(body.get("updated_at") or body.get("edited_at"), "updated_at"),
        currency=currency, provider_order_id=_id(body.get("provider_order_id"), "provider_order_id"),
        order_name=_text(body.get("order_name")),
        customer_email=_text(customer.get("email")) or _text(body.get("customer")),
        lines=lines, totals=totals, label=label, status_page_url=_text(body.get("status_page_url")),
        refunds=refunds,
        exchange_order_id=_id(body.get("exchange_order_id"), "exchange_order_id", required=False),
        gift_card_order_id=_id(body.get("gift_card_order_id"), "gift_card_order_id", required=False),
        raw_keys=frozenset(body),
    )


def reason_code(line: LoopLine) -> str:
    words = " ".join(filter(None, (line.reason, line.parent_reason))).lower()
    return next((code for pattern, code in _REASON_WORDS if re.search(pattern, words)), "OTHER")


def return_request(ret: LoopReturn) -> ReturnRequest:
    """The domain's return: id "loop:<id>", the Shopify order gid, and lines keyed by the
    Shopify LineItem gid with their quantities, so the same return reported by Shopify
    correlates into the same case. Loop lists one line per unit; units of one Shopify line
    with the same outcome become one line with their quantity."""
    grouped: dict[tuple[str, ReturnOutcome, str | None], list[LoopLine]] = {}
    for line in ret.lines:
        grouped.setdefault((line.provider_line_item_id, line.outcome, line.exchange_title), []).append(line)
    items = []
    for (provider_id, outcome, exchange_for), units in grouped.items():
        first = units[0]
        reason_note = " / ".join(filter(None, (first.parent_reason, first.reason))) or None
        items.append(ReturnLineItem(
            id=first.line_item_id, line_item_id=LINE_ITEM_GID.format(provider_id), title=first.title, sku=first.sku,
            quantity=sum(u.quantity for u in units), unit_price=first.price - first.discount,
            reason=reason_code(first), reason_note=reason_note, customer_note=first.comment,
            requested_outcome=outcome, exchange_for=exchange_for))
    return ReturnRequest(id=ret.external_id, name=f"{ret.order_name} (Loop {ret.id})" if ret.order_name else None,
                         order_id=ret.order_gid, status=_STATUS[ret.state], requested_at=ret.created_at,
                         line_items=tuple(items), status_page_url=ret.status_page_url)


def loop_facts(ret: LoopReturn) -> dict[str, Any]:
    """What the case keeps of Loop's own view (DomainEvent.detail["loop"], as JSON)."""
    return {"state": ret.state.value, "flagged": ret.flagged, "status_page_url": ret.status_page_url,
            "admin_url": ret.admin_url}
