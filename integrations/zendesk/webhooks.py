"""Zendesk webhooks at `POST /webhooks/zendesk`, verified at the door.

Signature (reference/zendesk, developer.zendesk.com/documentation/webhooks/verifying):
`X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(signing secret, timestamp + raw body)),
no separator, the timestamp from `X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601, e.g.
`2024-04-17T17:18:10Z`). Zendesk documents no tolerance; ours is 5 minutes either way
(a replayed delivery older than that is refused). Missing, forged or stale → 401.

Two body kinds: event-subscribed webhooks (`{"type": "zen:event-type:ticket.…", "id",
"detail": {"id": "<ticket>", "actor_id", …}}`: the event id dedupes) and trigger webhooks
with the README's template (`{"ticket_id": "{{ticket.id}}", "actor_id":
"{{current_user.id}}", …}`: the body's hash dedupes). Either way only the ticket id (and
the actor, to ignore our own updates) is used: the ticket is read from the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from integrations.helpdesk import parse_time

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
TOLERANCE = timedelta(minutes=5)
TICKET_EVENT_PREFIX = "zen:event-type:ticket."
TRIGGER_TOPIC = "trigger"
BODY_TEMPLATE = ('{"ticket_id": "{{ticket.id}}", "actor_id": "{{current_user.id}}", '
                 '"updated_at": "{{ticket.updated_at_with_timestamp}}"}')


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body,
                                     hashlib.sha256).digest()).decode("ascii")


def verify(secret: str | None, body: bytes, headers, *, now: datetime) -> bool:
    signature, stamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not secret or not signature or not stamp:
        return False
    at = parse_time(stamp)
    if at is None:
        return False
    if abs(now - at) > TOLERANCE:
        log.warning("webhook.rejected source=zendesk reason=stale timestamp=%s", stamp[:40])
        return False
    return hmac.compare_digest(sign(secret, stamp, body).encode("ascii"), signature.strip().encode("utf-8", "replace"))


def body_ids(payload: dict) -> tuple[str | None, str | None]:
    """(topic, delivery id): the event's type and id, or a trigger body (hash-deduped)."""
    kind, event_id = payload.get("type"), payload.get("id")
    if isinstance(kind, str) and kind.startswith("zen:"):
        return kind, event_id if isinstance(event_id, str) and event_id else None
    return TRIGGER_TOPIC, None


def ticket_id_of(topic: str, payload: dict) -> str | None:
    """The ticket a delivery is about; None for an event that is not a ticket's."""
    if topic == TRIGGER_TOPIC:
        value = payload.get("ticket_id")
    elif topic.startswith(TICKET_EVENT_PREFIX):
        detail = payload.get("detail")
        value = detail.get("id") if isinstance(detail, dict) else None
        if value is None and isinstance(payload.get("subject"), str):
            value = payload["subject"].rpartition(":")[2]  # "zen:ticket:35436"
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ValueError("the ticket id (detail.id, or the template's ticket_id) must be a number")
    return str(value).strip()


def actor_of(payload: dict) -> str | None:
    detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
    value = detail.get("actor_id", payload.get("actor_id"))
    return str(value) if value not in (None, "") else None


def validate(topic: str, payload: dict) -> None:
    ticket_id_of(topic, payload)
