"""Shopify Admin GraphQL JSON (as selected in `documents.py`) → `policy.models`.

Money is the shop's currency (`shopMoney`), as a Decimal; times are aware UTC. This
module and `documents.py` are the only places that know Shopify's field names.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from policy.disputes import EvidenceField
from policy.models import (
    Address,
    Customer,
    DeliveryStatus,
    Dispute,
    DisputeStatus,
    LineItem,
    Money,
    Order,
    OrderFacts,
    PastReturn,
    PaymentRisk,
    Refund,
    ReturnLineItem,
    ReturnRequest,
    ReturnStatus,
    RiskLevel,
    Shipment,
    utc,
)

SOURCE = "shopify"

Node = Mapping[str, Any]


# --- scalars ----------------------------------------------------------------------------------


def money(value: Node | None) -> Money:
    """A `MoneyBag` (its shopMoney) or a `MoneyV2`."""
    if value is None:
        raise ValueError("expected a money value, got null")
    if "shopMoney" in value:
        value = value["shopMoney"]
    return Money(amount=Decimal(str(value["amount"])), currency=str(value["currencyCode"]))


def presentment(value: Node | None) -> Money | None:
    """A `MoneyBag`'s presentment side — what the customer was charged, in the currency they
    paid in — when it differs from the shop's; None for a one-currency order."""
    if not value or not value.get("presentmentMoney") or "shopMoney" not in value:
        return None
    charged = money(value["presentmentMoney"])
    return charged if charged.currency != money(value).currency else None


def optional_money(value: Node | None) -> Money | None:
    return money(value) if value is not None else None


def dt(value: str) -> datetime:
    """Shopify `DateTime` (ISO 8601, usually with `Z`) or `Date` (midnight UTC)."""
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None and len(text) == 10:  # a Date: "2025-01-31"
        parsed = parsed.replace(tzinfo=timezone.utc)
    return utc(parsed)


def optional_dt(value: str | None) -> datetime | None:
    return dt(value) if value else None


