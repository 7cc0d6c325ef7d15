"""Money arithmetic skips re-validating what is known valid: the results must be exactly
the Money the validating constructor builds."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from policy.models import CurrencyMismatch, Money


def _validated(amount: str, currency: str = "USD") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


@pytest.mark.parametrize(("result", "expected"), [
    (lambda: _validated("12.50") + _validated("0.75"), ("13.25", "USD")),
    (lambda: _validated("12.50") - _validated("20"), ("-7.50", "USD")),
    (lambda: _validated("19.99") * 3, ("59.97", "USD")),
    (lambda: _validated("1000", "jpy") * 2, ("2000", "JPY")),
])
def test_arithmetic_results_are_the_validated_money(result, expected):
    got, want = result(), _validated(*expected)
    assert got == want and hash(got) == hash(want)
    assert got.model_dump() == want.model_dump() and got.model_dump_json() == want.model_dump_json()
    assert str(got.amount) == expected[0]
    assert got.model_fields_set == want.model_fields_set
    with pytest.raises(ValidationError):
        got.amount = Decimal(1)  # still frozen


def test_arithmetic_still_refuses_mixed_currencies_and_non_finite_results():
    with pytest.raises(CurrencyMismatch):
        _validated("1") + _validated("1", "EUR")
    with pytest.raises(ArithmeticError):  # the decimal context traps overflow: no infinite Money
        Money(amount=Decimal("9E+999999"), currency="USD") * 10
    for odd in (Decimal("Infinity"), Decimal("NaN"), 1.5):  # the guard hands anything else to validation
        with pytest.raises(ValidationError):
            Money._derived(odd, "USD")


def test_zero_is_shared_per_currency_and_still_validates():
    assert Money.zero("usd") == _validated("0") and Money.zero("USD") is Money.zero("USD")
    with pytest.raises(ValidationError):
        Money.zero("U$D")
    with pytest.raises(ValidationError):
        Money.zero("U$D")  # a refused currency is not remembered


def test_format_unchanged():
    cases = {("1234.5", "USD"): "$1,234.50", ("-0.005", "USD"): "-$0.01", ("1234.5", "JPY"): "¥1,235",
             ("2.0005", "KWD"): "2.001 KWD", ("999999.999", "SEK"): "1,000,000.00 SEK", ("0", "EUR"): "€0.00"}
    for (amount, currency), text in cases.items():
        assert _validated(amount, currency).format() == text


def test_money_takes_decimals_strings_and_ints_refuses_floats_and_odd_currencies():
    """What Money accepts, as every connector and stored snapshot hands it in (the currency
    check is pydantic's own pattern: no Python call per Money read from a snapshot)."""
    assert Money(amount="12.50", currency="usd") == _validated("12.50")
    assert Money(amount=12, currency="USD").amount == Decimal(12)
    assert Money.model_validate_json('{"amount": "12.50", "currency": "eur"}') == _validated("12.50", "EUR")
    for amount in (12.5, 0.1):
        with pytest.raises(ValidationError, match="must not be floats"):
            Money(amount=amount, currency="USD")
    for currency in ("US", "USDX", "U$D", "US1", "ÄBC", ""):
        with pytest.raises(ValidationError):
            Money(amount=Decimal(1), currency=currency)


def test_a_policy_limit_is_built_once_and_keeps_its_digits():
    assert Money.limit(Decimal("500"), "USD") is Money.limit(Decimal("500"), "USD")
    assert Money.limit(Decimal("500"), "USD") == _validated("500")
    assert str(Money.limit(Decimal("500.00"), "USD").amount) == "500.00"  # not the cached 500
    assert Money.limit(Decimal("500"), "EUR").currency == "EUR"


def test_total_is_the_money_sum_and_refuses_mixed_currencies():
    from policy.models import total

    items = [_validated("19.99"), _validated("0.01"), _validated("5.50")]
    assert total(items, "usd") == _validated("25.50") and str(total(items, "USD").amount) == "25.50"
    assert total([], "EUR") is Money.zero("EUR")
    assert total((m for m in items), "USD") == _validated("25.50")  # any iterable, consumed once
    with pytest.raises(CurrencyMismatch, match="USD vs EUR"):
        total([_validated("1"), _validated("1", "EUR")], "USD")
    with pytest.raises(ValidationError):
        total([], "U$D")
