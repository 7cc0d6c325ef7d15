"""Background loops: wake on a nudge or every `interval`, run until there is no work."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, name: str, step: Callable[[], int], *, interval: float = 5.0,
                 yield_to: Callable[[float], None] | None = None) -> None:
        self.name = name
        self.yield_to = yield_to  # waits for Slack requests in flight (bot.priority)
        self.step = step  # returns how many items it handled; 0 means idle
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    if self.yield_to:
                        self.yield_to(0.25)
                    if not self.step():
                        break
            except Exception:  # keep the loop alive; the row stays claimable
                log.exception("worker.error worker=%s", self.name)
            self._wake.wait(self.interval)
