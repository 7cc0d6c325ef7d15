"""assess wires detection to the recommendation; needs_case decides which events get a case."""

from __future__ import annotations

import pytest

from policy.assess import assess, needs_case
from policy.models import Action, CaseKind, SignalCode

from tests.policy.factories import (
    ctx_of,
    customer,
    dispute,
    order,
    policy,
    refund,
    return_ctx,
    return_item,
    risk,
)


def test_assess_returns_signals_and_their_recommendation():
    ctx = return_ctx(return_item(price="600.00", reason="DEFECTIVE"), order=order(received="600.00"))
    a = assess(ctx, policy())
    assert a.kind == CaseKind.RETURN_REQUEST
    assert [s.code for s in a.signals] == [SignalCode.HIGH_VALUE]
    assert (a.recommendation.action, a.recommendation.risk_score, a.recommendation.tier.index) == (
        Action.REFUND, 20, 1,
    )


def test_assess_is_deterministic():
    ctx = return_ctx(customer=customer(tags=("VIP",)), order=order(risk=risk()))
    assert assess(ctx, policy()) == assess(ctx, policy())


def test_return_requests_and_disputes_always_open_a_case():
    clean = assess(return_ctx(), policy())
    assert clean.signals == () and needs_case(CaseKind.RETURN_REQUEST, clean.signals, clean.recommendation)
    d = assess(ctx_of(CaseKind.DISPUTE, dispute=dispute()), policy())
    assert needs_case(CaseKind.DISPUTE, (), d.recommendation)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, False),
        ({"customer": customer(tags=("VIP",))}, True),
        ({"order": order(received="500.00")}, True),
        ({"order": order(risk=risk())}, True),
    ],
    ids=["plain", "vip", "high value", "payment risk"],
)
def test_order_review_opens_a_case_only_for_vip_high_value_or_payment_risk(changes, expected):
    a = assess(ctx_of(CaseKind.ORDER_REVIEW, **changes), policy())
    assert needs_case(CaseKind.ORDER_REVIEW, a.signals, a.recommendation) is expected


@pytest.mark.parametrize(
    ("amount", "received", "extra", "expected"),
    [
        ("100.00", "900.00", {}, False),
        ("100.00", "900.00", {"customer": customer(tags=("VIP",))}, False),  # VIP is not enough
        ("500.00", "900.00", {}, True),
        ("100.00", "50.00", {}, True),  # more than was paid
    ],
    ids=["small", "small vip", "high value", "exceeds paid"],
)
def test_high_value_refund_opens_a_case_only_when_high_or_exceeding(amount, received, extra, expected):
    ctx = ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=refund(amount), order=order(received=received), **extra)
    a = assess(ctx, policy())
    assert needs_case(CaseKind.HIGH_VALUE_REFUND, a.signals, a.recommendation) is expected
