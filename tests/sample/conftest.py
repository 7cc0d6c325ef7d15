"""Fixtures for the sample store: loaded at a fixed `now`, with a clock tests can move."""

from __future__ import annotations

import pytest

from integrations.sample import SampleStore
from tests.sample.helpers import NOW, StepClock


@pytest.fixture
def store_clock() -> StepClock:
    return StepClock()


@pytest.fixture
def store(store_clock: StepClock) -> SampleStore:
    return SampleStore.load(now=NOW, clock=store_clock)
