"""Small formatting helpers shared by the renderers: labels, mentions, times, outcomes."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

from policy.detect import SIGNAL_LABELS
from policy.models import Action, CaseKind, Money, SignalCode, Tier, approve_outcome

from blocks.escape import escape_mrkdwn, one_line

KIND_LABELS: dict[CaseKind, str] = {
    CaseKind.RETURN_REQUEST: "Return request",
    CaseKind.HIGH_VALUE_REFUND: "High-value refund",
    CaseKind.DISPUTE: "Dispute",
    CaseKind.ORDER_REVIEW: "Order review",
    CaseKind.EARLY_FRAUD_WARNING: "Early fraud warning",
    CaseKind.DELAYED_SHIPMENT: "Delayed shipment",
    CaseKind.TICKET: "Support ticket",
}

# `{date_short_pretty}` reads "today"/"yesterday"/"Nov 2, 2026"; `{time}` follows the
# viewer's own clock and time-zone settings.
DATE_TIME = "{date_short_pretty} at {time}"
DATE = "{date_short_pretty}"

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}", re.ASCII)
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}", re.ASCII)


def kind_label(kind: CaseKind) -> str:
    return KIND_LABELS.get(kind, str(kind).replace("_", " ").capitalize())


def signal_label(code: SignalCode | str) -> str:
    try:
        return SIGNAL_LABELS[SignalCode(code)]
    except (KeyError, ValueError):
        return str(code).replace("_", " ")


def reason_label(reason: str) -> str:
    """Shopify's ReturnReason in words: SIZE_TOO_SMALL → "Size too small"."""
    return reason.replace("_", " ").strip().capitalize()


def mention(slack_id: str | None) -> str:
    """`<@U123>` for a user, `<!subteam^S123>` for a user group, else the id as plain text."""
    if slack_id and _USER_ID.fullmatch(slack_id):
        return f"<@{slack_id}>"
    if slack_id and _GROUP_ID.fullmatch(slack_id):
        return f"<!subteam^{slack_id}>"
    return escape_mrkdwn(slack_id or "someone", 80)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return when.astimezone(timezone.utc)


def slack_date(when: datetime, fmt: str = DATE_TIME) -> str:
    """`<!date^unix^format|fallback>`: every viewer sees the time in their own zone.

    The fallback (clients that cannot render the token, notifications) is UTC.
    """
    at = _utc(when)
    fallback = at.strftime("%Y-%m-%d %H:%M UTC") if "{time" in fmt else at.strftime("%Y-%m-%d")
    return f"<!date^{int(at.timestamp())}^{fmt}|{fallback}>"


def utc_text(when: datetime) -> str:
    """Plain UTC time for places where tokens are not rendered (the `text` fallback)."""
    return _utc(when).strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ago(then: datetime, now: datetime) -> str:
    """Relative time: "just now", "5 minutes ago", "3 days ago", "in 2 days"."""
    seconds = (_utc(now) - _utc(then)).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    minutes, hours, days = int(seconds // 60), int(seconds // 3600), int(seconds // 86400)
    if hours < 1:
        span = _plural(minutes, "minute")
    elif days < 1:
        span = _plural(hours, "hour")
    elif days < 60:
        span = _plural(days, "day")
    elif days < 730:
        span = _plural(days // 30, "month")
    else:
        span = _plural(days // 365, "year")
    return f"in {span}" if future else f"{span} ago"


def whole_money(amount: Money) -> str:
    """"$250" rather than "$250.00" when the amount is whole."""
    text = amount.format()
    if amount.exponent and amount.amount == amount.amount.to_integral_value():
        text = text.replace("." + "0" * amount.exponent, "", 1)
    return text


def tier_label(tier: Tier, currency: str, previous_up_to: Decimal | None = None) -> str:
    """"Tier 1 (≤ $250)"; the open-ended last tier reads "Tier 3 (over $1,000)"."""
    name = f"Tier {tier.index + 1}"
    if tier.up_to is not None:
        return f"{name} (≤ {whole_money(Money.of(tier.up_to, currency))})"
    if previous_up_to is not None:
        return f"{name} (over {whole_money(Money.of(previous_up_to, currency))})"
    return f"{name} (any amount)"


# --- what Approve does ------------------------------------------------------------------



def approve_label(kind: CaseKind, recommended: Action, amount: Money) -> str:
    """Button text: "Approve refund $149.00", "Approve decline", "Acknowledge"."""
    outcome = approve_outcome(kind, recommended)
    if kind is CaseKind.DELAYED_SHIPMENT and outcome is Action.ACCEPT:
        return "Customer contacted"  # what acknowledging a delay means: someone told them
    return {
        Action.REFUND: f"Approve refund {amount.format()}",
        Action.STORE_CREDIT: f"Approve store credit {amount.format()}",
        Action.EXCHANGE: "Approve exchange",
        Action.DENY: "Approve decline",
        Action.ACCEPT: "Acknowledge",
        Action.CONTEST: "Submit evidence",
        Action.RESHIP: "Reship",
        Action.REFUND_SHIPPING: "Refund shipping",
    }[outcome]


def outcome_phrase(action: Action, amount: Money) -> str:
    """What a decision does, as a phrase: "refund $149.00", "decline return", "" for ACCEPT."""
    return {
        Action.REFUND: f"refund {amount.format()}",
        Action.STORE_CREDIT: f"store credit {amount.format()}",
        Action.EXCHANGE: "exchange",
        Action.DENY: "decline return",
        Action.ESCALATE: "escalate",
        Action.ACCEPT: "",
        Action.CONTEST: "submit evidence",
        Action.CONCEDE: "accept the loss",
        # The delayed-shipment remedies: the amount is the shipping's, not the case's.
        Action.RESHIP: "reship the order",
        Action.REFUND_SHIPPING: "refund shipping",
    }[action]


def decided_verb(action: Action) -> str:
    """"Approved", "Denied", "Acknowledged"."""
    if action is Action.DENY:
        return "Denied"
    if action is Action.ACCEPT:
        return "Acknowledged"
    if action is Action.CONTEST:
        return "Evidence submitted"
    if action is Action.CONCEDE:
        return "Loss accepted"
    return "Approved"


def carrier_facts(shipment, now: datetime) -> list[str]:
    """What the carrier itself says of a parcel (a shipping system's report), escaped: its
    status, the exception, the last scan and when. Anything with `carrier_status`,
    `exception`, `last_scan`, `last_scan_at` (a Shipment, a card's ShippingView)."""
    facts = []
    if shipment.carrier_status is not None:
        facts.append(f"Carrier: *{shipment.carrier_status.label}*")
    if shipment.exception:
        facts.append(escape_mrkdwn(one_line(shipment.exception), 200))
    if shipment.last_scan:
        scan = f"last scan {escape_mrkdwn(one_line(shipment.last_scan), 150)}"
        if shipment.last_scan_at is not None:
            scan += f" ({ago(shipment.last_scan_at, now)})"
        facts.append(scan)
    return facts
