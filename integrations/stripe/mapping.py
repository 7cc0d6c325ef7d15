"""Stripe objects → domain types. Amounts are integer minor units in Stripe; times unix
seconds. Every Stripe field name is read here (or in webhooks.py / link.py)."""

from __future__ import annotations

from datetime import datetime, timezone

from policy.disputes import EvidenceField
from policy.models import CheckResult, Dispute, DisputeStatus, Money, PaymentRisk, RiskLevel
from policy.payments import EarlyFraudWarning, PaymentLink

SOURCE = "stripe"

# Our evidence terms → Stripe's `evidence[...]` text fields (SDK Dispute.Evidence).
EVIDENCE_FIELDS = {
    EvidenceField.CUSTOMER_NAME: "customer_name", EvidenceField.CUSTOMER_EMAIL: "customer_email_address",
    EvidenceField.PURCHASE_IP: "customer_purchase_ip", EvidenceField.BILLING_ADDRESS: "billing_address",
    EvidenceField.SHIPPING_ADDRESS: "shipping_address", EvidenceField.SHIPPING_CARRIER: "shipping_carrier",
    EvidenceField.SHIPPING_TRACKING: "shipping_tracking_number", EvidenceField.SHIPPING_DATE: "shipping_date",
    EvidenceField.PRODUCT_DESCRIPTION: "product_description",
    EvidenceField.REFUND_POLICY: "refund_policy_disclosure",
    EvidenceField.CANCELLATION_POLICY: "cancellation_policy_disclosure",
    EvidenceField.REFUND_REFUSAL: "refund_refusal_explanation", EvidenceField.SUMMARY: "uncategorized_text",
}
# Statuses in which Stripe still takes evidence.
RESPONDABLE = frozenset({"warning_needs_response", "needs_response", "appeal_needs_response"})


def evidence_params(evidence: dict[str, str]) -> dict[str, str]:
    """Our evidence (EvidenceField values → text) as Stripe's `evidence` hash."""
    return {EVIDENCE_FIELDS[EvidenceField(k)]: v for k, v in evidence.items() if v}

# Radar's risk_level → ours. `not_assessed` (non-card or old charges) and `unknown` (the
# evaluation failed) are not risk: no assessment at all.
_RISK_LEVELS = {"normal": RiskLevel.LOW, "elevated": RiskLevel.MEDIUM, "highest": RiskLevel.HIGH}

# Stripe dispute statuses → ours (SDK 2026-10, with the appeal_* and prevented values).
_DISPUTE_STATUS = {
    "warning_needs_response": DisputeStatus.NEEDS_RESPONSE, "needs_response": DisputeStatus.NEEDS_RESPONSE,
    "appeal_needs_response": DisputeStatus.NEEDS_RESPONSE,
    "warning_under_review": DisputeStatus.UNDER_REVIEW, "under_review": DisputeStatus.UNDER_REVIEW,
    "appeal_under_review": DisputeStatus.UNDER_REVIEW,
    "won": DisputeStatus.WON, "warning_closed": DisputeStatus.WON, "prevented": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}


def when(unix: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(unix), tz=timezone.utc) if unix is not None else None


def money(minor: int, currency: str) -> Money:
    return Money.from_minor(int(minor), currency.upper())


def charge_id_of(obj: dict) -> str:
    charge = obj.get("charge")
    return charge["id"] if isinstance(charge, dict) else str(charge)


_CHECKS = {"pass": CheckResult.PASS, "fail": CheckResult.FAIL}  # else unavailable / unchecked


def _check(value: object) -> CheckResult | None:
    return _CHECKS.get(value, CheckResult.UNAVAILABLE) if isinstance(value, str) else None


def card_checks(charge: dict) -> dict:
    """The card network's checks at payment (`payment_method_details.card.checks`, and
    3D Secure's `result`), as PaymentRisk fields. The address check is the postal code's
    when it ran, else line 1's."""
    card = ((charge.get("payment_method_details") or {}).get("card")) or {}
    checks = card.get("checks") or {}
    postal, line1 = _check(checks.get("address_postal_code_check")), _check(checks.get("address_line1_check"))
    address = postal if postal not in (None, CheckResult.UNAVAILABLE) else (line1 or postal)
    secure = (card.get("three_d_secure") or {}).get("result")
    return {"cvc_check": _check(checks.get("cvc_check")), "address_check": address,
            "authenticated": {"authenticated": True, "failed": False}.get(secure) if isinstance(secure, str) else None}


def checks_only(charge: dict) -> PaymentRisk | None:
    """The card checks of a charge Radar did not assess (a dispute's evidence needs them
    anyway), as a risk of no level; None when no check ran either."""
    checks = card_checks(charge)
    return PaymentRisk(source=SOURCE, level=RiskLevel.NONE, **checks) if any(
        v is not None for v in checks.values()) else None


def payment_risk(charge: dict) -> PaymentRisk | None:
    """Radar's view of the charge, with its evidence and the card checks; None when Radar
    did not assess it (`not_assessed` is not risk). A level without a score is normal
    (plain Radar has no score)."""
    outcome = charge.get("outcome") or {}
    level = _RISK_LEVELS.get(outcome.get("risk_level") or "")
    checks = card_checks(charge)
    if level is None:
        return None
    score = outcome.get("risk_score")
    rule = outcome.get("rule")
    rule_id = rule.get("id") if isinstance(rule, dict) else rule
    facts = [f"Radar risk level {outcome['risk_level']}"]
    if isinstance(score, int):
        facts.append(f"Radar score {score}")
    if outcome.get("reason"):
        facts.append(f"reason {outcome['reason']}")
    if rule_id:
        facts.append(f"rule {rule_id}")
    return PaymentRisk(source=SOURCE, level=level, score=score if isinstance(score, int) else None,
                       facts=tuple(facts), rule=rule_id or None, seller_message=outcome.get("seller_message"),
                       **checks)


def fraud_warning(warning: dict, charge: dict, *, order_id: str | None, link: PaymentLink | None) -> EarlyFraudWarning:
    currency = charge["currency"]
    return EarlyFraudWarning(
        id=warning["id"], source=SOURCE, charge_id=charge["id"], order_id=order_id,
        fraud_type=warning.get("fraud_type") or "misc", actionable=bool(warning.get("actionable")),
        amount=money(charge["amount"], currency), refunded=money(charge.get("amount_refunded") or 0, currency),
        created_at=when(warning["created"]), link=link,
    )


def dispute(obj: dict, *, order_id: str | None) -> Dispute:
    """A Stripe dispute, on the order it is linked to."""
    details = obj.get("evidence_details") or {}
    card = (obj.get("payment_method_details") or {}).get("card") or {}
    return Dispute(
        id=obj["id"], order_id=order_id, status=_DISPUTE_STATUS.get(obj.get("status", ""), DisputeStatus.UNDER_REVIEW),
        reason=obj.get("reason"), amount=money(obj["amount"], obj["currency"]), initiated_at=when(obj["created"]),
        evidence_due_by=when(details.get("due_by")), source=SOURCE,
        network_reason_code=obj.get("network_reason_code") or card.get("network_reason_code"),
        charge_id=charge_id_of(obj),
    )


def resolved_reason(warning: dict, charge: dict) -> str:
    """Why a warning stopped being actionable, for the card."""
    if charge.get("refunded"):
        return "the payment is fully refunded"
    if charge.get("disputed"):
        return "the payment is disputed (a dispute case follows it)"
    return "Stripe marks the warning as no longer actionable"
