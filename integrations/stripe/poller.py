"""Catch-up over `GET /v1/events`: what webhooks missed (downtime, a disabled endpoint).

Stripe lists events newest first and keeps them 30 days. The cursor is "<created>:<ids>": the
newest second seen and the ids of the events seen in it; each poll asks `created[gte]` that
second, filtered to our event types, pages to the end, and decodes oldest first, skipping
the ids already seen in that second (ingest dedupes on the case's natural key anyway). An event that
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
        since, seen = _parse(cursor)
        if since is None:
            since = int(self.clock().timestamp()) - FIRST_POLL_SECONDS
        found = list(self.api.list_all("/v1/events", **{"types": list(EVENT_TYPES), "created": {"gte": since}}))
        found.sort(key=lambda e: (e["created"], e["id"]))  # oldest first
        events, unmapped = [], []
        newest_second, newest_ids = since, list(seen)
        for event in found:
            if event["created"] == since and event["id"] in seen:
                continue
            if event["created"] != newest_second:
                newest_second, newest_ids = event["created"], []
            newest_ids.append(event["id"])
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
        if not newest_ids and cursor is None:
            return PollPage(events=events, cursor=None, unmapped=unmapped)
        return PollPage(events=events, cursor=f"{newest_second}:{','.join(newest_ids[-MAX_IDS:])}",
                        unmapped=unmapped)


MAX_IDS = 200  # events of one second remembered in the cursor


def _parse(cursor: str | None) -> tuple[int | None, set[str]]:
    if not cursor:
        return None, set()
    created, _, ids = cursor.partition(":")
    return (int(created), set(filter(None, ids.split(",")))) if created.isdigit() else (None, set())
