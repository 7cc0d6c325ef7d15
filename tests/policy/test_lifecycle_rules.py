"""refund_on overrides and what the dispositions at receipt mean for the refund."""

from decimal import Decimal

from policy.config import RefundOn, ReturnsSettings, parse_policy
from policy.lifecycle import DisposedLine, Disposition
from policy.lifecycle_rules import ApprovedLine, AutoRefund, FollowUp, evaluate_receipt, refund_on_for
from policy.models import Money


def eur(x):
    return Money.of(x, "EUR")


LINES = [ApprovedLine("rl1", 1, eur("32.25")), ApprovedLine("rl2", 1, eur("32.25"))]


def test_refund_on_defaults_to_approval_and_rules_override_in_order():
    assert refund_on_for(ReturnsSettings(), tags=[], amount=eur(10)) is RefundOn.APPROVAL
    p = parse_policy('''
[returns]
refund_on = "approval"
[[returns.refund_on_rule]]
segment = "serial_returner"
refund_on = "receipt"
[[returns.refund_on_rule]]
tag = "Big-Ticket"
min_amount = 200
max_amount = 1000
refund_on = "receipt"
''')
    r = p.returns
    assert refund_on_for(r, tags=["big-ticket"], amount=eur(200)) is RefundOn.RECEIPT
    assert refund_on_for(r, tags=["big-ticket"], amount=eur(1000)) is RefundOn.APPROVAL
    assert refund_on_for(r, tags=["other"], amount=eur(500)) is RefundOn.APPROVAL
    assert refund_on_for(r, tags=[], amount=eur(5), segments=["serial_returner"]) is RefundOn.RECEIPT


def test_bad_refund_on_names_the_key_and_line():
    import pytest
    from policy.config import PolicyError
    with pytest.raises(PolicyError) as err:
        parse_policy('[returns]\nrefund_on = "later"\n')
    assert "refund_on" in str(err.value) and ":2" in str(err.value)


def test_all_restocked_refunds_automatically():
    d = [DisposedLine(return_line_id="rl1", quantity=1, disposition=Disposition.RESTOCKED),
         DisposedLine(return_line_id="rl2", quantity=1, disposition=Disposition.RESTOCKED)]
    assert evaluate_receipt(LINES, d, decided=eur("64.50"), refundable=eur("64.50")) == AutoRefund(eur("64.50"))


def test_one_missing_recommends_partial_refund_of_the_rest():
    d = [DisposedLine(return_line_id="rl1", quantity=1, disposition=Disposition.RESTOCKED),
         DisposedLine(return_line_id="rl2", quantity=1, disposition=Disposition.MISSING)]
    out = evaluate_receipt(LINES, d, decided=eur("64.50"), refundable=eur("64.50"))
    assert isinstance(out, FollowUp)
    assert (out.reason, out.recommended, out.suggested_amount) == ("missing", "partial_refund", eur("32.25"))
    assert out.summary == "1 of 2 items missing → partial refund €32.25"


def test_damaged_item_and_cap_at_refundable():
    d = [DisposedLine(return_line_id="rl1", quantity=1, disposition=Disposition.RESTOCKED),
         DisposedLine(return_line_id="rl2", quantity=1, disposition=Disposition.NOT_RESTOCKED)]
    out = evaluate_receipt(LINES, d, decided=eur("64.50"), refundable=eur("20"))
    assert out.reason == "not_restocked" and out.suggested_amount == eur("20")


def test_nothing_accepted_recommends_no_refund_and_fewer_received():
    d = [DisposedLine(return_line_id="rl1", quantity=1, disposition=Disposition.NOT_RESTOCKED)]
    out = evaluate_receipt(LINES[:1], d, decided=eur("32.25"), refundable=eur("32.25"))
    assert out.recommended == "no_refund" and out.suggested_amount.amount == Decimal(0)
    out = evaluate_receipt(LINES, d[:0] + [DisposedLine(return_line_id="rl1", quantity=1,
                                                         disposition=Disposition.RESTOCKED)],
                           decided=eur("64.50"), refundable=eur("64.50"))
    assert out.reason == "fewer_received" and out.summary.startswith("1 of 2 items received")


def test_exceeding_what_is_left_opens_followup():
    d = [DisposedLine(return_line_id="rl1", quantity=1, disposition=Disposition.RESTOCKED),
         DisposedLine(return_line_id="rl2", quantity=1, disposition=Disposition.RESTOCKED)]
    out = evaluate_receipt(LINES, d, decided=eur("64.50"), refundable=eur("50"))
    assert out.reason == "exceeds_refundable" and out.suggested_amount == eur("50")
