"""The digest message: Block Kit limits (slack_sdk validation), escaping, the text fallback."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from blocks.digest import (
    Digest,
    HealthItem,
    OpenCase,
    Override,
    WeekFigures,
    bar,
    delta,
    duration,
    render_digest,
    sparkline,
)
from blocks.escape import ZWJ
from bot.services.digest import DigestService
from policy.models import CaseKind, CaseStatus, Money
from tests.blocks.limits import all_strings, block_texts, check_limits
from tests.conftest import FrozenClock
from tests.digest.seed import POLICY, THIS_END, THIS_START, local, seed_two_weeks

INJECTION = "<!channel> @here <https://evil.example|click> & *bold*"


def usd(x: str) -> Money:
    return Money.of(x, "USD")


def week(**kw) -> WeekFigures:
    return WeekFigures(start=THIS_START, end=THIS_END, **kw)


def small_digest(**kw) -> Digest:
    base = dict(
        start=THIS_START, end=THIS_END, timezone="America/New_York", currency="USD",
        this_week=week(opened=12, opened_per_day=(1, 2, 5, 0, 3, 1, 0), decided=8, auto_approved=2,
                       decisions_timed=8, decision_median_s=4380, decision_p90_s=23400, orders=300,
                       order_value=(usd("45000"),), decisions=8, followed=7, open_disputes=3,
                       at_risk=(usd("1240"),), disputes_opened=1, decided_value=(usd("3210.50"),),
                       decided_by_outcome={"refund": (usd("3000"),), "deny": (usd("210.50"),)},
                       flagged_orders=3, vip_orders=2, high_value_orders=2, flagged_value=(usd("2400"),),
                       signals=(("outside_window", 5), ("high_value", 2)), reasons=(("SIZE_TOO_SMALL", 4),),
                       backlog=6, opened_by_kind={"return_request": 10, "dispute": 1, "order_review": 1}),
        last_week=replace(week(opened=9, orders=250, decisions=5, followed=5, backlog=4),
                          start=THIS_START - timedelta(days=7), end=THIS_START),
        overrides=(Override(case_id=7, kind=CaseKind.RETURN_REQUEST, order_name="#1002", amount=usd("50"),
                            recommended="refund", decided="deny", decided_by="U0BBBBBBB2",
                            decided_at=local(11, 17, 12)),),
        oldest_open=(OpenCase(case_id=3, kind=CaseKind.DISPUTE, status=CaseStatus.ESCALATED, order_name="#0912",
                              customer_name="Ada", amount=usd("500"), opened_at=local(10, 1, 10),
                              url="https://returnsbot-test.slack.com/archives/C1/p1"),),
        health=(HealthItem(system="shopify.webhooks", vendor="Shopify", what="webhooks", ok=False,
                           consecutive_failures=3, last_error="Shopify rejected the access token (HTTP 401)",
                           last_error_at=local(11, 22, 8), last_success_at=local(11, 20, 8), needs_reconnect=True,
                           hint="reconnect Shopify"),
                HealthItem(system="shopify.orders", vendor="Shopify", what="order poller", ok=True,
                           consecutive_failures=0, last_error=None, last_error_at=None,
                           last_success_at=local(11, 23, 8))),
        generated_at=THIS_END,
    )
    base.update(kw)
    return Digest(**base)


def test_renders_every_section_within_limits():
    payload = render_digest(small_digest())
    check_limits(payload)
    text = block_texts(payload)
    assert payload["blocks"][0]["text"]["text"] == "Weekly digest · 16–23 Nov 2026"
    assert "Mon 16 Nov 2026 09:00 → Mon 23 Nov 2026 09:00 (America/New_York)" in text
    assert "*Exceptions opened*\n12  ▲ 3 (last week 9)" in text
    assert "10 returns · 1 dispute · 1 order review" in text
    assert "median 1 h 13 min · p90 6 h 30 min" in text
    assert "4.0% of 300 orders" in text and "last week 3.6% of 250" in text
    assert "88% of 8 decisions followed the recommendation · 1 override" in text
    assert "3 open disputes · $1,240 at risk" in text
    assert "$3,210.50 decided (refunds $3,000 · declined $210.50)" in text
    assert "3 (2 VIP · 2 high value) · $2,400" in text
    assert "`▂▄█▁▅▂▁` this week (12) · busiest Wed (5)" in text
    assert "Outside window" in text and "Size too small" in text
    assert "recommended *refund*, decided *deny* by <@U0BBBBBBB2>" in text
    assert "<https://returnsbot-test.slack.com/archives/C1/p1|#0912 · Dispute · $500.00>" in text
    assert ":red_circle: *Shopify* webhooks (`shopify.webhooks`) — 3 failures in a row" in text
    assert "reconnect Shopify" in text


def test_fallback_text_summarises_and_mentions_nobody():
    payload = render_digest(small_digest())
    assert payload["text"] == (
        "Weekly digest 16–23 Nov 2026: 12 exceptions opened (last week 9), 10 resolved, median decision "
        "1 h 13 min, 88% followed the recommendation, 3 open disputes ($1,240 at risk), 1 integration failing."
    )


def test_an_empty_week_reads_as_such():
    payload = render_digest(small_digest(this_week=week(), last_week=week(), overrides=(), oldest_open=(), health=()))
    check_limits(payload)
    text = block_texts(payload)
    assert "no decisions by people" in text
    assert "— of 0 orders" in text
    assert "No decisions by people this week." in text
    assert "Nothing is waiting for a decision." in text
    assert "No integration has reported yet." in text
    assert "$0 at risk" in text


def test_outside_text_is_escaped_everywhere():
    d = small_digest(
        overrides=(Override(case_id=1, kind=CaseKind.RETURN_REQUEST, order_name=INJECTION, amount=usd("1"),
                            recommended="refund", decided=INJECTION, decided_by=INJECTION,
                            decided_at=THIS_END),),
        oldest_open=(OpenCase(case_id=1, kind=CaseKind.RETURN_REQUEST, status=CaseStatus.OPEN,
                              order_name=INJECTION, customer_name=INJECTION, amount=usd("1"),
                              opened_at=THIS_START, url="javascript:alert(1)"),),
        health=(HealthItem(system=INJECTION, vendor=INJECTION, what=INJECTION, ok=False, consecutive_failures=1,
                           last_error=INJECTION, last_error_at=THIS_END, last_success_at=None, hint=INJECTION),),
        this_week=week(reasons=((INJECTION, 3),), signals=((INJECTION, 2),)),
    )
    payload = render_digest(d)
    check_limits(payload)
    for s in all_strings(payload):
        assert "<!channel>" not in s and "<https://evil" not in s and "javascript:" not in s
        assert "@here" not in s  # defused with a zero-width joiner
    assert f"@{ZWJ}here" in block_texts(payload)


def test_huge_input_stays_within_every_limit():
    long = "x" * 5000
    overrides = tuple(
        Override(case_id=i, kind=CaseKind.DISPUTE, order_name=long, amount=usd("123456789.99"), recommended="escalate",
                 decided="accept", decided_by="U0AAAAAAA1", decided_at=THIS_END) for i in range(500))
    opened = tuple(OpenCase(case_id=i, kind=CaseKind.ORDER_REVIEW, status=CaseStatus.OPEN, order_name=long,
                            customer_name=long, amount=usd("1"), opened_at=THIS_START,
                            url="https://example.com/" + "a" * 1900) for i in range(50))
    health = tuple(HealthItem(system=f"s{i}." + long, vendor=long, what=long, ok=False, consecutive_failures=10 ** 6,
                              last_error=long, last_error_at=THIS_END, last_success_at=THIS_START, hint=long)
                   for i in range(100))
    many = tuple((f"reason_{i}_{long}", 10 ** 6 - i) for i in range(100))
    currencies = tuple(Money.of("1234567.89", c) for c in ("AUD", "CAD", "CHF", "EUR", "GBP", "JPY", "SEK", "USD"))
    big = week(opened=10 ** 7, opened_per_day=(10 ** 6,) * 7, signals=many, reasons=many, decisions=10 ** 6,
               followed=1, at_risk=currencies, decided_value=currencies, order_value=currencies,
               decided_by_outcome={o: currencies for o in ("refund", "store_credit", "exchange", "deny", "accept")},
               decision_median_s=10 ** 9, decision_p90_s=10 ** 9, orders=1)
    payload = render_digest(small_digest(this_week=big, last_week=big, overrides=overrides, oldest_open=opened,
                                         health=health))
    check_limits(payload)
    text = block_texts(payload)
    assert "…and 499 more" in text or "more" in text
    assert len(json.dumps(payload)) < 40_000


def test_rendering_a_computed_digest(engine):
    seed_two_weeks(engine)
    service = DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(THIS_END), gateway=None)
    payload = service.render(service.compute(THIS_START, THIS_END))
    check_limits(payload)
    text = block_texts(payload)
    assert "€1,000 + $1,580 decided" in text
    assert f"Ada &lt;@{ZWJ}channel&gt;" in text  # the customer name, escaped
    assert "<@U0CCCCCCC3>" in text


@pytest.mark.parametrize("seconds, shown", [
    (0, "0 s"), (59.4, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"), (4380, "1 h 13 min"),
    (86400, "1 d"), (90000, "1 d 1 h"), (328320, "3 d 19 h"),
])
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_sparkline_bar_and_delta():
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([1, 1], top=8) == "▂▂"
    assert bar(0, 10) == "" and bar(10, 10) == "█" * 12 and bar(1, 96) == "▏"
    assert (delta(5, 3), delta(3, 5), delta(2, 2)) == ("▲ 2", "▼ 2", "= 0")
