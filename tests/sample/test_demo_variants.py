"""`returnsbot demo --sample eur`: the European sample shop, through the real command."""

from __future__ import annotations

from bot.cli import main
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401


def test_the_demo_runs_the_european_shop_in_euros(capsys, tmp_path):
    assert main(["demo", "--sample", "eur", "--database-url", f"sqlite:///{tmp_path / 'demo.db'}"]) == 0
    out = capsys.readouterr().out
    assert "(Ridgeline Outfitters Europe)" in out
    assert "$" not in out  # nothing in dollars
    queue = out[:out.index("The return after approval")]  # the stage lines after it name orders too
    [row] = [line for line in queue.splitlines() if "#1901" in line]
    assert "Oliver Hughes" in row and "€145.00" in row and "T1 ≤250" in row and "refund" in row
    assert "auto: done" in out  # the small clean returns are auto-approved, as in dollars


def test_the_demo_refuses_a_policy_in_another_currency(capsys, tmp_path, monkeypatch):
    policy = tmp_path / "policy.toml"
    policy.write_text('[store]\ncurrency = "USD"\n')
    monkeypatch.setenv("RETURNSBOT_POLICY", str(policy))
    assert main(["demo", "--sample", "eur", "--database-url", f"sqlite:///{tmp_path / 'demo.db'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["returnsbot: policy [store] currency is USD but the shop prices in EUR (leave it out to use the shop's)"]
