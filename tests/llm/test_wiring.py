"""The container builds the Claude client from the settings, once."""

from __future__ import annotations

from bot.container import Container
from bot.llm.client import Claude
from bot.settings import load_settings
from integrations.sample.store import SampleStore
from tests.conftest import FrozenClock


def test_the_container_has_claude_with_a_key_and_none_without(tmp_path, fake):
    clock = FrozenClock()
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with_key = load_settings(_env_file=None, database_url=url, anthropic_api_key=fake.api_key,
                             anthropic_base_url=fake.base_url, returnsbot_llm_model="claude-opus-5-5")
    container = Container.build(with_key, clock=clock, store=SampleStore.load(now=clock()))
    try:
        assert isinstance(container.claude, Claude)
        assert container.claude.base_url == fake.base_url and container.claude.draft_model == "claude-opus-5-5"
    finally:
        container.engine.dispose()
    without = load_settings(_env_file=None, database_url=url)
    container = Container.build(without, clock=clock, store=SampleStore.load(now=clock()))
    try:
        assert container.claude is None
    finally:
        container.engine.dispose()
