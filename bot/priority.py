"""Acks first: background work yields to Slack requests in flight.

On CPython, threads share one interpreter lock; on a 2-core machine a burst of clicks and
the work those clicks cause (audit writes, ephemerals, card renders) compete for it, and
the acks — which Slack gives 3 seconds — lose. Background work therefore waits until no
Slack request is being handled, for at most `max_wait`, so it is delayed by a few
milliseconds under load and never starved.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class InFlight:
    """Counts requests being handled; lets background work wait for a quiet moment: none in
    flight and none finished in the last `quiet` seconds (a burst has gaps between its
    requests; background work should not slip into them)."""

    def __init__(self, quiet: float = 0.02) -> None:
        self._n = 0
        self._last = 0.0
        self.quiet = quiet
        self._idle = threading.Condition()

    def __enter__(self) -> InFlight:
        with self._idle:
            self._n += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._idle:
            self._n -= 1
            self._last = time.monotonic()
            if self._n == 0:
                self._idle.notify_all()

    def wait_idle(self, max_wait: float) -> None:
        deadline = time.monotonic() + max_wait
        with self._idle:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                if self._n == 0:
                    calm = self._last + self.quiet - now
                    if calm <= 0:
                        return
                    self._idle.wait(min(calm, deadline - now))
                else:
                    self._idle.wait(deadline - now)


class YieldingExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks start only once requests in flight are done (or max_wait)."""

    def __init__(self, in_flight: InFlight, *, max_workers: int, max_wait: float = 0.25, name: str = "work") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self.in_flight = in_flight
        self.max_wait = max_wait

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        def yielding() -> Any:
            self.in_flight.wait_idle(self.max_wait)
            return fn(*args, **kwargs)

        return super().submit(yielding)
