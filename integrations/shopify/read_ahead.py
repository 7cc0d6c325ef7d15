"""Objects read together, handed out once each.

Shopify charges a request its requested cost, and a standard-plan shop restores 100 points
a second, so a new case reads its return, order, customer, the customer's recent history,
the order's returns and its dispute summaries in one document (see `documents.RETURN_CASE`).
The `StoreSource` port still asks for them one by one (`get_order`, `get_customer`, …), so
what came with the first read waits here for the call that asks for it next.

Each entry is taken at most once and lives `ttl` seconds (the calls of one context
assembly follow each other within milliseconds), so any later read — a card refresh, a
lookup minutes on — goes to Shopify and is fresh. Actions never read from here: they
check the store's state themselves before acting.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable

DEFAULT_TTL = 30.0
MAX_ENTRIES = 512


class ReadAhead:
    def __init__(
        self, *, ttl: float = DEFAULT_TTL, monotonic: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, kind: str, key: str, value: Any) -> None:
        if self.ttl <= 0:
            return
        now = self._monotonic()
        with self._lock:
            self._entries.pop((kind, key), None)
            self._entries[(kind, key)] = (now + self.ttl, value)
            while self._entries:  # drop the expired, and the oldest beyond the cap
                (k, (expires, _)) = next(iter(self._entries.items()))
                if expires > now and len(self._entries) <= self.max_entries:
                    break
                del self._entries[k]

    def take(self, kind: str, key: str) -> Any | None:
        """The value put for (kind, key) if it has not expired, removed; else None."""
        with self._lock:
            entry = self._entries.pop((kind, key), None)
        if entry is None or entry[0] <= self._monotonic():
            return None
        return entry[1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
