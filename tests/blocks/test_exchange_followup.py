"""The exchange-out-of-stock follow-up on the card: it names the item, recommends store
credit, and offers only Refund and Store credit; other follow-ups keep all four choices."""

from __future__ import annotations

from dataclasses import replace

from blocks.card import render_case_card
from blocks.followup import followup_choices
from blocks.ids import ActionId
from blocks.views import FollowupView
from policy.exchange_rules import out_of_stock_followup
from policy.models import Money
from tests.blocks.limits import all_strings, check_limits
from tests.blocks.sample import INJECTION, RAW, case_view


def _eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def _view(title: str = "Merino sweater — M"):
    """The follow-up as the exchange service opens it, through the card's view of the column."""
    from bot.services.card_view import followup_view

    column = out_of_stock_followup([title], amount=_eur("64.50")).as_column(opened_at="2026-11-02T14:00:00+00:00")
    return case_view(followup=followup_view(column))


def _buttons(card: dict) -> list[dict]:
    return [el for b in card["blocks"] if b["type"] == "actions" for el in b["elements"]]


def test_only_refund_and_store_credit_are_offered_with_store_credit_primary() -> None:
    card = render_case_card(_view())
    check_limits(card)
    assert [b["action_id"] for b in _buttons(card)] == [ActionId.FOLLOWUP_REFUND, ActionId.FOLLOWUP_CREDIT]
    assert [b["action_id"] for b in _buttons(card) if b.get("style") == "primary"] == [ActionId.FOLLOWUP_CREDIT]


def test_the_card_names_the_item_and_what_is_given_back() -> None:
    text = "\n".join(all_strings(render_case_card(_view())))
    assert "*Exchange out of stock*" in text and "Exception at receipt" not in text
    assert "Merino sweater — M is out of stock" in text
    assert "→ *store credit*" in text
    assert "Left to refund: €64.50" in text


def test_a_hostile_item_title_is_escaped() -> None:
    card = render_case_card(_view(title=INJECTION))
    for text in all_strings(card):
        for raw in RAW:
            assert raw not in text


def test_other_followups_keep_every_choice() -> None:
    missing = FollowupView(reason="missing", summary="1 of 2 items missing", recommended="partial_refund",
                           suggested_amount=_eur("32.25"), refundable=_eur("64.50"))
    view = case_view(followup=missing)
    assert followup_choices(view) == ("refund", "partial_refund", "store_credit", "no_refund")
    assert len(_buttons(render_case_card(view))) == 4
    assert followup_choices(case_view(followup=replace(missing, reason="exchange_out_of_stock"))) == (
        "refund", "store_credit")
