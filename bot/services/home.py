"""The App Home tab: the viewer's queue and recent decisions."""

from __future__ import annotations


class HomeService:
    def __init__(self, *, cases, decide, policy, clock) -> None:
        self.cases, self.decide, self.policy, self.clock = cases, decide, policy, clock
