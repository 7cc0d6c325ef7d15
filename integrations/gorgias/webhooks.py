"""Gorgias's HTTP integration, at `POST /webhooks/gorgias/<GORGIAS_WEBHOOK_TOKEN>`.

Gorgias signs nothing (reference: no documented signature): the token in the path is the
secret, compared timing-safely; a wrong one is a 404 and nothing is stored. The body is
the template the README gives (`{"ticket_id": "{{ticket.id}}", "updated_datetime": …}`):
only the ticket id is used, the ticket itself is read from the API after the 200. The
same body twice (a retried delivery) is one receipt (the body's hash dedupes); a new
message changes `updated_datetime`, so it is a new delivery.
"""

from __future__ import annotations

import hmac

TOPIC = "ticket"  # one HTTP integration, every trigger: the ticket is read back anyway
BODY_TEMPLATE = '{"ticket_id": "{{ticket.id}}", "updated_datetime": "{{ticket.updated_datetime}}"}'


def token_matches(expected: str | None, given: str) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def ticket_id_of(payload: dict) -> str:
    value = payload.get("ticket_id")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ValueError("ticket_id: expected the ticket's number (the template's {{ticket.id}})")
    return str(value).strip()


def validate(topic: str, payload: dict) -> None:
    ticket_id_of(payload)
