"""The demo's promise: under the default policy the sample feed shows every risk signal,
several recommendations and the cases a person would expect — whatever day it runs.

Runs the real pipeline pieces: each event -> `bot.services.context.assemble` (the context
the bot builds from the store) -> `policy.assess.assess`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.services.context import assemble
from integrations.sample import SampleStore
from policy.assess import assess, needs_case
from policy.config import Policy, WindowOverride
from policy.models import Action, Assessment, CaseContext, CaseKind, EventKind, SignalCode

S = SignalCode

# What each requested return is there to show (default policy). The table in the report.
REQUESTED_RETURNS: dict[str, tuple[str, str, set[SignalCode]]] = {
    # return      customer          amount     signals
    "#1044-R1": ("Maya Chen", "$52.00", set()),
    "#1041-R1": ("Elena Petrova", "$71.10", set()),
    "#1042-R1": ("Daniel Okafor", "$149.00", set()),
    "#1046-R1": ("Chloe Martin", "$54.00", set()),
    "#1030-R1": ("Priya Raman", "$389.00", {S.OUTSIDE_WINDOW, S.VIP_CUSTOMER}),
    "#1034-R1": ("Marcus Webb", "$549.00", {S.HIGH_VALUE, S.VIP_CUSTOMER}),
    "#1043-R1": ("Tasha Greene", "$98.00", {S.SERIAL_RETURNER}),
    "#1040-R1": ("Kevin Doyle", "$329.00", {S.HIGH_PAYMENT_RISK}),
    "#1037-R1": ("Liam O'Brien", "$289.00", {S.OPEN_DISPUTE}),
    "#1047-R1": ("Hannah Kim", "$119.00", {S.NOT_DELIVERED}),
    "#1036-R1": ("Omar Haddad", "$129.00", {S.REFUND_EXCEEDS_PAID}),
    "#1033-R2": ("Grace Liu", "$49.00", {S.REPEAT_CLAIM}),
    "#1045-R1": ("Ben Foster", "$69.00", {S.FINAL_SALE}),
    # boots tagged "extended-returns", 44 days after delivery: late under the bare default
    # policy (no window overrides), in time with the 60-day override (see below)
    "#1031-R1": ("Jamal Carter", "$229.00", {S.OUTSIDE_WINDOW}),
    "#1039-R1": ("Sofía Álvarez", "$649.00", {S.HIGH_VALUE}),
    "#1029-R1": ("Zoe Adams", "$89.00", {S.OUTSIDE_WINDOW}),
}

# Any time of day and any date: calendar-day windows must not flip a scenario.
NOWS = [
    datetime(2025, 6, 1, 0, 5, tzinfo=timezone.utc),
    datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc),
    datetime(2025, 12, 31, 23, 55, tzinfo=timezone.utc),
    datetime(2028, 2, 29, 6, 30, tzinfo=timezone.utc),
]


def with_extended_returns(policy: Policy) -> Policy:
    """The 60-day window for "extended-returns" that policy.example.toml shows commented out."""
    returns = policy.returns.model_copy(
        update={"window_overrides": (WindowOverride(tag="extended-returns", window_days=60),)}
    )
    return policy.model_copy(update={"returns": returns})


def assessed(now: datetime, policy: Policy) -> list[tuple[CaseContext, Assessment]]:
    store = SampleStore.load(now=now)
    policy = policy.for_shop(store.shop_facts())  # the effective policy: the shop's money and time zone
    out = []
    for event in store.events():
        ctx = assemble(event, store, now=now, lookback_days=policy.risk.lookback_days)
        out.append((ctx, assess(ctx, policy)))
    return out


def returns_by_name(results) -> dict[str, tuple[CaseContext, Assessment]]:
    return {ctx.return_request.name: (ctx, a) for ctx, a in results if ctx.kind is CaseKind.RETURN_REQUEST}


@pytest.fixture(scope="module", params=NOWS, ids=lambda d: d.strftime("%Y-%m-%dT%H:%M"))
def default_run(request):
    return assessed(request.param, Policy.default())


def test_each_requested_return_fires_what_it_is_there_for(default_run):
    got = returns_by_name(default_run)
    assert set(got) == set(REQUESTED_RETURNS)
    for name, (customer, amount, signals) in REQUESTED_RETURNS.items():
        ctx, a = got[name]
        assert (ctx.customer.display_name, str(ctx.amount)) == (customer, amount), name
        assert {s.code for s in a.signals} == signals, name


def test_every_signal_fires_at_least_once(default_run):
    fired = {s.code for ctx, a in default_run if ctx.kind is CaseKind.RETURN_REQUEST for s in a.signals}
    # shipment_delayed is the delayed-shipment cases' own (the sample's parcels: test_demo).
    assert fired == set(SignalCode) - {SignalCode.SHIPMENT_DELAYED}


def test_the_recommendations_a_demo_should_show(default_run):
    got = {name: a.recommendation for name, (ctx, a) in returns_by_name(default_run).items()}
    auto = sorted(name for name, r in got.items() if r.auto_approve)
    assert auto == ["#1041-R1", "#1044-R1", "#1046-R1"]  # clean and at most $75
    assert {got[n].action for n in auto} == {Action.REFUND, Action.EXCHANGE}
    assert got["#1030-R1"].action is Action.STORE_CREDIT  # VIP outside the window
    assert got["#1042-R1"].action is Action.EXCHANGE  # size exchange, over the auto limit
    assert got["#1046-R1"].action is Action.EXCHANGE
    assert got["#1045-R1"].action is Action.DENY  # final sale
    assert got["#1036-R1"].action is Action.ESCALATE  # would refund more than is left
    assert {r.action for r in got.values()} >= {
        Action.REFUND, Action.EXCHANGE, Action.STORE_CREDIT, Action.DENY, Action.ESCALATE
    }


def test_the_other_events_open_the_expected_cases(default_run):
    other = {
        (ctx.kind, ctx.order.name): (needs_case(ctx.kind, a.signals, a.recommendation), {s.code for s in a.signals})
        for ctx, a in default_run
        if ctx.kind is not CaseKind.RETURN_REQUEST
    }
    assert other == {
        (CaseKind.ORDER_REVIEW, "#1047"): (False, set()),  # ordinary new orders: no case
        (CaseKind.ORDER_REVIEW, "#1048"): (False, set()),
        (CaseKind.ORDER_REVIEW, "#1049"): (True, {S.VIP_CUSTOMER}),  # Ava, tagged VIP
        (CaseKind.ORDER_REVIEW, "#1050"): (True, {S.HIGH_PAYMENT_RISK}),  # Ryan
        (CaseKind.ORDER_REVIEW, "#1051"): (True, {S.HIGH_VALUE}),  # Noah, $1,337.00
        (CaseKind.HIGH_VALUE_REFUND, "#1035"): (True, {S.HIGH_VALUE}),  # Isabel's $649.00
        (CaseKind.DISPUTE, "#1037"): (True, {S.OPEN_DISPUTE}),  # Liam's chargeback
    }


def test_extended_returns_window_keeps_the_boots_in_time():
    results = assessed(NOWS[1], with_extended_returns(Policy.default()))
    got = returns_by_name(results)
    ctx, a = got["#1031-R1"]
    assert a.signals == () and a.recommendation.action is Action.EXCHANGE
    # the override changes nothing else
    for name, (_, _, signals) in REQUESTED_RETURNS.items():
        if name != "#1031-R1":
            assert {s.code for s in got[name][1].signals} == signals, name


def test_scenarios_do_not_depend_on_the_event_kinds_the_feed_leaves_out():
    """The feed carries the four kinds the pipeline opens cases for; nothing else."""
    store = SampleStore.load(now=NOWS[1])
    assert {e.kind for e in store.events()} == {
        EventKind.RETURN_REQUESTED, EventKind.ORDER_CREATED, EventKind.DISPUTE_CREATED, EventKind.REFUND_CREATED
    }
    assert min(e.occurred_at for e in store.events()) >= NOWS[1] - timedelta(days=7)
