"""The card shows what the customer was charged when it is another currency than the
shop's (a multi-currency order): shop money first, since that is what the policy compares."""

from __future__ import annotations

from blocks.card import fallback_text, header_text, render_case_card
from policy.models import Money
from tests.blocks.sample import case_view, recommendation


def eur_view(**kw):
    amount = Money.of("145.00", "EUR")
    return case_view(amount=amount, recommendation=recommendation(amount="145.00").model_copy(update={"amount": amount}),
                     **kw)


def test_a_multi_currency_return_shows_both_amounts():
    view = eur_view(charged=Money.of("124.10", "GBP"))
    assert header_text(view) == "Return request · #1001 · €145.00 · charged £124.10"
    assert "€145.00 · charged £124.10" in fallback_text(view)
    card = render_case_card(view)
    assert card["blocks"][0]["text"]["text"] == "Return request · #1001 · €145.00 · charged £124.10"


def test_one_currency_shows_one_amount():
    assert header_text(eur_view()) == "Return request · #1001 · €145.00"
    assert "charged" not in header_text(eur_view(charged=Money.of("145.00", "EUR")))


def test_zero_decimal_amounts_render_exactly():
    view = eur_view(charged=Money.of("19800", "JPY"))
    assert header_text(view).endswith("€145.00 · charged ¥19,800")