def iso(value: datetime) -> str:
    """Aware datetime → Shopify's search/DateTime form, e.g. 2025-01-31T12:00:00Z."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def nodes(connection: Node | list | None) -> list[Node]:
    """Items of a connection (`nodes` or `edges { node }`) or of a plain list."""
    if connection is None:
        return []
    if isinstance(connection, list):
        return [n for n in connection if n is not None]
    if connection.get("nodes") is not None:
        return [n for n in connection["nodes"] if n is not None]
    return [e["node"] for e in connection.get("edges") or [] if e and e.get("node") is not None]


def page_info(connection: Node | None) -> tuple[bool, str | None]:
    info = (connection or {}).get("pageInfo") or {}
    return bool(info.get("hasNextPage")), info.get("endCursor")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value)
    return value if value.strip() else None


def _id(node: Node | None) -> str | None:
    return node.get("id") if node else None


# --- orders -----------------------------------------------------------------------------------


def line_item(node: Node) -> LineItem:
    product = node.get("product") or {}
    return LineItem(
        id=node["id"],
        title=node.get("title") or "",
        sku=_text(node.get("sku")),
        variant_title=_text(node.get("variantTitle")),
        quantity=int(node.get("quantity") or 0),
        unit_price=money(node["discountedUnitPriceAfterAllDiscountsSet"]),
        presentment_unit_price=presentment(node["discountedUnitPriceAfterAllDiscountsSet"]),
        product_tags=tuple(product.get("tags") or ()),
    )


_DELIVERED = {"DELIVERED", "PICKED_UP"}
_FAILED = {"FAILURE", "NOT_DELIVERED"}
_NOT_SHIPPED = {"CANCELED", "LABEL_VOIDED", "LABEL_PRINTED", "LABEL_PURCHASED", "SUBMITTED"}
_MOVING = {
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "ATTEMPTED_DELIVERY",
    "DELAYED",
    "CONFIRMED",
    "FULFILLED",
    "MARKED_AS_FULFILLED",
    "READY_FOR_PICKUP",
}


def delivery_status(display_status: str | None, status: str | None, delivered_at: str | None) -> DeliveryStatus:
    if delivered_at or display_status in _DELIVERED:
        return DeliveryStatus.DELIVERED
    if display_status in _FAILED:
        return DeliveryStatus.FAILED
    if display_status in _NOT_SHIPPED:
        return DeliveryStatus.UNFULFILLED
    if display_status in _MOVING:
        return DeliveryStatus.IN_TRANSIT
    if status in ("CANCELLED",):
        return DeliveryStatus.UNFULFILLED
    if status in ("FAILURE", "ERROR"):
        return DeliveryStatus.FAILED
    if status == "SUCCESS":
        return DeliveryStatus.IN_TRANSIT
    return DeliveryStatus.UNKNOWN


def shipment(node: Node) -> Shipment:
    tracking = (node.get("trackingInfo") or [None])[0] or {}
    return Shipment(
        id=node["id"],
        status=delivery_status(node.get("displayStatus"), node.get("status"), node.get("deliveredAt")),
        carrier=_text(tracking.get("company")),
        tracking_number=_text(tracking.get("number")),
        tracking_url=_text(tracking.get("url")),
        shipped_at=optional_dt(node.get("inTransitAt")) or optional_dt(node.get("createdAt")),
        delivered_at=optional_dt(node.get("deliveredAt")),
        estimated_delivery_at=optional_dt(node.get("estimatedDeliveryAt")),
        source=SOURCE,
    )


_RISK_RANK = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
_SENTIMENT_RANK = {"NEGATIVE": 0, "NEUTRAL": 1, "POSITIVE": 2}


def risk(node: Node | None) -> PaymentRisk | None:
    """The highest assessed level (PENDING assessments are not a verdict yet)."""
    if not node:
        return None
    assessments = [a for a in node.get("assessments") or [] if a.get("riskLevel") in _RISK_RANK]
    if not assessments:
        return None
    worst = max(assessments, key=lambda a: _RISK_RANK[a["riskLevel"]])
    facts = sorted(
        (f for a in assessments for f in a.get("facts") or [] if f.get("description")),
        key=lambda f: _SENTIMENT_RANK.get(f.get("sentiment"), 1),
    )
    seen: list[str] = []
    for f in facts:
        if f["description"] not in seen:
            seen.append(f["description"])
    return PaymentRisk(source=SOURCE, level=RiskLevel(worst["riskLevel"]), score=None, facts=tuple(seen))


def refund(node: Node, order_id: str) -> Refund:
    created = node.get("createdAt") or node.get("updatedAt")
    if not created:
        raise ValueError(f"refund {node.get('id')} has no time")
    return Refund(
        id=node["id"],
        order_id=order_id,
        created_at=dt(created),
        amount=money(node["totalRefundedSet"]),
        note=_text(node.get("note")),
    )


def order(node: Node, line_item_nodes: Iterable[Node] | None = None) -> Order:
    """`line_item_nodes`: every line item when the caller paged past the first page."""
    items = list(line_item_nodes) if line_item_nodes is not None else nodes(node.get("lineItems"))
    currency = node["currencyCode"]
    return Order(
        id=node["id"],
        name=node["name"],
        created_at=dt(node["createdAt"]),
        currency=currency,
        total=money(node["currentTotalPriceSet"]),
        presentment_total=presentment(node["currentTotalPriceSet"]),
        received=money(node["totalReceivedSet"]),
        refunded=money(node["totalRefundedSet"]),
        financial_status=node.get("displayFinancialStatus"),
        fulfillment_status=node.get("displayFulfillmentStatus"),
        customer_id=_id(node.get("customer")),
        email=_text(node.get("email")),
        tags=tuple(node.get("tags") or ()),
        line_items=tuple(line_item(li) for li in items),
        shipments=tuple(shipment(f) for f in node.get("fulfillments") or []),
        refunds=tuple(refund(r, node["id"]) for r in node.get("refunds") or []),
        risk=risk(node.get("risk")),
        cancelled_at=optional_dt(node.get("cancelledAt")),
    )


# --- customers --------------------------------------------------------------------------------


def customer(node: Node) -> Customer:
    address = node.get("defaultEmailAddress") or {}
    return Customer(
        id=node["id"],
        display_name=node.get("displayName") or "",
        email=_text(address.get("emailAddress")),
        tags=tuple(node.get("tags") or ()),
        orders_count=int(node.get("numberOfOrders") or 0),  # UnsignedInt64 arrives as a string
        lifetime_spend=money(node["amountSpent"]),
        created_at=optional_dt(node.get("createdAt")),
    )


# --- returns ----------------------------------------------------------------------------------


# Shopify Payments' DisputeStatus → ours (an unknown new status is treated as still open).
_DISPUTE_STATUS = {"NEEDS_RESPONSE": DisputeStatus.NEEDS_RESPONSE, "UNDER_REVIEW": DisputeStatus.UNDER_REVIEW,
                   "ACCEPTED": DisputeStatus.ACCEPTED, "CHARGE_REFUNDED": DisputeStatus.REFUNDED,
                   "WON": DisputeStatus.WON, "LOST": DisputeStatus.LOST}

# Shopify's ReturnStatus → ours (Shopify calls an approved, in-progress return OPEN).
_RETURN_STATUS = {"REQUESTED": ReturnStatus.REQUESTED, "OPEN": ReturnStatus.APPROVED,
                  "DECLINED": ReturnStatus.DECLINED, "CLOSED": ReturnStatus.CLOSED,
                  "CANCELED": ReturnStatus.CANCELED}


def return_status(value: str) -> ReturnStatus:
    try:
        return _RETURN_STATUS[str(value).upper()]
    except KeyError:
        raise ValueError(f"unknown Shopify return status {value!r}") from None


# Shopify's ReturnReason enum, deprecated in 2026-01 for return reason definitions. Its
# values stay the domain's reason codes (the policy's exchange reasons, signals and the
# digest speak them), so a definition maps onto one where it means the same.
LEGACY_REASONS = frozenset({
    "COLOR", "DEFECTIVE", "NOT_AS_DESCRIBED", "OTHER", "SIZE_TOO_LARGE", "SIZE_TOO_SMALL",
    "STYLE", "UNKNOWN", "UNWANTED", "WRONG_ITEM",
})

# Definition handles that correspond to a legacy reason. Shopify publishes no list of
# handles; its docs give "arrived-late", "comfort", "too-tight", "color-too-bright" and
# "quality" as examples. A handle spelling a legacy value ("size-too-small") maps to it by
# rule; the table adds the plain-language ones that mean the same. Every other handle
# passes through as itself (lower-case, hyphenated, so it can't collide with a legacy code).
_REASON_FOR_HANDLE = {
    "too-small": "SIZE_TOO_SMALL",
    "too-tight": "SIZE_TOO_SMALL",
    "too-large": "SIZE_TOO_LARGE",
    "too-big": "SIZE_TOO_LARGE",
    "too-loose": "SIZE_TOO_LARGE",
    "damaged": "DEFECTIVE",
    "damaged-or-defective": "DEFECTIVE",
    "changed-my-mind": "UNWANTED",
    "changed-mind": "UNWANTED",
    "no-longer-needed": "UNWANTED",
    "received-wrong-item": "WRONG_ITEM",
}


def reason_code(node: Node) -> str:
    """A return line's reason as a domain code: from `returnReasonDefinition.handle`, and
    only when a line has no definition from the deprecated `returnReason` enum."""
    definition = node.get("returnReasonDefinition")
    handle = str((definition or {}).get("handle") or "").strip().lower()
    if handle:
        legacy = handle.upper().replace("-", "_")
        if legacy in LEGACY_REASONS:
            return legacy
        return _REASON_FOR_HANDLE.get(handle, handle)
    return str(node.get("returnReason") or "UNKNOWN").upper()


def return_line_item(node: Node) -> ReturnLineItem:
    fli = node.get("fulfillmentLineItem")
    if fli and fli.get("lineItem"):
        li = fli["lineItem"]
        product = li.get("product") or {}
        line_item_id = li["id"]
        title = li.get("title") or ""
        sku = _text(li.get("sku"))
        unit_price = money(li["discountedUnitPriceAfterAllDiscountsSet"])
        charged = presentment(li["discountedUnitPriceAfterAllDiscountsSet"])
        tags = tuple(product.get("tags") or ())
    elif node.get("unitPrice"):
        # UnverifiedReturnLineItem: not tied to a fulfilled line item.
        line_item_id, title, sku, tags = node["id"], "Unverified item", None, ()
        unit_price, charged = money(node["unitPrice"]), presentment(node["unitPrice"])
    else:
        raise ValueError(f"return line item {node.get('id')} has neither a line item nor a unit price")
    return ReturnLineItem(
        id=node["id"],
        line_item_id=line_item_id,
        title=title,
        sku=sku,
        quantity=int(node["quantity"]),
        unit_price=unit_price,
        presentment_unit_price=charged,
        reason=reason_code(node),
        reason_note=_text(node.get("returnReasonNote")),
        customer_note=_text(node.get("customerNote")),
        product_tags=tags,
    )


def return_request(node: Node, *, line_item_nodes: Iterable[Node] | None = None) -> ReturnRequest:
    """`line_item_nodes`: every line when the caller paged past the first page. The
    request time is `Return.createdAt` (when the customer asked, or staff created it)."""
    items = list(line_item_nodes) if line_item_nodes is not None else nodes(node.get("returnLineItems"))
    order_id = _id(node.get("order"))
    if not order_id:
        raise ValueError(f"return {node.get('id')} names no order")
    return ReturnRequest(
        id=node["id"],
        name=_text(node.get("name")),
        order_id=order_id,
        status=return_status(node["status"]),
        requested_at=dt(node["createdAt"]),
        line_items=tuple(return_line_item(li) for li in items),
    )


def past_return(r: ReturnRequest) -> PastReturn:
    return PastReturn(return_id=r.id, order_id=r.order_id, requested_at=r.requested_at, amount=r.amount, status=r.status)


# --- disputes ---------------------------------------------------------------------------------


def dispute(node: Node) -> Dispute:
    reason = (node.get("reasonDetails") or {}).get("reason")
    return Dispute(
        id=node["id"],
        order_id=_id(node.get("order")),
        status=_DISPUTE_STATUS.get(str(node["status"]).upper(), DisputeStatus.UNDER_REVIEW),
        reason=_text(reason),
        amount=money(node["amount"]),
        initiated_at=dt(node["initiatedAt"]),
        evidence_due_by=optional_dt(node.get("evidenceDueBy")),
        network_reason_code=_text((node.get("reasonDetails") or {}).get("networkReasonCode")),
    )


def _address(node: Node | None) -> Address | None:
    if not node:
        return None
    return Address(name=_text(node.get("name")), line1=_text(node.get("address1")), line2=_text(node.get("address2")),
                   city=_text(node.get("city")), province=_text(node.get("province")), zip=_text(node.get("zip")),
                   country_code=_text(node.get("countryCodeV2")))


def order_facts(node: Node) -> OrderFacts:
    return OrderFacts(client_ip=_text(node.get("clientIp")), billing_address=_address(node.get("billingAddress")),
                      shipping_address=_address(node.get("shippingAddress")),
                      billing_matches_shipping=node.get("billingAddressMatchesShippingAddress"))


# Our evidence terms → ShopifyPaymentsDisputeEvidenceUpdateInput's text fields. Shopify
# attaches the fulfilments (carrier, tracking) and the purchase IP itself; what it has no
# field for is in the summary (uncategorizedText).
_EVIDENCE_INPUT = {
    EvidenceField.CUSTOMER_EMAIL: "customerEmailAddress", EvidenceField.REFUND_POLICY: "refundPolicyDisclosure",
    EvidenceField.CANCELLATION_POLICY: "cancellationPolicyDisclosure",
    EvidenceField.REFUND_REFUSAL: "refundRefusalExplanation", EvidenceField.SUMMARY: "uncategorizedText",
}


def evidence_input(evidence: dict[str, str]) -> dict[str, Any]:
    """Our evidence as Shopify's dispute evidence input, submitted (`submitEvidence`)."""
    out: dict[str, Any] = {_EVIDENCE_INPUT[EvidenceField(k)]: v for k, v in evidence.items()
                           if v and EvidenceField(k) in _EVIDENCE_INPUT}
    name = evidence.get(EvidenceField.CUSTOMER_NAME.value)
    if name:
        first, _, last = name.strip().partition(" ")
        out["customerFirstName"] = first
        if last:
            out["customerLastName"] = last
    out["submitEvidence"] = True
    return out


