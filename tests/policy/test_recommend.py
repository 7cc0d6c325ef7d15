"""Each recommendation rule in priority order, the conflicts it names, score and auto-approve."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.detect import detect
from policy.models import Action, CaseKind, DeliveryStatus, Money, ReturnStatus, Signal, SignalCode
from policy.recommend import recommend, risk_score

from tests.policy.factories import (
    DELIVERED_AT,
    ctx_of,
    customer,
    dispute,
    history,
    order,
    past_return,
    policy,
    refund,
    return_ctx,
    return_item,
    risk,
    shipment,
)

LATE = DELIVERED_AT + timedelta(days=31)
VIP = customer(tags=("VIP",))
SERIAL = history(returns=4, orders=20)
FINAL = return_item(tags=("final-sale",), reason="DEFECTIVE")
DEFECTIVE = return_item(reason="DEFECTIVE")


def rec(ctx, p=None):
    p = p or policy()
    return recommend(ctx, detect(ctx, p), p)


# --- rule 1: anything that could pay twice escalates ---------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"open_disputes": (dispute(),)},
        {"order": order(received="149.00", refunded="149.00")},
        {"prior_returns_on_order": (past_return(1, ReturnStatus.APPROVED),)},
    ],
    ids=["open dispute", "refund exceeds paid", "repeat claim"],
)
def test_paying_twice_escalates(changes):
    r = rec(return_ctx(DEFECTIVE, **changes))
    assert r.action == Action.ESCALATE
    assert r.reasons[0] == "Escalate: refunding now could pay out twice."
    assert not r.auto_approve


def test_paying_twice_beats_the_vip_exception():
    r = rec(return_ctx(FINAL, customer=VIP, open_disputes=(dispute(),)))
    assert r.action == Action.ESCALATE
    assert r.conflicts == ()


# --- rule 2 ---------------------------------------------------------------------------------


def test_high_payment_risk_from_a_serial_returner_escalates():
    r = rec(return_ctx(DEFECTIVE, order=order(risk=risk()), history=SERIAL))
    assert r.action == Action.ESCALATE
    assert r.reasons[:3] == (
        "Escalate: high payment risk from a serial returner.",
        "Shopify rates the payment risk HIGH: Billing address does not match.",
        "4 returns in the last 365 days (rate 20%).",
    )


def test_high_payment_risk_alone_refunds_but_a_person_decides():
    r = rec(return_ctx(DEFECTIVE, order=order(risk=risk())))
    assert (r.action, r.auto_approve) == (Action.REFUND, False)


# --- rule 3: final sale and outside window --------------------------------------------------


def test_final_sale_is_denied():
    r = rec(return_ctx(FINAL))
    assert r.action == Action.DENY
    assert r.reasons == ("Deny: outside the return policy.", "Final sale: 'Linen Shirt' is tagged final-sale.")
    assert r.conflicts == ()


def test_final_sale_for_a_vip_becomes_store_credit_and_says_so():
    r = rec(return_ctx(FINAL, customer=VIP, history=history(returns=1, days=730)))
    assert r.action == Action.STORE_CREDIT
    assert r.conflicts == ("final sale, but VIP with 1 return in 2 years → store credit",)


def test_final_sale_vip_exception_holds_even_for_a_serial_returner():
    r = rec(return_ctx(FINAL, customer=VIP, history=SERIAL))
    assert r.action == Action.STORE_CREDIT
    assert r.conflicts == ("final sale, but VIP with 4 returns in 1 year → store credit",)


def test_outside_window_is_denied():
    r = rec(return_ctx(DEFECTIVE, requested_at=LATE))
    assert r.action == Action.DENY
    assert r.reasons[1] == "Requested 31 days after delivery; window is 30 days."


def test_outside_window_for_a_vip_becomes_store_credit_and_says_so():
    r = rec(return_ctx(DEFECTIVE, requested_at=LATE, customer=VIP, history=history(returns=1, days=730)))
    assert r.action == Action.STORE_CREDIT
    assert r.conflicts == ("outside window, but VIP with 1 return in 2 years → store credit",)
    assert r.reasons[-1] == "VIP customer: tagged VIP."


def test_outside_window_for_a_serial_vip_is_still_denied_and_says_why():
    r = rec(return_ctx(DEFECTIVE, requested_at=LATE, customer=VIP, history=SERIAL))
    assert r.action == Action.DENY
    assert r.conflicts == ("outside window and VIP with 4 returns in 1 year, but a serial returner → deny",)


def test_vip_exception_must_cover_every_breach():
    # Final sale alone would be covered, but outside window is not for a serial returner.
    r = rec(return_ctx(FINAL, requested_at=LATE, customer=VIP, history=SERIAL))
    assert r.action == Action.DENY


def test_both_breaches_covered_name_both_conflicts():
    r = rec(return_ctx(FINAL, requested_at=LATE, customer=VIP, history=None))
    assert r.action == Action.STORE_CREDIT
    assert r.conflicts == (
        "final sale, but VIP → store credit",
        "outside window, but VIP → store credit",
    )


# --- rules 4 to 7 ---------------------------------------------------------------------------


def test_not_delivered_escalates_to_check_the_carrier():
    o = order(shipments=(shipment(DeliveryStatus.IN_TRANSIT),))
    r = rec(return_ctx(DEFECTIVE, order=o))
    assert r.action == Action.ESCALATE
    assert r.reasons[0] == "Escalate: nothing is delivered yet, check with the carrier first."


def test_serial_returner_gets_store_credit():
    r = rec(return_ctx(DEFECTIVE, history=SERIAL))
    assert (r.action, r.auto_approve) == (Action.STORE_CREDIT, False)


def test_exchange_when_every_reason_favours_it():
    ctx = return_ctx(
        return_item("li-1", reason="SIZE_TOO_SMALL"), return_item("li-2", "Socks", "10.00", reason="COLOR")
    )
    r = rec(ctx)
    assert r.action == Action.EXCHANGE
    assert r.reasons[0] == "Exchange: returned for size too small, color."


def test_one_other_reason_means_refund():
    ctx = return_ctx(
        return_item("li-1", reason="SIZE_TOO_SMALL"), return_item("li-2", "Socks", "10.00", reason="DEFECTIVE")
    )
    assert rec(ctx).action == Action.REFUND


def test_otherwise_refund():
    r = rec(return_ctx(DEFECTIVE))
    assert r.action == Action.REFUND
    assert r.reasons[0] == "Refund: within the return policy."


# --- other kinds ----------------------------------------------------------------------------


def test_dispute_is_contested_when_its_evidence_answers_it():
    """The default order was delivered to a customer with earlier orders: a fraud claim has
    an answer (policy/disputes.py weighs each reason; tests/policy/test_disputes.py)."""
    r = rec(ctx_of(CaseKind.DISPUTE, dispute=dispute(), shipments=order().shipments))
    assert r.action == Action.CONTEST
    assert "2 earlier orders from this customer" in r.reasons[0]
    assert r.amount == Money.of("149.00", "USD")


def test_high_value_refund_is_acknowledged():
    r = rec(ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=refund("600.00"), order=order(received="900.00")))
    assert (r.action, r.auto_approve) == (Action.ACCEPT, False)


@pytest.mark.parametrize(
    "changes",
    [{"order": order(received="500.00")}, {"order": order(received="900.00", risk=risk())}],
    ids=["exceeds paid", "payment risk"],
)
def test_risky_high_value_refund_escalates(changes):
    ctx = ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=refund("600.00"), **changes)
    assert rec(ctx).action == Action.ESCALATE


def test_order_review_is_acknowledged_unless_payment_risk():
    assert rec(ctx_of(CaseKind.ORDER_REVIEW, customer=VIP)).action == Action.ACCEPT
    assert rec(ctx_of(CaseKind.ORDER_REVIEW, order=order(risk=risk()))).action == Action.ESCALATE


# --- score --------------------------------------------------------------------------------


def sig(code: SignalCode, weight: int) -> Signal:
    return Signal(code=code, weight=weight, explanation="x")


def test_score_is_the_sum_of_weights():
    assert risk_score([sig(SignalCode.OUTSIDE_WINDOW, 25), sig(SignalCode.FINAL_SALE, 20)]) == 45


def test_score_is_clamped_to_0_and_100():
    assert risk_score([sig(SignalCode.VIP_CUSTOMER, -15)]) == 0
    assert risk_score([sig(SignalCode.OPEN_DISPUTE, 50), sig(SignalCode.REFUND_EXCEEDS_PAID, 50),
                       sig(SignalCode.REPEAT_CLAIM, 30)]) == 100


def test_recommendation_carries_the_clamped_score():
    # 25 + 20 + 30 + 40 + 50 + 50 = 215 before clamping
    ctx = return_ctx(
        FINAL,
        requested_at=LATE,
        order=order(received="149.00", refunded="149.00", risk=risk()),
        open_disputes=(dispute(),),
        history=SERIAL,
    )
    assert rec(ctx).risk_score == 100


# --- auto-approve -------------------------------------------------------------------------


def test_clean_small_refund_is_auto_approved():
    r = rec(return_ctx(DEFECTIVE))
    assert r.auto_approve
    assert r.reasons[-1] == "Auto-approved: within policy and at most $75.00."


def test_clean_exchange_is_auto_approved():
    assert rec(return_ctx()).auto_approve


def test_auto_approve_limit_is_inclusive():
    assert rec(return_ctx(return_item(price="75.00", reason="DEFECTIVE"))).auto_approve
    r = rec(return_ctx(return_item(price="75.01", reason="DEFECTIVE")))
    assert not r.auto_approve
    assert r.reasons[-1] == "A person decides: $75.01 is above the $75.00 auto-approve limit."


def test_auto_approve_off_means_a_person_decides():
    r = rec(return_ctx(DEFECTIVE), policy("[auto_approve]\nenabled = false\n"))
    assert not r.auto_approve
    assert r.reasons[-1] == "A person decides: auto-approve is off."


def test_a_vip_lowers_risk_without_blocking_auto_approve():
    r = rec(return_ctx(DEFECTIVE, customer=VIP))
    assert (r.risk_score, r.auto_approve) == (0, True)


def test_a_score_above_the_limit_blocks_auto_approve():
    r = rec(return_ctx(DEFECTIVE, order=order(risk=risk())))
    assert r.reasons[-1] == "A person decides: risk score 40 is above 20."


def test_any_positive_signal_blocks_auto_approve_even_under_the_score_limit():
    p = policy("[risk]\nhigh_value_threshold = 40\n")  # high value: weight 20, score 20 <= 20
    r = rec(return_ctx(DEFECTIVE), p)
    assert (r.risk_score, r.auto_approve) == (20, False)
    assert r.reasons[-1] == "A person decides: high value."


def test_an_amount_in_another_currency_is_never_auto_approved():
    r = rec(return_ctx(DEFECTIVE), policy('[store]\ncurrency = "EUR"\n[risk.weights]\nhigh_value = 0\n'))
    assert not r.auto_approve
    assert r.reasons[-1] == "A person decides: the amount is in USD, the policy's limits in EUR."


def test_only_return_requests_are_auto_approved():
    r = rec(ctx_of(CaseKind.ORDER_REVIEW))
    assert (r.action, r.auto_approve) == (Action.ACCEPT, False)


# --- who and where ------------------------------------------------------------------------


def test_recommendation_names_the_tier_and_channel():
    p = policy('[slack]\nreview_channel = "C0REVIEW01"\n[slack.routing]\ndispute = "C0DISPUTES"\n')
    ctx = return_ctx(return_item(price="300.00", reason="DEFECTIVE"), order=order(received="300.00"))
    r = rec(ctx, p)
    assert (r.tier.index, r.channel) == (1, "C0REVIEW01")
    assert rec(ctx_of(CaseKind.DISPUTE, dispute=dispute()), p).channel == "C0DISPUTES"
