import pytest

from tests.bot.app_harness import BUILT


@pytest.fixture(autouse=True)
def _dispose_containers():
    yield
    while BUILT:
        BUILT.pop().engine.dispose()
