"""/order: find an order (number, #number, email, gid) and assemble what a person needs."""

from __future__ import annotations


class OrderLookup:
    def __init__(self, *, store, cases, playbook, policy, clock) -> None:
        self.store, self.cases, self.playbook, self.policy, self.clock = store, cases, playbook, policy, clock
