"""Catch-up pollers: find what the webhooks missed, from a stored cursor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from bot.clock import Clock
from bot.services.ingest import IngestService, Outcome
from bot.store import OpsRepo
from policy.ports import IntegrationError, NotFound, PollPage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollReport:
    name: str
    seen: int
    created: int
    error: str | None = None


class Poller:
    def __init__(
        self, *, name: str, fetch: Callable[[str | None], PollPage], ingest: IngestService, ops: OpsRepo, clock: Clock
    ) -> None:
        self.name = name
        self.fetch = fetch
        self.ingest = ingest
        self.ops = ops
        self.clock = clock

    def run_once(self) -> PollReport:
        cursor = self.ops.cursor(self.name)
        try:
            page = self.fetch(cursor)
        except IntegrationError as exc:
            self.ops.record_failure(self.name, at=self.clock(), error=str(exc))
            log.warning("poller.failed poller=%s error=%s", self.name, exc)
            return PollReport(self.name, 0, 0, str(exc))
        created = 0
        for event in page.events:
            try:
                result = self.ingest.ingest(event)
            except NotFound as exc:
                log.warning("poller.not_found poller=%s resource=%s error=%s", self.name, event.resource_id, exc)
                continue
            except IntegrationError as exc:
                # Keep the old cursor: the next run sees this event again (ingest dedupes).
                self.ops.record_failure(self.name, at=self.clock(), error=str(exc))
                log.warning("poller.failed poller=%s resource=%s error=%s", self.name, event.resource_id, exc)
                return PollReport(self.name, len(page.events), created, str(exc))
            created += result.outcome is Outcome.CREATED
        self.ops.set_cursor(self.name, page.cursor, at=self.clock())
        self.ops.record_success(self.name, at=self.clock())
        log.info("poller.ran poller=%s seen=%s created=%s", self.name, len(page.events), created)
        return PollReport(self.name, len(page.events), created)
