"""Shopify's mandatory compliance topics, decoded.

Deliveries are signed like every other webhook (base64 HMAC-SHA256 of the raw body with
the client secret, `X-Shopify-Hmac-Sha256`); a bad signature is answered 401. They can
only be subscribed in the app's configuration (Dev Dashboard → the app's version →
compliance webhooks, or `compliance_topics` in shopify.app.toml), not with the Admin API.

Payloads (Shopify's privacy-law compliance docs; ids are numbers, sometimes strings):

    customers/data_request  {"shop_id", "shop_domain", "orders_requested": [id…],
                             "customer": {"id", "email", "phone"}, "data_request": {"id"}}
    customers/redact        {"shop_id", "shop_domain", "customer": {"id", "email", "phone"},
                             "orders_to_redact": [id…]}
    shop/redact             {"shop_id", "shop_domain"}    (48 hours after an uninstall)

The customer may come with only an email. What comes out names the customer and orders
the way the rest of returnsbot does (gids), so the redaction (bot/services/redact.py) can
match them against cases without knowing Shopify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from integrations.shopify.webhooks import MalformedWebhook, gid

DATA_REQUEST = "customers/data_request"
CUSTOMER_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"
TOPICS = (DATA_REQUEST, CUSTOMER_REDACT, SHOP_REDACT)


@dataclass(frozen=True)
class Subject:
    """Whose data a request is about, as returnsbot stores it."""

    customer_ids: tuple[str, ...] = ()  # gid://shopify/Customer/…
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()  # gid://shopify/Order/…

    @property
    def empty(self) -> bool:
        return not (self.customer_ids or self.emails or self.phones or self.order_ids)


@dataclass(frozen=True)
class ComplianceRequest:
    topic: str
    shop_domain: str
    subject: Subject | None  # None for shop/redact: everything of the shop
    request_id: str | None = None  # customers/data_request's data_request.id

    @property
    def whole_shop(self) -> bool:
        return self.topic == SHOP_REDACT


def decode(topic: str | None, payload: Any) -> ComplianceRequest:
    """The request a delivery stands for. Raises MalformedWebhook (a ValueError) for an
    unknown topic or a payload without what its topic needs."""
    topic = (topic or "").strip().lower()
    if topic not in TOPICS:
        raise MalformedWebhook(f"{topic or 'no topic'}: not a compliance topic ({', '.join(TOPICS)})")
    if not isinstance(payload, Mapping):
        raise MalformedWebhook(f"{topic}: expected a JSON object")
    shop = payload.get("shop_domain")
    if not isinstance(shop, str) or not shop.strip():
        raise MalformedWebhook(f"{topic}: payload has no shop_domain")
    shop = shop.strip().lower()
    if topic == SHOP_REDACT:
        return ComplianceRequest(topic, shop, None)
    customer = payload.get("customer")
    if customer is None:
        customer = {}
    if not isinstance(customer, Mapping):
        raise MalformedWebhook(f"{topic}: customer is not an object")
    orders_key = "orders_to_redact" if topic == CUSTOMER_REDACT else "orders_requested"
    orders = payload.get(orders_key) or []
    if not isinstance(orders, list):
        raise MalformedWebhook(f"{topic}: {orders_key} is not a list")
    subject = Subject(
        customer_ids=(gid("Customer", customer["id"], f"{topic} customer.id"),) if customer.get("id") else (),
        emails=_texts(customer.get("email")),
        phones=_texts(customer.get("phone")),
        order_ids=tuple(dict.fromkeys(gid("Order", o, f"{topic} {orders_key}") for o in orders)),
    )
    if subject.empty:
        raise MalformedWebhook(f"{topic}: names no customer id, email, phone or order")
    request = payload.get("data_request") if topic == DATA_REQUEST else None
    request_id = str(request["id"]) if isinstance(request, Mapping) and request.get("id") is not None else None
    return ComplianceRequest(topic, shop, subject, request_id)


def _texts(value: Any) -> tuple[str, ...]:
    return (value.strip(),) if isinstance(value, str) and value.strip() else ()
