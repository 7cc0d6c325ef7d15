"""Radar risk, warnings and disputes mapped to domain types; payment ↔ order links, each
method, and the cases where there is no link (never a silent guess)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integrations.sample.store import SampleStore
from integrations.stripe import mapping
from integrations.stripe.link import link_charge
from policy.models import DisputeStatus, Money, RiskLevel
from policy.payments import LinkMethod

FIXTURES = json.loads((Path(__file__).parent / "data" / "fixtures3_objects.json").read_text())
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def charge(**outcome):
    return {**FIXTURES["charge"], "outcome": {**FIXTURES["charge"]["outcome"], **outcome}}


def test_the_fixture_charge_has_no_radar_assessment():
    assert mapping.payment_risk(FIXTURES["charge"]) is None


@pytest.mark.parametrize("level", ["not_assessed", "unknown"])
def test_not_assessed_and_unknown_are_not_risk(level):
    assert mapping.payment_risk(charge(risk_level=level, risk_score=99)) is None


def test_a_level_without_a_score_is_normal_plain_radar():
    risk = mapping.payment_risk(charge(risk_level="highest"))
    assert (risk.level, risk.score, risk.source) == (RiskLevel.HIGH, None, "stripe")
    assert risk.facts == ("Radar risk level highest",)


def test_elevated_with_score_rule_and_seller_message_are_evidence():
    risk = mapping.payment_risk(charge(risk_level="elevated", risk_score=71, reason="rule",
                                       rule={"id": "rule_123", "action": "review", "predicate": ":risk_score: > 65"},
                                       seller_message="Stripe evaluated this payment as having elevated risk."))
    assert (risk.level, risk.score, risk.rule) == (RiskLevel.MEDIUM, 71, "rule_123")
    assert risk.seller_message.startswith("Stripe evaluated")
    assert "Radar score 71" in risk.facts and "rule rule_123" in risk.facts
    assert mapping.payment_risk(charge(risk_level="normal", risk_score=12)).level is RiskLevel.LOW


def test_the_fixture_warning_maps_with_money_from_the_charge():
    w = mapping.fraud_warning(FIXTURES["radar.early_fraud_warning"], {**FIXTURES["charge"], "amount": 4999,
                                                                      "amount_refunded": 999},
                              order_id="gid://shopify/Order/1", link=None)
    assert w.id == "issfr_1Pgc79B7WZ01zgkWxwDzEIPX" and w.fraud_type == "misc" and w.actionable
    assert (w.amount, w.refunded, w.left_to_refund) == (Money.of("49.99", "USD"), Money.of("9.99", "USD"),
                                                        Money.of("40.00", "USD"))
    assert w.created_at == datetime.fromtimestamp(1234567890, tz=timezone.utc)


def test_the_fixture_dispute_maps_with_network_reason_code_and_due_date():
    d = mapping.dispute(FIXTURES["dispute"], order_id=None)
    assert (d.status, d.reason, d.network_reason_code, d.source) == (DisputeStatus.NEEDS_RESPONSE, "general", "10.4",
                                                                     "stripe")
    assert d.charge_id == "ch_1PgafuB7WZ01zgkWXYmPNZs8" and d.amount == Money.of("10.00", "USD")
    assert d.evidence_due_by == datetime.fromtimestamp(1723679999, tz=timezone.utc)
    for status, ours in [("prevented", DisputeStatus.WON), ("appeal_needs_response", DisputeStatus.NEEDS_RESPONSE),
                         ("lost", DisputeStatus.LOST), ("warning_closed", DisputeStatus.WON)]:
        assert mapping.dispute({**FIXTURES["dispute"], "status": status}, order_id=None).status is ours


@pytest.fixture
def store():
    return SampleStore.load(now=NOW)


def _charge_for(order, **extra):
    return {**FIXTURES["charge"], "id": "ch_link1", "amount": order.total.to_minor(),
            "currency": order.currency.lower(), "created": int(order.created_at.timestamp()) + 60,
            "metadata": {}, "receipt_email": None, "billing_details": {"email": None}, **extra}


def test_link_by_the_orders_payment_transaction_first(store):
    order = store.find_orders("1001")[0]

    class WithTransactions:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def order_for_payment(self, ids):
            return order if "pi_123" in ids else None

    other = store.find_orders("1002")[0]
    linked = link_charge(_charge_for(order, payment_intent="pi_123", metadata={"order_name": other.name}),
                         WithTransactions(store))
    assert linked[0].id == order.id and linked[1].method is LinkMethod.TRANSACTION


@pytest.mark.parametrize("metadata", [{"order_name": "#1001"}, {"order_name": "1001"},
                                      {"order_id": "5001000001"}, {"order_id": "gid://shopify/Order/5001000001"},
                                      {"shopify_order_id": "5001000001"}])
def test_link_by_metadata(store, metadata):
    order = store.find_orders("1001")[0]
    linked = link_charge(_charge_for(order, metadata=metadata), store)
    assert linked is not None and linked[0].id == order.id
    assert linked[1].method is LinkMethod.METADATA and "metadata" in linked[1].detail


def test_metadata_naming_an_order_that_does_not_exist_is_no_link(store):
    order = store.find_orders("1001")[0]
    assert link_charge(_charge_for(order, metadata={"order_name": "#999999", "order_id": "123"}), store) is None


def test_fallback_email_amount_and_time(store):
    order = store.find_orders("1001")[0]
    linked = link_charge(_charge_for(order, receipt_email=order.email), store)
    assert linked[0].id == order.id and linked[1].method is LinkMethod.EMAIL_AMOUNT
    assert "check it" in linked[1].method.label


def test_fallback_refuses_a_different_amount_or_a_day_apart(store):
    order = store.find_orders("1001")[0]
    assert link_charge(_charge_for(order, receipt_email=order.email, amount=order.total.to_minor() + 1), store) is None
    later = int(order.created_at.timestamp()) + 2 * 86400
    assert link_charge(_charge_for(order, receipt_email=order.email, created=later), store) is None
