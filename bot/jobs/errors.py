"""What a job handler raises to say how its failure should be treated."""

from __future__ import annotations


class RetryLater(Exception):
    """A passing failure (the vendor is down, throttling, slow): try again after a backoff,
    no sooner than `retry_after` seconds when the vendor said so."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """Trying again cannot help (the vendor refused, the input is wrong): dead-letter now."""
