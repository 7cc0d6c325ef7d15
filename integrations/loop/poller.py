"""Catch-up over `GET /warehouse/return/list`: what webhooks missed (downtime, a delivery
Loop gave up on).

The list takes one `state` per request (and without one leaves out returns in review), a
`from`/`to` range of at most 120 days (without one: only the last 24 h), and pages with
`paginate=true` and `nextPageUrl`. So each poll asks, per state, for the returns updated
between the cursor (minus a small overlap for clock skew; ingest dedupes) and now, or the
cursor plus 120 days when it is further behind; the next poll goes on from there. The
cursor is that window's end, stored only after every state's pages were read. The list's
items are full return objects from the API (not webhook bodies), so they are mapped as
they are, not read again. A return that cannot be mapped is parked as Unmapped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from integrations.loop import events, mapping
from integrations.loop.client import LoopAPI
from policy.ports import IntegrationError, PollPage, Unmapped

log = logging.getLogger(__name__)

STATES = ("open", "review", "closed", "cancelled", "expired")  # one request each
MAX_WINDOW = timedelta(days=120)  # Loop refuses a larger range (422)
FIRST_LOOK_BACK = timedelta(days=3)
OVERLAP = timedelta(minutes=2)
PAGE_SIZE = 250  # Loop allows up to 750; smaller pages keep one answer's size modest
MAX_PAGES = 40  # per state and poll: beyond 10,000 returns the next poll goes on
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # the docs' example ("2023-01-01 00:00:00"), UTC


def window(cursor: str | None, now: datetime) -> tuple[datetime, datetime]:
    since = datetime.fromisoformat(cursor) - OVERLAP if cursor else now - FIRST_LOOK_BACK
    since = since.astimezone(timezone.utc)
    return since, min(now, since + MAX_WINDOW)


class ReturnsPoller:
    def __init__(self, api: LoopAPI, *, clock: Callable[[], datetime], states: tuple[str, ...] = STATES) -> None:
        self.api, self.clock, self.states = api, clock, states

    def fetch(self, cursor: str | None) -> PollPage:
        since, until = window(cursor, self.clock())
        found: dict[str, dict] = {}
        for state in self.states:
            for item in self._pages(state, since, until):
                key = str(item.get("id")) if isinstance(item, dict) else repr(item)[:60]
                found[key] = item  # the last state seen wins: a return that moved mid-poll
        evs, unmapped = [], []
        mapped = []
        for key, item in found.items():
            try:
                mapped.append(mapping.loop_return(item))
            except (ValueError, KeyError, TypeError) as exc:
                unmapped.append(Unmapped(ref=mapping.external_id(key), error=f"{type(exc).__name__}: {exc}"))
        mapped.sort(key=lambda r: (r.updated_at or r.created_at, r.id))  # oldest first
        for ret in mapped:
            evs.append(events.for_state(ret))
            label = events.label(ret)
            if label is not None:
                evs.append(label)
        return PollPage(events=evs, cursor=until.isoformat(), unmapped=unmapped)

    def _pages(self, state: str, since: datetime, until: datetime):
        page = self.api.get("/warehouse/return/list", **{
            "from": since.strftime(TIME_FORMAT), "to": until.strftime(TIME_FORMAT), "filter": "updated_at",
            "state": state, "paginate": "true", "pageSize": PAGE_SIZE})
        for _ in range(MAX_PAGES):
            if isinstance(page, list):  # not paginated after all: a bare array
                yield from page
                return
            if not isinstance(page, dict):
                raise IntegrationError(f"Loop returns list ({state}): not a page of returns", retryable=False,
                                       system=mapping.SOURCE)
            yield from page.get("returns") or []
            next_url = page.get("nextPageUrl")
            if not next_url:
                return
            page = self.api.get_url(next_url)
        raise IntegrationError(f"Loop returns list ({state}) is longer than {MAX_PAGES} pages in one window",
                               system=mapping.SOURCE)
