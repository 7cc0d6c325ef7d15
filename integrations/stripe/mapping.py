"""Stripe objects → domain types. Amounts are integer minor units in Stripe; times unix
seconds. Every Stripe field name is read here (or in webhooks.py / link.py)."""

from __future__ import annotations

from datetime import datetime, timezone

from policy.models import Dispute, DisputeStatus, Money, PaymentRisk, RiskLevel
from policy.payments import EarlyFraudWarning, PaymentLink

SOURCE = "stripe"

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


def payment_risk(charge: dict) -> PaymentRisk | None:
    """Radar's view of the charge, with its evidence; None when Radar did not assess it. A
    level without a score is normal (plain Radar has no score)."""
    outcome = charge.get("outcome") or {}
    level = _RISK_LEVELS.get(outcome.get("risk_level") or "")
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
                       facts=tuple(facts), rule=rule_id or None, seller_message=outcome.get("seller_message"))


def fraud_warning(warning: dict, charge: dict, *, order_id: str | None, link: PaymentLink | None) -> EarlyFraudWarning:
    currency = charge["currency"]
    return EarlyFraudWarning(
        id=warning["id"], source=SOURCE, charge_id=charge["id"], order_id=order_id,
        fraud_type=warning.get("fraud_type") or "misc", actionable=bool(warning.get("actionable")),
        amount=money(charge["amount"], currency), refunded=money(charge.get("amount_refunded") or 0, currency),
        created_at=when(warning["created"]), link=link,
    )


def dispute(obj: dict, *, order_id: str | None) -> Dispute:
    """A Stripe dispute as a fact on the order (its own case and evidence packet: later)."""
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
