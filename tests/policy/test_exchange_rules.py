"""The exchange rules: which follow-up choices a reason offers, when stock can fill an
exchange, the out-of-stock follow-up, and what an exchange's receipt means."""

from __future__ import annotations

import pytest

from policy.exchange_rules import (
    CLOSE,
    EXCHANGE_OUT_OF_STOCK,
    allowed_choices,
    choice_allowed,
    exchange_receipt,
    in_stock,
    out_of_stock_followup,
)
from policy.lifecycle import DisposedLine, Disposition
from policy.lifecycle_rules import ApprovedLine, FollowUp
from policy.models import Money

EUR = "EUR"


def eur(a: str) -> Money:
    return Money.of(a, EUR)


def test_an_exchange_out_of_stock_offers_refund_or_store_credit_only():
    assert allowed_choices(EXCHANGE_OUT_OF_STOCK) == ("refund", "store_credit")
    assert allowed_choices("missing") == ("refund", "partial_refund", "store_credit", "no_refund")
    assert allowed_choices(None) == allowed_choices("")  # an unknown reason keeps every choice
    oos = {"reason": EXCHANGE_OUT_OF_STOCK}
    assert choice_allowed(oos, "store_credit") and not choice_allowed(oos, "no_refund")
    assert not choice_allowed(None, "refund")


@pytest.mark.parametrize("wanted, available, tracked, oversell, expected", [
    (1, 1, True, False, True),
    (2, 1, True, False, False),
    (1, 0, True, True, True),
    (5, None, True, False, True),
    (5, 0, False, False, True),
    (1, -2, True, False, False),  # oversold already
])
def test_in_stock(wanted, available, tracked, oversell, expected):
    assert in_stock(wanted=wanted, available=available, tracked=tracked, oversell=oversell) is expected


def test_the_out_of_stock_followup_names_the_items_and_recommends_store_credit():
    fu = out_of_stock_followup(["Sweater — M"], amount=eur("64.50"))
    assert (fu.reason, fu.recommended, fu.suggested_amount, fu.refundable) == (
        EXCHANGE_OUT_OF_STOCK, "store_credit", eur("64.50"), eur("64.50"))
    assert fu.summary.startswith("Sweater — M is out of stock") and "€64.50" in fu.summary
    many = out_of_stock_followup(["A", "B", "C", "D", "E"], amount=eur("1"))
    assert many.summary.startswith("A, B, C and 2 more are out of stock")
    assert out_of_stock_followup([""], amount=eur("1")).summary.startswith("an exchange item is")


LINES = [ApprovedLine("rl-1", 2, eur("30.00"), "Sweater")]


def test_every_item_back_as_accepted_closes_the_exchange():
    back = [DisposedLine(return_line_id="rl-1", quantity=2, disposition=Disposition.RESTOCKED)]
    assert exchange_receipt(LINES, back, amount=eur("60.00")) == CLOSE


def test_an_item_missing_after_the_exchange_recommends_no_refund():
    back = [DisposedLine(return_line_id="rl-1", quantity=1, disposition=Disposition.RESTOCKED),
            DisposedLine(return_line_id="rl-1", quantity=1, disposition=Disposition.MISSING)]
    fu = exchange_receipt(LINES, back, amount=eur("60.00"))
    assert isinstance(fu, FollowUp)
    assert (fu.reason, fu.recommended, fu.suggested_amount) == ("missing", "no_refund", eur("0"))
    assert fu.summary == "1 of 2 items missing, the exchange already released"


def test_accepted_dispositions_follow_the_policy():
    back = [DisposedLine(return_line_id="rl-1", quantity=2, disposition=Disposition.PROCESSING_REQUIRED)]
    assert isinstance(exchange_receipt(LINES, back, amount=eur("60.00")), FollowUp)
    assert exchange_receipt(LINES, back, amount=eur("60.00"),
                            accepted=(Disposition.RESTOCKED, Disposition.PROCESSING_REQUIRED)) == CLOSE
