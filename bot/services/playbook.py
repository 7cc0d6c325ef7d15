"""Thread replies on cards become notes; chosen notes become playbook entries."""

from __future__ import annotations


class PlaybookService:
    def __init__(self, *, engine, cases, clock) -> None:
        self.engine, self.cases, self.clock = engine, cases, clock

    def for_case(self, kind, signal_codes, limit: int = 3) -> tuple:
        """The most relevant entries for a new card (blocks.views.PlaybookEntry)."""
        return ()
