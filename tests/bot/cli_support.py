"""Fixtures for tests that run the `returnsbot` command in-process (`bot.cli.main`).

Import the fixtures by name into a test module:

    from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401

`run_check` runs `returnsbot check` and returns its exit code and output; `check_lines`
splits that output into (status, what, text) rows.
"""

from __future__ import annotations

import logging
import os

import pytest

from bot.cli import main

# Every connector's settings: a key in the developer's shell must not reach a test.
PREFIXES = ("SHOPIFY_", "SLACK_", "RETURNSBOT_", "STRIPE_", "SHIPSTATION_", "LOOP_", "GORGIAS_", "ZENDESK_",
            "ANTHROPIC_")


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
    from bot import logging_setup

    root = logging.getLogger()
    handlers, level, ours = list(root.handlers), root.level, logging_setup._handler
    named = {name: logging.getLogger(name).level for name in list(logging.root.manager.loggerDict)}
    yield
    logging_setup._handler = ours  # the handler `configure` replaces next: the one restored below
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in named.items():
        logging.getLogger(name).setLevel(lvl)


@pytest.fixture
def sqlite_file(monkeypatch, tmp_path):
    """DATABASE_URL set to a fresh SQLite file in the test's directory."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'returnsbot.db'}")
    return monkeypatch


def run_check(capsys) -> tuple[int, str]:
    code = main(["check"])
    return code, capsys.readouterr().out


def check_lines(out: str) -> list[tuple[str, str, str]]:
    """`check`'s output as (status, what, text) rows: "ok    stripe: key accepted"."""
    rows = []
    for line in out.splitlines():
        status, rest = line.split(None, 1)
        what, text = rest.split(": ", 1)
        rows.append((status, what, text))
    return rows
