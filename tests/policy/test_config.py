"""The policy file: defaults, the example, and errors a person can act on (file:line: key)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from policy.config import (
    Policy,
    PolicyError,
    SignalWeights,
    SlackRouting,
    load_policy,
    parse_policy,
)
from policy.models import CaseKind, RiskLevel, SignalCode

EXAMPLE = Path(__file__).resolve().parents[2] / "policy.example.toml"


def error_of(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return str(caught.value)


# --- defaults and the example file ------------------------------------------------------


def test_no_file_gives_the_default_policy():
    assert load_policy(None) == Policy.default() == Policy()


def test_example_file_is_exactly_the_defaults():
    assert load_policy(EXAMPLE) == Policy.default()


def test_example_file_mentions_every_key():
    # The example is the documentation: every key of every table appears in it, set or
    # (for values unset by default) as a commented-out example.
    text = EXAMPLE.read_text()
    for path, model in _tables(Policy, ()):
        for name, field in model.model_fields.items():
            entry = _entry_model(field.annotation)
            if entry is not None:
                assert f"[[{'.'.join(path + (name,))}]]" in text
            elif not _is_model(field.annotation):
                assert f"{name} =" in text, f"{'.'.join(path + (name,))} is not documented"


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _entry_model(annotation: object) -> type[BaseModel] | None:
    """The table type of an array of tables (tuple[Model, ...]), else None."""
    args = getattr(annotation, "__args__", ())
    return args[0] if args and _is_model(args[0]) else None


def _tables(model: type[BaseModel], path: tuple[str, ...]):
    yield path, model
    for name, field in model.model_fields.items():
        inner = field.annotation if _is_model(field.annotation) else _entry_model(field.annotation)
        if inner is not None:
            yield from _tables(inner, path + (name,))  # type: ignore[arg-type]


def test_documented_defaults():
    p = Policy.default()
    assert p.store.currency is None and p.store.timezone is None  # the shop's own (Policy.for_shop)
    assert p.returns.window_days == 30
    assert p.risk.high_value_threshold == Decimal("500")
    assert p.risk.high_payment_risk_levels == (RiskLevel.HIGH,)
    assert p.vip.lifetime_spend == Decimal("2000")
    assert (p.auto_approve.enabled, p.auto_approve.max_amount, p.auto_approve.max_risk_score) == (
        True, Decimal("75"), 20,
    )
    assert p.slack.review_channel is None
    assert [t.up_to for t in p.tiers] == [Decimal("250"), Decimal("1000"), None]
    assert [t.index for t in p.tiers] == [0, 1, 2]


def test_one_weight_and_one_route_per_enum_value():
    # A new SignalCode or CaseKind must get a weight / a routing key.
    assert set(SignalWeights.model_fields) == {c.value for c in SignalCode}
    assert set(SlackRouting.model_fields) == {k.value for k in CaseKind}


def test_policy_is_frozen():
    with pytest.raises(ValidationError):
        Policy.default().returns.window_days = 10  # type: ignore[misc]


# --- reading values -----------------------------------------------------------------------


def test_a_partial_file_keeps_the_other_defaults():
    p = parse_policy("[returns]\nwindow_days = 45\n")
    assert p.returns.window_days == 45
    assert p.returns.final_sale_tags == ("final-sale", "clearance")
    assert p.risk == Policy.default().risk


@pytest.mark.parametrize("written", ["74.99", '"74.99"', "74.990"])
def test_money_is_an_exact_decimal_never_a_float(written):
    p = parse_policy(f"[auto_approve]\nmax_amount = {written}\n")
    assert isinstance(p.auto_approve.max_amount, Decimal)
    assert p.auto_approve.max_amount == Decimal("74.99")


def test_float_money_keeps_its_written_digits():
    # Decimal(0.1) would be 0.1000000000000000055…; str() first keeps what was written.
    p = parse_policy("[risk]\nhigh_value_threshold = 0.1\n")
    assert str(p.risk.high_value_threshold) == "0.1"


def test_full_file_with_slack_tiers_routing_and_overrides():
    p = parse_policy(
        """
