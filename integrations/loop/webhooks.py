"""Loop webhooks at POST /webhooks/loop: the signature at the door, the topic and a dedupe
digest from the signed body, and the shape check before the 200.

Signature (reference/loop/api-and-webhooks.md, "Signature"): `X-Loop-Signature` =
base64(HMAC-SHA256(webhook secret, raw body)), over the bytes as received (Loop escapes
slashes, so re-serialising the JSON would not match). No timestamp: no replay window.
No delivery id either: a delivery is known by a digest of (topic, trigger, return id,
state, the raw body), so Loop's retry of the same body dedupes and a new state does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Loop-Signature"

# Our topics (the receipts' topic column and decode's first argument).
RETURN, LABEL, RESTOCK, PROCESSING_FAILED = "return", "label", "restock", "return.processing.failed"
OURS = (RETURN, LABEL, RESTOCK, PROCESSING_FAILED)
UNKNOWN = "unknown"
# Loop's trigger → our topic. Legacy payloads use bare created/updated/closed (return topic).
TRIGGERS = {
    "return.created": RETURN, "return.updated": RETURN, "return.closed": RETURN,
    "created": RETURN, "updated": RETURN, "closed": RETURN,
    "label.created": LABEL, "label.updated": LABEL,
    "restock.requested": RESTOCK,
    "return.processing.failed": PROCESSING_FAILED,
}
# What to subscribe in Loop's Developer Tools (the README lists them).
SUBSCRIBE = (("Return", ("return.created", "return.updated", "return.closed")),
             ("Label", ("label.created", "label.updated")),
             ("Restock", ("restock.requested",)),
             ("Return Processing", ("return.processing.failed",)))


def sign(secret: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def verifier(secret: bytes | None):
    def verify(body: bytes, headers) -> bool:
        # No secret configured: nothing can be verified, so nothing is accepted.
        return secret is not None and verify_signature(secret, body, headers.get(SIGNATURE_HEADER))

    return verify


def topic_of(payload: dict) -> str:
    """Our topic for a known trigger; another trigger is its own topic (accepted, then
    ignored: e.g. giftcard.requested when someone subscribed the route to it); no trigger
    at all is UNKNOWN, which `validate` refuses with a clear 400."""
    trigger = payload.get("trigger")
    if not isinstance(trigger, str) or not trigger.strip():
        return UNKNOWN
    return TRIGGERS.get(trigger, trigger)


def return_id_of(payload: dict) -> str | None:
    """The return's id: `id` in every topic (ints or strings); `return_id` in the Return
    Processing body, whose shape the reference does not show (we accept either)."""
    for key in ("return_id", "id"):
        value = payload.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return str(value).strip()
    return None


def digest(payload: dict, raw: bytes) -> str:
    """sha256 over (topic, trigger, return id, state) and the raw body, as hex."""
    parts = [str(payload.get(k) if not isinstance(payload.get(k), (dict, list)) else "") for k in
             ("topic", "trigger")] + [return_id_of(payload) or "", str(payload.get("state") or "")]
    h = hashlib.sha256("\x1f".join(parts).encode())
    h.update(b"\x1e")
    h.update(raw)
    return h.hexdigest()


def body_ids(payload: dict, raw: bytes | None = None) -> tuple[str | None, str | None]:
    """(topic, delivery id) from the signed body. The route machinery hands us the parsed
    body only, so the raw body is re-created canonically when not given: equal bodies give
    equal digests either way."""
    if raw is None:
        raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return topic_of(payload), "loop:" + digest(payload, raw)


def validate(topic: str, payload: dict) -> None:
    """At the door (400 when refused): a trigger, and the return id we read the return by."""
    trigger = payload.get("trigger")
    if topic == UNKNOWN or not isinstance(trigger, str):
        raise ValueError("a Loop webhook body needs a `trigger` (e.g. return.updated)")
    if return_id_of(payload) is None:
        raise ValueError("a numeric return id (`id`) is required")
    if topic not in OURS:
        return  # a trigger we don't subscribe to: stored, and ignored after the 200
    declared = payload.get("topic")
    if topic != PROCESSING_FAILED and declared is not None and declared != topic:
        raise ValueError(f"topic {declared!r} does not match trigger {trigger!r}")
    message: Any = payload.get("message")
    if topic == PROCESSING_FAILED and message is not None and not isinstance(message, str):
        raise ValueError("message must be a string or null")