def payment_references(order: dict) -> list:
    """The order's SALE/AUTHORIZATION/CAPTURE transactions' gateway with the payment id and
    the receipt's top-level string values (gateway-specific, so nothing is assumed of it).
    A successful one on a manual gateway (`manualPaymentGateway`: Shopify processed nothing,
    it only records the payment) is `store_processed=False`: the money is elsewhere."""
    import json as _json

    from policy.payments import PaymentReference

    out = []
    for tx in order.get("transactions") or []:
        if tx.get("kind") not in ("SALE", "AUTHORIZATION", "CAPTURE") or not tx.get("gateway"):
            continue
        values = [tx.get("paymentId")]
        receipt = tx.get("receiptJson")
        if isinstance(receipt, str):
            try:
                receipt = _json.loads(receipt)
            except ValueError:
                receipt = None
        if isinstance(receipt, dict):
            values += [v for v in receipt.values() if isinstance(v, str)]
        recorded_only = bool(tx.get("manualPaymentGateway")) and tx.get("status") == "SUCCESS" \
            and tx.get("kind") in ("SALE", "CAPTURE")
        for value in dict.fromkeys(v for v in values if isinstance(v, str) and v and len(v) <= 255):
            out.append(PaymentReference(gateway=tx["gateway"], reference=value, store_processed=not recorded_only))
    return out
