"""[shipping] in the policy file: defaults in one place, line-numbered errors."""

from __future__ import annotations

import pytest

from policy.config import Policy, PolicyError, parse_policy


def test_defaults():
    shipping = Policy.default().shipping
    assert (shipping.ship_within_days, shipping.late_after_days) == (3, 2)
    assert parse_policy("[shipping]\nlate_after_days = 5\n").shipping.late_after_days == 5


@pytest.mark.parametrize("text, problem", [
    ("[store]\ncurrency = \"USD\"\n\n[shipping]\nship_within_days = 0\n", "policy.toml:5: shipping.ship_within_days"),
    ("[shipping]\nlate_after_days = \"two\"\n", "policy.toml:2: shipping.late_after_days"),
    ("[shipping]\nlate_after_day = 2\n", "policy.toml:2: unknown key 'late_after_day' in [shipping]"),
])
def test_errors_name_the_line_and_key(text, problem):
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert str(err.value).startswith(problem), str(err.value)
