"""The weekly digest: computed in SQL, posted once per period."""

from __future__ import annotations


class DigestService:
    def __init__(self, *, engine, ops, policy, clock, gateway) -> None:
        self.engine, self.ops, self.policy, self.clock, self.gateway = engine, ops, policy, clock, gateway
