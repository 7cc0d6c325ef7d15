"""The `returnsbot` command as a user runs it: demo, db upgrade, check, clear start-up errors."""

from __future__ import annotations

import re

import pytest

from bot.cli import main
from bot.db import current_revision, head_revision, make_engine
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401

SECRET = "shpat_do_not_print_me_123"


def test_demo_prints_the_review_queue_and_is_idempotent(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--database-url", url]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["case", "kind", "order", "customer", "amount", "signals", "recommendation", "tier", "status", "owner",
                      "age"]
    assert "Priya Raman" in out and "store credit" in out and "outside window, vip customer" in out
    # 21 from the sample store's events, 2 delayed shipments from its parcels, 1 early fraud
    # warning from its payment processor, 7 returns from its Loop, 4 tickets of the sample
    # helpdesk with cases of their own (the wholesale enquiry about no order among them; the
    # refund request for #1029 joins that order's return case)
    stored = re.search(r"(\d+) cases stored \((\d+) new this run", out)
    assert stored and stored.group(1) == stored.group(2) and int(stored.group(1)) == 35
    assert "early fraud" in out and "#1038" in out
    # The tickets' queue: intent (by the rules, no key), priority, a line of the template draft.
    assert "Tickets (sample_helpdesk)" in out and "return (rules)" in out and "draft (template, de):" in out
    assert "Wholesale enquiry" in out
    assert main(["demo", "--database-url", url]) == 0
    n = stored.group(1)
    # Every event again, its case already there (a ticket that joined a return's case is one
    # of them: events, not cases, are counted as known).
    assert re.search(rf"{n} cases stored \(0 new this run, \d+ already known", capsys.readouterr().out)


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert current_revision(engine) == head_revision()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"DATABASE_URL": "not-a-url"}, "setting DATABASE_URL:"),
        ({"SHOPIFY_SHOP": "acme.myshopify.com"},
         "setting SHOPIFY_CLIENT_ID and SHOPIFY_API_SECRET: required when SHOPIFY_SHOP is set"),
        ({"SHOPIFY_SHOP": "not a domain", "SHOPIFY_ACCESS_TOKEN": SECRET}, "setting SHOPIFY_SHOP:"),
        ({"SHOPIFY_API_VERSION": "latest"}, "setting SHOPIFY_API_VERSION:"),
    ],
)
def test_bad_setting_is_one_clear_line_without_secrets(monkeypatch, capsys, env, expected):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["poll"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert expected in err
    assert SECRET not in err


def test_policy_typo_names_key_and_line(tmp_path, monkeypatch, capsys):
    policy = tmp_path / "policy.toml"
    policy.write_text("[returns]\nwindow_days = 30\nretrun_window = 10\n")
    monkeypatch.setenv("RETURNSBOT_POLICY", str(policy))
    assert main(["poll"]) == 2
    err = capsys.readouterr().err
    assert "policy.toml:3" in err and "retrun_window" in err


def test_check_reports_each_connection(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "ok    settings: loaded" in out
    assert "ok    policy: built-in defaults" in out
    assert "ok    database:" in out and "(current)" in out
    assert "using the sample store" in out


def test_check_fails_on_unreachable_database_and_bad_policy(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    policy = tmp_path / "p.toml"
    policy.write_text("[auto_approve]\nenabled = 'yes'\n")
    monkeypatch.setenv("RETURNSBOT_POLICY", str(policy))
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  database:" in out
    assert "FAIL  policy:" in out and "p.toml:2" in out


def test_digest_now_without_slack_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    assert main(["digest", "--now"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("returnsbot: ")
