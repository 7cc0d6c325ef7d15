"""`returnsbot simulate` and `returnsbot policy suggest` as a user runs them, over the
demo's database."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401


@pytest.fixture
def demo_db(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--database-url", url]) == 0
    capsys.readouterr()
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_simulate_a_policy_file_prints_the_changes(demo_db, tmp_path, capsys):
    (tmp_path / "new.toml").write_text("[returns]\nwindow_days = 60\n")
    assert main(["simulate", "--policy", str(tmp_path / "new.toml"), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Simulated {tmp_path / 'new.toml'} against the default policy (cases opened in the last 90d)")
    assert "35 cases replayed; 3 cases would be decided differently." in out
    assert "  deny → refund: 1 case, $89" in out and "#1029 Zoe Adams" in out


def test_simulate_json_with_one_key_changed_and_two_workers(demo_db, capsys):
    assert main(["simulate", "--set", "returns.window_days=60", "--json", "--workers", "2",
                 "--kind", "return_request"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["proposed_policy"] == "returns.window_days=60" and data["kind"] == "return_request"
    assert data["cases"] == 23 and data["changed"] == 3
    assert {(c["from"], c["to"]): c["money"] for c in data["changes"]} == {
        ("deny", "refund"): {"USD": "89.00"}, ("deny", "exchange"): {"USD": "229.00"},
        ("store_credit", "exchange"): {"USD": "389.00"}}


def test_a_policy_file_with_a_typo_is_one_clear_line_and_exit_2(demo_db, tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("[returns]\nwindow_days = 60\nretrun_window = 3\n")
    assert main(["simulate", "--policy", str(tmp_path / "bad.toml")]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"returnsbot: {tmp_path / 'bad.toml'}:3: unknown key 'retrun_window' in [returns] "
                            "(did you mean 'window_days'?)\n")
    assert "Traceback" not in captured.err and captured.out == ""


def test_a_bad_since_is_refused(demo_db, capsys):
    assert main(["simulate", "--set", "returns.window_days=60", "--since", "soon"]) == 2
    assert "--since: expected a number of days or weeks" in capsys.readouterr().err


def test_suggest_with_no_overrides_says_so(demo_db, capsys):
    assert main(["policy", "suggest"]) == 0
    assert "nothing to suggest" in capsys.readouterr().out
