"""The dispute's evidence packet and its recommendation (policy/disputes.py), per reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.disputes import EvidenceField as F, build_packet, recommend, reminders_due
from policy.models import Action, Address, CaseKind, CheckResult, DeliveryStatus, OrderFacts, PaymentRisk, RiskLevel, Shipment
from tests.policy.factories import NOW, ctx_of, customer, delivered, dispute, order, policy, refund, shipment


def dispute_ctx(reason: str = "fraudulent", *, due_in: timedelta | None = timedelta(days=5), **changes):
    d = dispute().model_copy(update={"reason": reason, "evidence_due_by": NOW + due_in if due_in is not None else None})
    return ctx_of(CaseKind.DISPUTE, dispute=d, **changes)


def first_time(**changes):
    return customer().model_copy(update={"orders_count": 1, **changes})


ADDRESS = Address(name="Ada Lovelace", line1="12 St James's Sq", city="London", zip="SW1Y 4JH", country_code="GB")
FACTS = OrderFacts(client_ip="203.0.113.9", billing_address=ADDRESS, shipping_address=ADDRESS,
                   billing_matches_shipping=True)


def checks(cvc=CheckResult.PASS, address=CheckResult.PASS, authenticated=None):
    return (PaymentRisk(source="stripe", level=RiskLevel.LOW, cvc_check=cvc, address_check=address,
                        authenticated=authenticated),)


def test_the_packet_holds_what_the_issuer_weighs():
    signed = Shipment(id="s1", status=DeliveryStatus.DELIVERED, carrier="UPS", tracking_number="1Z999",
                      shipped_at=NOW - timedelta(days=12), delivered_at=NOW - timedelta(days=10), signed_by="A LOVELACE")
    ctx = dispute_ctx("fraudulent", order=order(shipments=(signed,)), order_facts=FACTS, payments=checks(),
                      shipments=(signed,))
    packet = build_packet(ctx, policy('[disputes]\nrefund_policy = "30 days, unworn."'))

    titles = [s.title for s in packet.sections]
    assert titles == ["Order", "Customer", "Payment checks", "Fulfilment and tracking", "Customer messages",
                      "Refunds and returns", "Store policy"]
    text = {s.title: " | ".join(s.lines) for s in packet.sections}
    assert "#1001" in text["Order"] and "Linen Shirt" in text["Order"]
    assert "203.0.113.9" in text["Customer"] and "(same as billing)" in text["Customer"]
    assert text["Payment checks"] == "CVC check: pass | billing address check: pass"
    assert "UPS, tracking 1Z999" in text["Fulfilment and tracking"] and "signed by A LOVELACE" in text["Fulfilment and tracking"]
    assert "none attached" in text["Customer messages"]  # the helpdesk slot, empty until one is connected
    assert text["Store policy"] == "Refund policy: 30 days, unworn."
    fields = packet.fields
    assert fields[F.PURCHASE_IP] == "203.0.113.9"
    assert fields[F.SHIPPING_TRACKING] == "1Z999" and fields[F.SHIPPING_CARRIER] == "UPS"
    assert fields[F.SHIPPING_DATE] == f"{NOW - timedelta(days=12):%Y-%m-%d}"
    assert fields[F.REFUND_POLICY] == "30 days, unworn."
    assert fields[F.SUMMARY].startswith("In short: the card's CVC or billing address matched; delivered to the billing address")
    assert packet.answered


def test_fraud_without_checks_delivery_or_history_is_conceded_with_the_figures():
    ctx = dispute_ctx("fraudulent", order=order(shipments=(shipment(DeliveryStatus.IN_TRANSIT),)),
                      shipments=(shipment(DeliveryStatus.IN_TRANSIT),), customer=first_time())
    action, reasons = recommend(ctx, build_packet(ctx, policy()), policy())
    assert action is Action.CONCEDE
    assert "no card check passed and no 3D Secure; no delivery confirmation" in reasons[0]
    assert "$149.00 and the $15.00 fee" in reasons[0]


def test_3d_secure_answers_a_fraud_claim_on_its_own():
    ctx = dispute_ctx("fraudulent", shipments=(), order=order(shipments=()), customer=first_time(),
                      payments=checks(cvc=CheckResult.UNAVAILABLE, address=CheckResult.FAIL, authenticated=True))
    action, reasons = recommend(ctx, build_packet(ctx, policy()), policy())
    assert action is Action.CONTEST
    assert "passed 3D Secure" in reasons[0]
    assert "Missing: no delivery confirmation." in reasons


@pytest.mark.parametrize("shipments, expected", [
    ((delivered(),), Action.CONTEST),
    ((shipment(DeliveryStatus.IN_TRANSIT, tracking="1Z1"),), Action.CONCEDE),
])
def test_not_received_turns_on_delivery_confirmation(shipments, expected):
    ctx = dispute_ctx("product_not_received", shipments=shipments, order=order(shipments=shipments))
    action, _ = recommend(ctx, build_packet(ctx, policy()), policy())
    assert action is expected


def test_credit_not_processed_answered_by_the_refund_already_made():
    ctx = dispute_ctx("credit_not_processed", order=order(refunded="149.00", refunds=(refund("149.00"),)))
    packet = build_packet(ctx, policy())
    assert recommend(ctx, packet, policy())[0] is Action.CONTEST
    assert "$149.00 already refunded" in packet.strengths


def test_subscription_dispute_needs_the_cancellation_policy():
    ctx = dispute_ctx("subscription_canceled")
    assert recommend(ctx, build_packet(ctx, policy()), policy())[0] is Action.CONCEDE
    with_text = policy('[disputes]\ncancellation_policy = "Cancel any time before renewal."')
    assert recommend(ctx, build_packet(ctx, with_text), with_text)[0] is Action.CONTEST


def test_past_due_evidence_can_only_be_conceded():
    ctx = dispute_ctx("product_not_received", due_in=timedelta(hours=-1))
    action, reasons = recommend(ctx, build_packet(ctx, policy()), policy())
    assert action is Action.CONCEDE and "can't be submitted now" in reasons[0]


def test_shopify_style_upper_case_reasons_are_the_same_reasons():
    ctx = dispute_ctx("PRODUCT_NOT_RECEIVED")
    assert build_packet(ctx, policy()).reason == "product_not_received"


def test_reminders_before_the_due_date():
    due = NOW + timedelta(hours=30)
    assert reminders_due(due, NOW, (72, 24)) == [72]
    assert reminders_due(due, NOW + timedelta(hours=7), (72, 24)) == [72, 24]
    assert reminders_due(due, due, (72, 24)) == []  # past due: nothing left to remind of
    assert reminders_due(None, NOW, (72, 24)) == []


def test_policy_file_typo_in_disputes_names_the_key():
    from policy.config import PolicyError, parse_policy

    with pytest.raises(PolicyError, match="refund_polcy"):
        parse_policy('[disputes]\nrefund_polcy = "x"')
