from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from blocks.format import ago, approve_label, approve_outcome, mention, slack_date, tier_label
from policy.models import Action, CaseKind, Money, Tier

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
USD = Money.of("149.00", "USD")


@pytest.mark.parametrize(
    ("action", "label"),
    [
        (Action.REFUND, "Approve refund $149.00"),
        (Action.STORE_CREDIT, "Approve store credit $149.00"),
        (Action.EXCHANGE, "Approve exchange"),
        (Action.DENY, "Approve decline"),
        (Action.ESCALATE, "Approve refund $149.00"),  # approving a return = refunding it
    ],
)
def test_approve_label_for_return_requests(action: Action, label: str) -> None:
    assert approve_label(CaseKind.RETURN_REQUEST, action, USD) == label


@pytest.mark.parametrize("kind", [CaseKind.HIGH_VALUE_REFUND, CaseKind.ORDER_REVIEW])
@pytest.mark.parametrize("action", [Action.ACCEPT, Action.ESCALATE])
def test_reviews_are_acknowledged(kind: CaseKind, action: Action) -> None:
    assert approve_label(kind, action, USD) == "Acknowledge"
    assert approve_outcome(kind, action) is Action.ACCEPT


def test_approve_label_in_other_currencies() -> None:
    assert approve_label(CaseKind.RETURN_REQUEST, Action.REFUND, Money.of("1499", "SEK")) == "Approve refund 1,499.00 SEK"
    assert approve_label(CaseKind.RETURN_REQUEST, Action.REFUND, Money.of("1500", "JPY")) == "Approve refund ¥1,500"


def test_tier_label() -> None:
    assert tier_label(Tier(index=0, up_to=Decimal("250"), approvers=()), "USD") == "Tier 1 (≤ $250)"
    assert tier_label(Tier(index=1, up_to=Decimal("1000"), approvers=()), "USD") == "Tier 2 (≤ $1,000)"
    assert tier_label(Tier(index=1, up_to=Decimal("99.50"), approvers=()), "EUR") == "Tier 2 (≤ €99.50)"
    last = Tier(index=2, up_to=None, approvers=())
    assert tier_label(last, "USD", previous_up_to=Decimal("1000")) == "Tier 3 (over $1,000)"
    assert tier_label(last, "USD") == "Tier 3 (any amount)"


def test_slack_date_token_with_a_utc_fallback() -> None:
    at = datetime(2026, 11, 2, 15, 2, tzinfo=timezone(timedelta(hours=1)))  # 14:02 UTC
    unix = int(at.timestamp())
    assert slack_date(at) == f"<!date^{unix}^{{date_short_pretty}} at {{time}}|2026-11-02 14:02 UTC>"
    assert slack_date(at, "{date_short_pretty}") == f"<!date^{unix}^{{date_short_pretty}}|2026-11-02>"
    with pytest.raises(ValueError):
        slack_date(datetime(2026, 11, 2, 14, 2))


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=3), "3 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=45), "45 days ago"),
        (timedelta(days=120), "4 months ago"),
        (timedelta(days=800), "2 years ago"),
        (-timedelta(days=2), "in 2 days"),
    ],
)
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text


def test_mention() -> None:
    assert mention("U0APPROVER1") == "<@U0APPROVER1>"
    assert mention("W0ENTERPRISE") == "<@W0ENTERPRISE>"
    assert mention("S0OPSLEADS") == "<!subteam^S0OPSLEADS>"
    assert mention("<!channel>") == "&lt;!channel&gt;"  # not an id: shown, escaped
    assert mention("returnsbot") == "returnsbot"
    assert mention(None) == "someone"
