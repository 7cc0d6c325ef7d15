"""`returnsbot check` with a helpdesk configured: one line per helpdesk, naming the key
that was refused (never its value); with none, the sample helpdesk's line."""

from __future__ import annotations

import pytest

from bot.cli import main
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401
from tests.fakes import gorgias as fg, zendesk as fz


@pytest.fixture(autouse=True)
def sqlite_database(tmp_path, monkeypatch):
    import os

    for key in list(os.environ):  # cli_support clears SHOPIFY_/SLACK_/RETURNSBOT_; these are ours
        if key.upper().startswith(("GORGIAS_", "ZENDESK_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'returnsbot.db'}")


def _lines(capsys) -> tuple[int, dict[str, tuple[str, str]]]:
    code = main(["check"])
    out = capsys.readouterr().out
    found = {}
    for line in out.splitlines():
        status, rest = line.split(None, 1)
        what, text = rest.split(": ", 1)
        found[what] = (status, text)
    return code, found


def test_check_tries_both_helpdesks_and_names_the_refused_key(monkeypatch, capsys):
    g, z = fg.FakeGorgias(), fz.FakeZendesk()
    with g.serve() as gbase, z.serve() as zbase:
        for k, v in {"GORGIAS_DOMAIN": "ridgeline", "GORGIAS_EMAIL": fg.EMAIL, "GORGIAS_API_KEY": "not-the-key",
                     "GORGIAS_API_URL": gbase, "ZENDESK_SUBDOMAIN": "ridgeline", "ZENDESK_EMAIL": fz.EMAIL,
                     "ZENDESK_API_TOKEN": fz.API_TOKEN, "ZENDESK_API_URL": zbase}.items():
            monkeypatch.setenv(k, v)
        code, lines = _lines(capsys)
    assert code == 1
    status, text = lines["gorgias"]
    assert status == "FAIL" and "HTTP 401" in text and "GORGIAS_API_KEY" in text and "not-the-key" not in text
    assert lines["zendesk"] == ("ok", f"reachable as {fz.EMAIL} (admin)")
    assert "sample_helpdesk" not in lines  # a real helpdesk is configured


def test_without_a_helpdesk_the_sample_one_is_named(capsys):
    code, lines = _lines(capsys)
    assert lines["sample_helpdesk"][0] == "ok" and "sample tickets" in lines["sample_helpdesk"][1]
