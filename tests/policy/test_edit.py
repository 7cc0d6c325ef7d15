"""One key of a policy file changed as text: the rest of the file kept, the result checked
by the policy loader with its usual messages."""

from __future__ import annotations

import pytest

from policy.config import PolicyError, parse_policy
from policy.edit import parse_assignment, toml_value, with_values

FILE = """# our policy
[returns]
window_days = 30  # the base window
exchange_reasons = [
  "SIZE_TOO_SMALL",  # the usual one
  "COLOR",
]

[risk]
high_value_threshold = 500
"""


def test_a_key_in_the_file_is_replaced_and_everything_else_kept():
    out = with_values(FILE, {"returns.window_days": "45"})
    assert "window_days = 45\n" in out and "# our policy" in out
    assert parse_policy(out).returns.window_days == 45
    assert parse_policy(out).risk.high_value_threshold == 500


def test_a_multi_line_array_is_replaced_whole():
    out = with_values(FILE, {"returns.exchange_reasons": '["STYLE"]'})
    assert [r.value for r in parse_policy(out).returns.exchange_reasons] == ["STYLE"]
    assert "the usual one" not in out


def test_a_key_missing_from_its_table_is_added_to_it_and_a_missing_table_appended():
    out = with_values(FILE, {"risk.lookback_days": "180", "vip.lifetime_spend": "1500",
                             "risk.serial_returner.min_returns": "6"})
    p = parse_policy(out)
    assert (p.risk.lookback_days, p.vip.lifetime_spend, p.risk.serial_returner.min_returns) == (180, 1500, 6)


def test_on_no_file_the_change_is_the_whole_file():
    assert with_values("", {"returns.window_days": "60"}) == "[returns]\nwindow_days = 60\n"


def test_values_are_toml_or_else_strings():
    assert toml_value("45") == "45" and toml_value("true") == "true" and toml_value('["A"]') == '["A"]'
    assert toml_value("soon") == '"soon"' and toml_value('a"b') == '"a\\"b"'


def test_a_typo_or_a_bad_value_is_the_loaders_error_with_the_line():
    with pytest.raises(PolicyError) as typo:
        parse_policy(with_values(FILE, {"returns.windw_days": "45"}), source_name="p.toml with returns.windw_days=45")
    assert str(typo.value) == ("p.toml with returns.windw_days=45:3: unknown key 'windw_days' in [returns] "
                               "(did you mean 'window_days'?)")
    with pytest.raises(PolicyError, match=r":3: returns.window_days: expected a whole number, got 'soon'"):
        parse_policy(with_values(FILE, {"returns.window_days": "soon"}))


@pytest.mark.parametrize("text", ["window_days=45", "returns.window_days", "returns.window_days=", "a b.c=1"])
def test_an_assignment_must_be_table_key_value(text):
    with pytest.raises(PolicyError):
        parse_assignment(text)
