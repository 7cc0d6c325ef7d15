"""User-group membership for approval tiers, with a cache the ack path can use.

Two ways to ask:

* `members(group)` — for background work (a decision after the ack): answers from the
  cache when it is fresh, else asks Slack (usergroups.users.list, with the gateway's
  retries) and remembers the answer.
* `known(group)` — for the ack path (before a modal opens): never asks Slack. It answers
  from memory, `None` when it has nothing recent enough to go on, and schedules a refresh
  in the background when its entry is missing or older than `ttl`.

So a Deny click is never held up by Slack: when the cache can't tell, the modal opens and
the submission is authorised with `members`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

Spawn = Callable[[Callable[[], None]], object]


def _daemon(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, name="user-groups", daemon=True).start()


class GroupMembership:
    def __init__(self, fetch: Callable[[str], set[str]], *, ttl: float = 300.0, max_stale: float = 1800.0,
                 monotonic: Callable[[], float] = time.monotonic, spawn: Spawn = _daemon) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.max_stale = max_stale  # older than this, `known` says "can't tell"
        self.monotonic = monotonic
        self.spawn = spawn
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._refreshing: set[str] = set()

    def members(self, group: str) -> set[str]:
        hit = self._get(group)
        if hit is not None and self.monotonic() - hit[0] < self.ttl:
            return set(hit[1])
        return set(self._fetch(group))

    def known(self, group: str) -> frozenset[str] | None:
        hit = self._get(group)
        age = None if hit is None else self.monotonic() - hit[0]
        if age is None or age >= self.ttl:
            self._refresh_soon(group)
        if age is None or age >= self.max_stale:
            return None
        return hit[1]

    def forget(self, group: str | None = None) -> None:
        with self._lock:
            if group is None:
                self._cache.clear()
            else:
                self._cache.pop(group, None)

    # --- internals ------------------------------------------------------------------------

    def _get(self, group: str) -> tuple[float, frozenset[str]] | None:
        with self._lock:
            return self._cache.get(group)

    def _fetch(self, group: str) -> frozenset[str]:
        members = frozenset(self.fetch(group))
        with self._lock:
            self._cache[group] = (self.monotonic(), members)
        return members

    def _refresh_soon(self, group: str) -> None:
        with self._lock:
            if group in self._refreshing:
                return
            self._refreshing.add(group)

        def refresh() -> None:
            try:
                self._fetch(group)
            except Exception as exc:  # Slack down: `known` keeps saying what it knew, or None
                log.warning("user_groups.refresh_failed group=%s error=%s", group, type(exc).__name__,
                            extra={"group": group})
            finally:
                with self._lock:
                    self._refreshing.discard(group)

        try:
            self.spawn(refresh)
        except Exception:  # no thread to be had (shutting down): try again next time
            with self._lock:
                self._refreshing.discard(group)