[store]
currency = "eur"
timezone = "Europe/Paris"
[[returns.window_overrides]]
tag = "extended-returns"
window_days = 60
[slack]
review_channel = "C0REVIEW01"
[slack.routing]
dispute = "C0DISPUTES"
[[approval_tiers]]
up_to = 100
approvers = ["U0ALICE001"]
[[approval_tiers]]
approvers = ["S0LEADS001", "W0BOB00001"]
"""
    )
    assert p.store.currency == "EUR"  # normalised
    assert p.returns.window_overrides[0].window_days == 60
    assert p.slack.routing.of(CaseKind.DISPUTE) == "C0DISPUTES"
    assert p.tiers[1].up_to is None and p.tiers[1].approvers == ("S0LEADS001", "W0BOB00001")


# --- errors name the file, the line and the key ----------------------------------------------


def test_unknown_key_names_the_key_its_line_and_a_suggestion():
    text = "[store]\ncurrency = \"USD\"\n\n[returns]\nretrun_window = 30\n"
    assert error_of(text) == (
        "policy.toml:5: unknown key 'retrun_window' in [returns] (did you mean 'window_days'?)"
    )


def test_unknown_key_in_a_nested_table_and_in_an_array_entry():
    text = (
        "[risk.serial_returner]\n"
        "min_return = 4\n"
        "[[approval_tiers]]\n"
        "up_to = 250\n"
        "approvers = []\n"
        "[[approval_tiers]]\n"
        "approver = []\n"
    )
    assert error_of(text).splitlines() == [
        "policy.toml:2: unknown key 'min_return' in [risk.serial_returner] (did you mean 'min_returns'?)",
        "policy.toml:6: approval_tiers[1]: missing required key 'approvers'",
        "policy.toml:7: unknown key 'approver' in approval_tiers[1] (did you mean 'approvers'?)",
    ]


def test_unknown_weight_is_not_a_signal_code():
    text = "[risk.weights]\noutside_window = 10\noutside_windw = 10\n"
    assert error_of(text) == (
        "policy.toml:3: unknown key 'outside_windw' in [risk.weights] (did you mean 'outside_window'?)"
    )


def test_unknown_table_is_called_a_table():
    assert error_of("# policy\n[retruns]\nwindow_days = 3\n") == (
        "policy.toml:2: unknown table [retruns] (did you mean [returns]?)"
    )


def test_wrong_type_names_the_dotted_key_and_its_line():
    text = (
        "[[approval_tiers]]\n"
        "up_to = 250\n"
        "approvers = []\n"
        "\n"
        "[[approval_tiers]]\n"
        "# the second tier\n"
        "up_to = \"abc\"\n"
        "approvers = []\n"
    )
    assert error_of(text) == "policy.toml:7: approval_tiers[1].up_to: expected a number, got 'abc'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[tickets]\nstatus_after_send = "done"\n',
            "policy.toml:2: tickets.status_after_send: expected one of 'open', 'pending', 'solved' or 'closed', "
            "got 'done'",
        ),
        (
            "[returns]\nwindow_days = 30.5\n",
            "policy.toml:2: returns.window_days: expected a whole number, got 30.5",
        ),
        (
            "[returns]\nwindow_days = -1\n",
            "policy.toml:2: returns.window_days: must be at least 0, got -1",
        ),
        (
            '[auto_approve]\nenabled = "yes"\n',
            "policy.toml:2: auto_approve.enabled: expected true or false, got 'yes'",
        ),
        (
            "[risk.serial_returner]\nmin_return_rate = 1.5\n",
            "policy.toml:2: risk.serial_returner.min_return_rate: must be at most 1, got 1.5",
        ),
        (
            '[store]\ncurrency = "US"\n',
            "policy.toml:2: store.currency: expected a 3-letter currency code such as USD, got 'US'",
        ),
        (
            '[store]\ntimezone = "Mars/Olympus"\n',
            "policy.toml:2: store.timezone: expected an IANA time zone such as UTC or "
            "America/New_York, got 'Mars/Olympus'",
        ),
        (
            '[slack]\nreview_channel = "#returns"\n',
            "policy.toml:2: slack.review_channel: expected a Slack channel id such as C0123ABCD "
            "(not a channel name), got '#returns'",
        ),
        (
            '[returns]\nexchange_reasons = ["SIZE", "COLOR"]\n',
            "policy.toml:2: returns.exchange_reasons[0]: expected one of 'SIZE_TOO_SMALL', "
            "'SIZE_TOO_LARGE', 'UNWANTED', 'NOT_AS_DESCRIBED', 'WRONG_ITEM', 'DEFECTIVE', 'STYLE', "
            "'COLOR', 'OTHER' or 'UNKNOWN', got 'SIZE'",
        ),
        (
            '[risk]\nhigh_payment_risk_levels = "HIGH"\n',
            "policy.toml:2: risk.high_payment_risk_levels: expected a list, got 'HIGH'",
        ),
        (
            "[vip]\nlifetime_spend = true\n",
            "policy.toml:2: vip.lifetime_spend: expected a number, got true",
        ),
        (
            "[risk.weights]\nvip_customer = -101\n",
            "policy.toml:2: risk.weights.vip_customer: must be at least -100, got -101",
        ),
        (
            'returns = "30 days"\n',
            "policy.toml:1: returns: expected a table, got '30 days'",
        ),
    ],
)
def test_value_errors(text, expected):
    assert error_of(text) == expected


def test_approver_ids_are_slack_user_or_group_ids():
    text = '[[approval_tiers]]\napprovers = ["U0ALICE001", "alice"]\n'
    assert error_of(text) == (
        "policy.toml:2: approval_tiers[0].approvers[1]: expected a Slack user id (U…/W…) "
        "or user-group id (S…), got 'alice'"
    )


def test_tiers_must_increase():
    text = (
        "[[approval_tiers]]\nup_to = 250\napprovers = []\n"
        "[[approval_tiers]]\nup_to = 1000\napprovers = []\n"
        "[[approval_tiers]]\nup_to = 1000\napprovers = []\n"
    )
    assert error_of(text) == (
        "policy.toml:8: approval_tiers[2].up_to: must be greater than the previous tier's up_to (1000)"
    )


def test_only_the_last_tier_may_have_no_limit():
    text = "[[approval_tiers]]\napprovers = []\n[[approval_tiers]]\nup_to = 10\napprovers = []\n"
    assert error_of(text) == (
        "policy.toml:1: approval_tiers[0].up_to: only the last tier may leave out up_to"
    )


def test_tiers_cannot_be_empty():
    assert error_of("approval_tiers = []\n") == (
        "policy.toml:1: approval_tiers: must have at least one tier"
    )


def test_every_problem_is_reported_in_line_order():
    text = "[vip]\nlifetime_spend = \"lots\"\n[returns]\nwindow_days = \"30\"\n"
    assert error_of(text).splitlines() == [
        "policy.toml:2: vip.lifetime_spend: expected a number, got 'lots'",
        "policy.toml:4: returns.window_days: expected a whole number, got '30'",
    ]


def test_lines_inside_multiline_values_are_not_taken_for_keys():
    # Without skipping, 'window_days = 5' inside the string would be reported as line 4.
    text = (
        "[returns]\n"
        "final_sale_tags = [\n"
        '  "final-sale",\n'
        "]\n"
        "exchange_reasons = []  # none\n"
        'window_days = "x"\n'
    )
    assert error_of(text) == "policy.toml:6: returns.window_days: expected a whole number, got 'x'"


def test_toml_syntax_error_keeps_line_and_column():
    assert error_of("[store]\ncurrency = USD\n") == "policy.toml:2:12: invalid TOML: Invalid value"


def test_errors_name_the_file_they_came_from(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text("[returns]\nwindow_days = -3\n")
    with pytest.raises(PolicyError, match=r"shop\.toml:2: returns\.window_days: must be at least 0"):
        load_policy(path)


def test_a_missing_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "nope.toml")


def test_policy_error_is_a_value_error_with_its_problems():
    with pytest.raises(ValueError) as caught:
        parse_policy("[vip]\ncustomer_tags = [1]\n")
    assert isinstance(caught.value, PolicyError)
    assert caught.value.problems == (
        "policy.toml:2: vip.customer_tags[0]: expected a string, got 1",
    )


def test_example_file_is_valid_toml_with_every_section():
    data = tomllib.loads(EXAMPLE.read_text())
    assert set(data) == set(Policy.model_fields)


def test_unknown_array_of_tables_is_reported_on_its_header():
    text = "# tiers\n[[aproval_tiers]]\nup_to = 250\n"
    assert error_of(text) == (
        "policy.toml:2: unknown table [[aproval_tiers]] (did you mean [[approval_tiers]]?)"
    )


# --- [access] lookup ----------------------------------------------------------------------


def test_lookup_access_defaults_to_every_tiers_approvers():
    p = parse_policy('[[approval_tiers]]\nup_to = 250\napprovers = ["U0ALICE001", "S0OPSTEAM1"]\n'
                     '[[approval_tiers]]\napprovers = ["U0HEADOPS1", "U0ALICE001"]\n')
    assert p.access.lookup is None
    assert p.lookup_access == ("U0ALICE001", "S0OPSTEAM1", "U0HEADOPS1")
    assert Policy.default().lookup_access == ()  # nobody, until approvers or [access] are named


def test_lookup_access_takes_users_groups_and_channels():
    p = parse_policy('[access]\nlookup = ["U0ALICE001", "W0GRID0001", "S0OPSTEAM1", "C0OPSROOM1", "G0PRIVATE1"]\n')
    assert p.lookup_access == ("U0ALICE001", "W0GRID0001", "S0OPSTEAM1", "C0OPSROOM1", "G0PRIVATE1")
    assert parse_policy("[access]\nlookup = []\n").lookup_access == ()  # an empty list: nobody


@pytest.mark.parametrize(("text", "expected"), [
    ('# who\n[access]\nlookup = ["alice"]\n',
     "policy.toml:3: access.lookup[0]: expected a Slack user id (U…/W…), user-group id (S…) or channel id "
     "(C…/G…), got 'alice'"),
    ('[access]\n\nlookup = "U0ALICE001"\n', "policy.toml:3: access.lookup: expected a list, got 'U0ALICE001'"),
    ('[access]\nlookups = ["U0ALICE001"]\n', "policy.toml:2: unknown key 'lookups' in [access] (did you mean 'lookup'?)"),
    ('[acces]\nlookup = []\n', "policy.toml:1: unknown table [acces] (did you mean [access]?)"),
])
def test_lookup_access_errors_name_the_line(text, expected):
    assert error_of(text) == expected
