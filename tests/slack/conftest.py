"""Fixtures for the Slack plumbing tests: a running FakeSlack, a WebClient pointed at it,
and a fake clock the gateway sleeps on (sleeping advances it; nothing really waits)."""

from __future__ import annotations

import random
import threading

import pytest
from slack_sdk import WebClient

from integrations.slack.gateway import SlackGateway
from tests.fakes.slack import FakeSlack


class FakeTime:
    """monotonic() + sleep() for the gateway: sleep records the wait and moves the clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def fake_slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(fake_slack) -> WebClient:
    return WebClient(token=fake_slack.token, base_url=fake_slack.base_url, timeout=5)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def gateway(client, fake_time) -> SlackGateway:
    return SlackGateway(
        client, sleep=fake_time.sleep, monotonic=fake_time.monotonic, rng=random.Random(7)
    )
