"""Fixtures for tests that run the `returnsbot` command in-process (`bot.cli.main`).

Import the fixtures by name into a test module:

    from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401
"""

from __future__ import annotations

import logging
import os

import pytest

PREFIXES = ("SHOPIFY_", "SLACK_", "RETURNSBOT_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No setting from the developer's shell or a stray `.env`: each test sets its own."""
    for key in list(os.environ):
        if key.upper().startswith(PREFIXES) or key.upper() == "DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env; the default SQLite file lands here


@pytest.fixture(autouse=True)
def restore_logging():
    """`main()` configures logging; give the next test the logging it had before."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {name: logging.getLogger(name).level for name in list(logging.root.manager.loggerDict)}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in named.items():
        logging.getLogger(name).setLevel(lvl)
