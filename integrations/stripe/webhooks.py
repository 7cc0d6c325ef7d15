"""Stripe webhooks: `Stripe-Signature` checked at the door, the event decoded after the 200.

Signature (reference/stripe/webhooks-signature-and-objects.md): `t=<unix>,v1=<hex>[,v1=…]`,
v1 = hex HMAC-SHA256(whsec secret, f"{t}.{raw body}"); any v1 may match (secret rotation),
v0 is ignored; the timestamp must be within 300 s of our clock (injected, so tests can
be exact). The event id is the delivery id and its type the topic: both are in the signed
body, never in an unsigned header.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Callable

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300  # stripe-python Webhook.DEFAULT_TOLERANCE

# The event types this connector subscribes to (the README lists them for the dashboard).
EVENT_TYPES = (
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
    "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
    "radar.early_fraud_warning.created", "radar.early_fraud_warning.updated",
    "review.opened", "review.closed",
    "charge.refunded", "refund.created", "refund.updated", "refund.failed",
)
DISPUTE_TYPES = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                 "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
WARNING_TYPES = ("radar.early_fraud_warning.created", "radar.early_fraud_warning.updated")
REFUND_TYPES = ("charge.refunded", "refund.created", "refund.updated", "refund.failed")
OUR_KEY_PREFIX = "returnsbot:"  # every Idempotency-Key returnsbot sends starts so


def parse_header(header: str | None) -> tuple[int | None, list[str]]:
    """(timestamp, v1 signatures) from a Stripe-Signature header; (None, []) if malformed."""
    if not header:
        return None, []
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def verify_signature(secret: bytes, body: bytes, header: str | None, *, now: datetime,
                     tolerance: int = TOLERANCE_SECONDS) -> bool:
    timestamp, signatures = parse_header(header)
    if timestamp is None or not signatures:
        return False
    if abs(now.timestamp() - timestamp) > tolerance:
        return False  # stale (or from the future): a replayed delivery
    expected = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def verifier(secret: bytes | None, clock: Callable[[], datetime]) -> Callable[[bytes, object], bool]:
    def verify(body: bytes, headers) -> bool:
        # No secret configured: nothing can be verified, so nothing is accepted.
        return secret is not None and verify_signature(secret, body, headers.get(SIGNATURE_HEADER), now=clock())

    return verify


def body_ids(payload: dict) -> tuple[str | None, str | None]:
    """(topic, delivery id): the event's type and id."""
    topic, event_id = payload.get("type"), payload.get("id")
    return (topic if isinstance(topic, str) else None, event_id if isinstance(event_id, str) else None)


def validate(topic: str, payload: dict) -> None:
    """At the door: an event envelope whose object has the fields we decode from."""
    if payload.get("object") != "event" or not str(payload.get("id", "")).startswith("evt_"):
        raise ValueError("not a Stripe event (object 'event', id evt_…)")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise ValueError("data.object with an id is required")
    if topic in WARNING_TYPES:
        if obj.get("object") != "radar.early_fraud_warning":
            raise ValueError(f"{topic}: data.object is not an early fraud warning")
        if not isinstance(obj.get("charge"), (str, dict)) or not isinstance(obj.get("actionable"), bool):
            raise ValueError(f"{topic}: charge and actionable are required")
    if topic in DISPUTE_TYPES and obj.get("object") != "dispute":
        raise ValueError(f"{topic}: data.object is not a dispute")
    request = payload.get("request")
    if request is not None and not isinstance(request, dict):
        raise ValueError("request must be an object")


def caused_by_us(payload: dict) -> bool:
    """The event was caused by an API call returnsbot made (its Idempotency-Key is echoed
    in request.idempotency_key): our own refund coming back must not open a case."""
    request = payload.get("request") or {}
    key = request.get("idempotency_key") if isinstance(request, dict) else None
    return isinstance(key, str) and key.startswith(OUR_KEY_PREFIX)
