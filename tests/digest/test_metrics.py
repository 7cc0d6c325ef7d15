"""Every digest figure on a hand-built data set, both weeks, exact — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.services.digest import DigestService
from policy.models import CaseKind, CaseStatus
from tests.conftest import FrozenClock
from tests.digest.seed import (
    LAST_START,
    POLICY,
    THIS_END,
    THIS_START,
    B,
    C,
    eur,
    local,
    seed_two_weeks,
    usd,
)


def shopify_vendors():
    """What the registry tells the digest when Shopify is connected."""
    from integrations.connector import Registry
    from integrations.shopify.connector import connector_for
    from integrations.sample.store import SampleStore

    return Registry([connector_for(SampleStore.load(now=local(11, 23, 9)), webhook_secret=None)]).vendors()


@pytest.fixture
def service(engine):
    return DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(local(11, 23, 9, 30)),
                         gateway=None, vendors=shopify_vendors())


@pytest.fixture
def digest(engine, service):
    ids = seed_two_weeks(engine)
    d = service.compute(THIS_START, THIS_END)
    return d, ids


def test_the_period_is_the_week_before_in_the_store_time_zone(digest):
    d, _ = digest
    assert (d.start, d.end) == (THIS_START, THIS_END)
    assert (d.last_week.start, d.last_week.end) == (LAST_START, THIS_START)
    assert d.timezone == "America/New_York" and d.currency == "USD"


def test_opened_by_kind_and_per_day(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert t.opened == 10
    # Every kind is listed; kinds this fixture opens none of (delayed shipments) count 0.
    assert {k: n for k, n in t.opened_by_kind.items()
            if k not in ("delayed_shipment", "early_fraud_warning", "ticket")} == {
        "return_request": 5, "order_review": 2, "dispute": 2, "high_value_refund": 1}
    assert dict(t.opened_by_kind).get("delayed_shipment") == 0 and dict(t.opened_by_kind).get("ticket") == 0
    assert t.opened_per_day == (1, 1, 2, 2, 2, 0, 2)
    assert p.opened == 5
    assert {k: n for k, n in p.opened_by_kind.items()
            if k not in ("delayed_shipment", "early_fraud_warning", "ticket")} == {
        "return_request": 3, "order_review": 1, "dispute": 1, "high_value_refund": 0}
    assert p.opened_per_day == (0, 1, 1, 1, 1, 1, 0)


def test_resolved_counts_people_auto_approvals_and_store_closes(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert (t.decided, t.auto_approved, t.closed_in_store, t.resolved) == (7, 1, 2, 10)
    assert (p.decided, p.auto_approved, p.closed_in_store, p.resolved) == (2, 0, 0, 2)


def test_decision_speed_median_and_p90_of_decisions_by_people(digest):
    t, p = digest[0].this_week, digest[0].last_week
    # 1 h, 2 h, 4 h, 20 h, 1 d, 3 d, 5 d — the auto-approval (0 s) is not a person's speed
    assert t.decisions_timed == 7
    assert t.decision_median_s == 72000
    assert t.decision_p90_s == pytest.approx(259200 + 0.4 * (432000 - 259200))
    # 30 min and 1 d: percentile_cont interpolates
    assert p.decisions_timed == 2
    assert p.decision_median_s == pytest.approx(44100)
    assert p.decision_p90_s == pytest.approx(1800 + 0.9 * 84600)


def test_exception_rate_is_cases_opened_per_order_seen(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert (t.orders, t.order_value) == (4, (eur("50.00"), usd("600.00")))
    assert t.exception_rate == 10 / 4
    assert (p.orders, p.order_value) == (2, (usd("1000.00"),))
    assert p.exception_rate == 5 / 2


def test_adherence_counts_decisions_by_people_and_lists_the_overrides(digest):
    d, ids = digest
    t, p = d.this_week, d.last_week
    assert (t.decisions, t.followed, t.overrides) == (7, 4, 3)
    assert t.adherence == pytest.approx(4 / 7)
    assert (p.decisions, p.followed, p.overrides) == (2, 2, 0)
    listed = [(o.case_id, o.order_name, o.recommended, o.decided, o.decided_by) for o in d.overrides]
    assert listed == [  # newest first
        (ids["c7"], "#1007", "escalate", "accept", C),
        (ids["c2"], "#1002", "refund", "deny", B),
        (ids["c16"], "#1016", "escalate", "accept", C),
    ]
    assert d.overrides[1].amount == usd("50.00") and d.overrides[1].kind is CaseKind.RETURN_REQUEST
    assert d.overrides[1].decided_at == local(11, 17, 12)


def test_chargeback_risk_is_undecided_disputes_at_each_weeks_end(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert (t.open_disputes, t.at_risk, t.disputes_opened) == (2, (usd("800.00"),), 2)
    # at last week's end the dispute decided this week was still open
    assert (p.open_disputes, p.at_risk, p.disputes_opened) == (2, (usd("750.00"),), 1)


def test_revenue_touched_by_currency_and_outcome(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert t.decided_value == (eur("1000.00"), usd("1580.00"))
    assert dict(t.decided_by_outcome) == {
        "refund": (usd("120.00"),), "deny": (usd("50.00"),), "store_credit": (usd("60.00"),),
        "accept": (eur("1000.00"), usd("1350.00")),
    }
    assert p.decided_value == (usd("780.00"),)
    assert dict(p.decided_by_outcome) == {"refund": (usd("80.00"),), "accept": (usd("700.00"),)}


def test_vip_and_high_value_orders_flagged(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert (t.flagged_orders, t.vip_orders, t.high_value_orders, t.flagged_value) == (2, 1, 2, (usd("1500.00"),))
    assert (p.flagged_orders, p.vip_orders, p.high_value_orders, p.flagged_value) == (1, 1, 0, (usd("700.00"),))


def test_top_signals_and_return_reasons(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert t.signals == (("high_value", 3), ("outside_window", 2), ("vip_customer", 2),
                         ("open_dispute", 1), ("serial_returner", 1))
    assert p.signals == (("outside_window", 1), ("serial_returner", 1), ("vip_customer", 1))
    # a request naming a reason twice counts once
    assert t.reasons == (("SIZE_TOO_SMALL", 3), ("DEFECTIVE", 2), ("UNWANTED", 1))
    assert p.reasons == (("COLOR", 1), ("DEFECTIVE", 1), ("STYLE", 1))


def test_open_at_each_weeks_end(digest):
    t, p = digest[0].this_week, digest[0].last_week
    assert t.backlog == 4  # c5, c6, c9, c12 (c13 opened after the week)
    assert p.backlog == 4  # c11, c12, c16 decided later; c17 closed later


def test_oldest_open_cases_before_the_end(digest):
    d, ids = digest
    assert [c.case_id for c in d.oldest_open] == [ids["c12"], ids["c5"], ids["c6"], ids["c9"]]
    c9 = d.oldest_open[3]
    assert (c9.status, c9.slack_channel, c9.slack_ts) == (CaseStatus.OPEN, "C0REVIEW01", "1700000000.000200")
    assert d.oldest_open[2].status is CaseStatus.ESCALATED


def test_integration_health_names_the_system_and_what_to_do(digest):
    health = {h.system: h for h in digest[0].health}
    assert health["shopify.orders"].ok and not health["shopify.orders"].failed_this_week
    hooks = health["shopify.webhooks"]
    assert (hooks.ok, hooks.vendor, hooks.what, hooks.consecutive_failures, hooks.needs_reconnect) == (
        False, "Shopify", "webhooks", 3, True)
    assert "SHOPIFY_ACCESS_TOKEN" in hooks.hint
    slack = health["slack"]
    assert slack.ok and slack.failed_this_week and not slack.needs_reconnect


def test_last_weeks_digest_reads_as_it_stood_then(engine, service, digest):
    """Computing the earlier week on its own gives what the later digest shows beside it."""
    d, _ = digest
    earlier = service.compute(LAST_START, THIS_START)
    assert earlier.this_week == d.last_week


def test_an_empty_database(engine, service):
    d = service.compute(THIS_START, THIS_END)
    t = d.this_week
    assert (t.opened, t.resolved, t.orders, t.backlog, t.open_disputes) == (0, 0, 0, 0, 0)
    assert t.decision_median_s is None and t.exception_rate is None and t.adherence is None
    assert t.opened_per_day == (0,) * 7 and t.signals == () and t.reasons == ()
    assert d.overrides == () and d.oldest_open == () and d.health == ()


def test_naive_or_empty_periods_are_refused(service):
    with pytest.raises(ValueError):
        service.compute(THIS_START.replace(tzinfo=None), THIS_END)
    with pytest.raises(ValueError):
        service.compute(THIS_END, THIS_START)
