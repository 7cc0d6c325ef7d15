"""Catch-up over `GET /v1/events`: what webhooks missed (downtime, a disabled endpoint).

Stripe lists events newest first and keeps them 30 days. The cursor is "<created>:<id>" of
the newest event seen; each poll asks `created[gte]` that second, filtered to our event
types, pages to the end, and decodes oldest first. An event already seen at the cursor's
second is skipped by id; ingest dedupes on the case's natural key anyway. An event that
cannot be decoded (a poison item) is parked as Unmapped and the cursor moves past it.
"""

from __future__ import annotations

from typing import Callable

from integrations.stripe.webhooks import EVENT_TYPES
from policy.models import DomainEvent
from policy.ports import IntegrationError, NotFound, PollPage, Unmapped

FIRST_POLL_SECONDS = 3 * 86400  # without a cursor: the last three days


class EventsPoller:
    def __init__(self, api, *, decode: Callable[[str, dict], DomainEvent | None], clock) -> None:
        self.api = api
        self.decode = decode
        self.clock = clock

    def fetch(self, cursor: str | None) -> PollPage:
        since, seen_id = _parse(cursor)
        if since is None:
            since = int(self.clock().timestamp()) - FIRST_POLL_SECONDS
        found = list(self.api.list_all("/v1/events", **{"types": list(EVENT_TYPES), "created": {"gte": since}}))
        found.sort(key=lambda e: (e["created"], e["id"]))  # oldest first
        events, unmapped = [], []
        newest = cursor
        for event in found:
            if event["id"] == seen_id:
                continue
            newest = f"{event['created']}:{event['id']}"
            try:
                decoded = self.decode(event["type"], event)
            except (ValueError, KeyError, TypeError, NotFound) as exc:
                unmapped.append(Unmapped(event["id"], f"{type(exc).__name__}: {exc}"))
                continue
            except IntegrationError as exc:
                if exc.retryable:
                    raise  # Stripe is failing: the poll retries from the same cursor
                unmapped.append(Unmapped(event["id"], str(exc)))
                continue
            if decoded is not None:
                events.append(decoded)
        return PollPage(events=events, cursor=newest, unmapped=unmapped)


def _parse(cursor: str | None) -> tuple[int | None, str | None]:
    if not cursor:
        return None, None
    created, _, event_id = cursor.partition(":")
    return (int(created), event_id or None) if created.isdigit() else (None, None)
