"""Claude tests: FakeAnthropic on 127.0.0.1 and a client whose waiting costs no real time."""

from __future__ import annotations

import pytest

from bot.llm.client import Claude
from tests.fakes.anthropic import FakeAnthropic


class WaitClock:
    """monotonic() and sleep() for the client: sleeping moves the clock, and is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def fake():
    fake = FakeAnthropic()
    with fake.serve():
        yield fake


@pytest.fixture
def waits() -> WaitClock:
    return WaitClock()


@pytest.fixture
def claude(fake, waits) -> Claude:
    return Claude(api_key=fake.api_key, classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                  base_url=fake.base_url, timeout=5, retry_seconds=30, sleep=waits.sleep, monotonic=waits.monotonic)
