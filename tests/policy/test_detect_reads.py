"""What each detection check (`policy.detect._READS`) and each kind's recommendation
(`policy.recommend._RECOMMEND_READS`) reads of the policy, held to what they really read,
and `reassess` (the simulator's incremental assessment) held to `assess`.

The simulator re-runs only the checks whose declared inputs a proposed policy changes and
keeps the current policy's signals for the rest, and keeps the current recommendation
where its kind's inputs and the signals are unchanged; an undeclared read would keep a
stale verdict. So every check and recommendation runs here against a policy that records
each attribute path read from it, over contexts and policies that make every check fire
and not fire, and each path must be covered by the declaration."""

from __future__ import annotations

import functools
import inspect
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.store.snapshots import read
from policy import detect as detect_module
from policy import recommend as recommend_module
from policy.assess import Changes, assess, reassess
from policy.detect import _APPLIES, _CHECKS, _Case, inputs_changed, redetect
from policy.models import CarrierStatus, CaseKind, DeliveryStatus, Shipment, SignalCode
from policy.payments import EarlyFraudWarning
from policy.recommend import recommend, recommendation_inputs_changed
from tests.policy.factories import (
    ORDER_ID,
    NOW,
    customer,
    ctx_of,
    days_ago,
    dispute,
    history,
    line_item,
    order,
    policy,
    refund,
    return_ctx,
    return_item,
    return_request,
    risk,
    shipment,
    usd,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "snapshots" / "sample_store_v0.json"


def _sample_store() -> list:
    """The sample store's 21 cases (15 returns firing every return signal, a refund, a
    dispute, 3 order reviews) as a release stored them."""
    cases = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]
    return [read(c["snapshot"]["context"], c["snapshot"]["assessment"])[0] for c in cases]


def _built() -> list:
    """The kinds the fixture has not: a delayed parcel (each way it is late), an early fraud
    warning's neighbours, a ticket, and returns that trip each check's other branches."""
    late = Shipment(id="s-late", status=DeliveryStatus.IN_TRANSIT, carrier_status=CarrierStatus.IN_TRANSIT,
                    shipped_at=days_ago(12), estimated_delivery_at=days_ago(6), tracking_number="1Z9")
    stuck = Shipment(id="s-ex", status=DeliveryStatus.IN_TRANSIT, carrier_status=CarrierStatus.EXCEPTION,
                     exception="Address unknown", last_scan_at=days_ago(1))
    unshipped = shipment(DeliveryStatus.UNFULFILLED, id="s-none")
    vip = customer(tags=("VIP",), spend="5000.00")

    def warning(amount: str) -> EarlyFraudWarning:
        return EarlyFraudWarning(id="issfr_1", source="stripe", charge_id="ch_1", order_id=ORDER_ID,
                                 fraud_type="made_with_stolen_card", actionable=True, amount=usd(amount),
                                 refunded=usd("0"), created_at=days_ago(2))

    return [
        ctx_of(CaseKind.EARLY_FRAUD_WARNING, fraud_warning=warning("49.00")),
        ctx_of(CaseKind.EARLY_FRAUD_WARNING, fraud_warning=warning("900.00"), customer=vip,
               order=order(received="900.00", shipments=(shipment(DeliveryStatus.IN_TRANSIT),))),
        ctx_of(CaseKind.TICKET, return_request=return_request(return_item(reason="DEFECTIVE"))),
        ctx_of(CaseKind.TICKET, order=None, customer=None, history=None),
        ctx_of(CaseKind.DELAYED_SHIPMENT, shipments=(late,)),
        ctx_of(CaseKind.DELAYED_SHIPMENT, shipments=(stuck,), customer=vip),
        ctx_of(CaseKind.DELAYED_SHIPMENT, shipments=(unshipped,), order=order(shipments=(unshipped,))),
        ctx_of(CaseKind.ORDER_REVIEW, order=order(received="900.00", risk=risk("HIGH")), customer=vip),
        ctx_of(CaseKind.DISPUTE, dispute=dispute(), order=order(shipments=(shipment(DeliveryStatus.IN_TRANSIT),))),
        ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=refund("900.00"), history=history(returns=6, orders=8)),
        ctx_of(CaseKind.TICKET, customer=vip),
        return_ctx(return_item(tags=("final-sale",)), requested_at=NOW + timedelta(days=40), customer=vip,
                   history=history(returns=5, orders=6)),
        return_ctx(return_item(price="700.00"), order=order(received="749.00",
                                                          items=(line_item(price="700.00", tags=("clearance",)),))),
    ]


CONTEXTS = _sample_store() + _built()

# Policies under which each check both fires and does not, down its other branches.
POLICIES = [
    policy(),
    policy("[returns]\nwindow_days = 1\nfinal_sale_tags = ['clearance']\n"
           "[[returns.window_overrides]]\ntag = 'final-sale'\nwindow_days = 90\n"),
    policy("[risk]\nhigh_value_threshold = 1\nhigh_payment_risk_levels = ['LOW', 'MEDIUM', 'HIGH']\n"
           "[risk.serial_returner]\nmin_returns = 1\nmin_orders = 1\nmin_return_rate = 0.01\n"),
    policy("[vip]\nlifetime_spend = 1\ncustomer_tags = []\n[shipping]\nship_within_days = 1\nlate_after_days = 0\n"),
]


class _Recorder:
    """A view of a policy (or one of its sections) that notes every attribute path read,
    down to the fields: its properties and methods run on the view, so what they read is
    noted too (`store.tz` reads `store.timezone`)."""

    def __init__(self, target: object, path: str, seen: set[str]) -> None:
        self._target, self._path, self._seen = target, path, seen

    def __getattr__(self, name: str) -> object:
        path = f"{self._path}.{name}" if self._path else name
        declared = getattr(type(self._target), name, None)
        if isinstance(declared, property):  # what it reads is noted, not its name
            value = declared.fget(self)
            return _Recorder(value, path, self._seen) if isinstance(value, BaseModel) else value
        if inspect.isfunction(declared):  # a method: it runs on this view
            return functools.partial(declared, self)
        return self._wrap(getattr(self._target, name), path)

    def _wrap(self, value: object, path: str) -> object:
        if isinstance(value, BaseModel):
            return _Recorder(value, path, self._seen)
        self._seen.add(path)
        return value


def _covered(path: str, declared: tuple[str, ...]) -> bool:
    """A declared path covers itself and every path under it."""
    return any(path == d or path.startswith(d + ".") for d in declared)


def uncovered_recommendation_reads() -> dict[CaseKind, set[str]]:
    """Per kind, what its recommendation read that the declaration does not cover."""
    out: dict[CaseKind, set[str]] = {}
    for p in POLICIES:
        for ctx in CONTEXTS:
            seen: set[str] = set()
            rec = recommend(ctx, assess(ctx, p).signals, _Recorder(p, "", seen))  # type: ignore[arg-type]
            declared = recommend_module._RECOMMEND_READS[ctx.kind]
            if recommend_module.may_auto_approve(ctx.kind, rec.action):
                declared += recommend_module.AUTO_APPROVE_READS
            missing = {path for path in seen if not _covered(path, declared)}
            if missing:
                out.setdefault(ctx.kind, set()).update(missing)
    return out


def test_every_kinds_recommendation_reads_only_what_it_declares():
    assert uncovered_recommendation_reads() == {}
    assert set(recommend_module._RECOMMEND_READS) == set(CaseKind)
    assert {ctx.kind for ctx in CONTEXTS} == set(CaseKind)


def test_a_recommendation_reading_an_undeclared_key_is_caught(monkeypatch):
    monkeypatch.setitem(recommend_module._RECOMMEND_READS, CaseKind.RETURN_REQUEST,
                        recommend_module._EVERY)
    assert "returns.exchange_reasons" in uncovered_recommendation_reads()[CaseKind.RETURN_REQUEST]
    monkeypatch.setattr(recommend_module, "AUTO_APPROVE_READS", ())
    assert "auto_approve.enabled" in uncovered_recommendation_reads()[CaseKind.RETURN_REQUEST]


def uncovered_reads() -> dict[SignalCode, set[str]]:
    """Per check, what it read that its declaration does not cover (empty: none)."""
    out: dict[SignalCode, set[str]] = {}
    for p in POLICIES:
        for ctx in CONTEXTS:
            if ctx.order is None:
                continue
            for code in _APPLIES[ctx.kind]:
                seen: set[str] = set()
                _CHECKS[code](_Case(ctx=ctx, policy=_Recorder(p, "", seen), amount=ctx.amount))  # type: ignore[arg-type]
                # A signal's weight is re-applied by redetect itself.
                missing = {path for path in seen if not _covered(path, (*detect_module._READS[code], "risk.weights"))}
                if missing:
                    out.setdefault(code, set()).update(missing)
    return out


def test_every_check_reads_only_what_it_declares():
    assert uncovered_reads() == {}


def test_a_check_reading_an_undeclared_key_is_caught(monkeypatch):
    monkeypatch.setitem(detect_module._READS, SignalCode.OUTSIDE_WINDOW, ("store",))
    assert "returns.window_days" in uncovered_reads()[SignalCode.OUTSIDE_WINDOW]


def test_the_corpus_fires_every_signal():
    fired = {s.code for p in POLICIES for ctx in CONTEXTS for s in assess(ctx, p).signals}
    assert fired == set(SignalCode)


def test_every_check_declares_its_inputs():
    assert set(detect_module._READS) == set(_CHECKS)


def test_the_same_policy_changes_nothing_and_one_key_changes_its_readers():
    default = policy()
    assert inputs_changed(default, policy()) == frozenset()
    assert inputs_changed(default, policy("[returns]\nwindow_days = 45\n")) == {SignalCode.OUTSIDE_WINDOW}
    assert inputs_changed(default, policy("[returns]\nfinal_sale_tags = ['x']\n")) == {SignalCode.FINAL_SALE}
    assert inputs_changed(default, policy("[vip]\nlifetime_spend = 1500\n")) == {SignalCode.VIP_CUSTOMER}
    assert inputs_changed(default, policy("[auto_approve]\nmax_amount = 100\n")) == frozenset()
    assert inputs_changed(default, policy("[risk.weights]\nvip_customer = -30\n")) == frozenset()
    assert recommendation_inputs_changed(default, policy()) == frozenset()
    assert recommendation_inputs_changed(default, policy("[auto_approve]\nmax_amount = 100\n")) == frozenset()
    assert Changes.between(default, policy("[auto_approve]\nmax_amount = 100\n")).auto_approve
    assert recommendation_inputs_changed(default, policy("[fraud]\ndispute_fee = 25\n")) == {
        CaseKind.DISPUTE, CaseKind.EARLY_FRAUD_WARNING}
    assert recommendation_inputs_changed(default, policy("[vip]\nlifetime_spend = 1500\n")) == frozenset()


# Proposals of every section detection reads, one key and several at once.
PROPOSALS = [
    "[returns]\nwindow_days = 45\n",
    "[returns]\nwindow_days = 7\nfinal_sale_tags = []\n",
    "[[returns.window_overrides]]\ntag = 'final-sale'\nwindow_days = 120\n",
    "[risk]\nhigh_value_threshold = 100\n",
    "[risk]\nhigh_payment_risk_levels = ['MEDIUM', 'HIGH']\n",
    "[risk.serial_returner]\nmin_returns = 2\n",
    "[risk.weights]\nvip_customer = -40\nhigh_value = 60\noutside_window = 0\n",
    "[vip]\nlifetime_spend = 300\n",
    "[vip]\ncustomer_tags = ['Gold']\n",
    "[shipping]\nlate_after_days = 10\n",
    "[auto_approve]\nmax_amount = 1000\nmax_risk_score = 100\n",
    "[fraud]\nproactive_refund_below = 1000\ndispute_fee = 40\n",
    "[[approval_tiers]]\nup_to = 50\napprovers = ['U0AAA1111']\n[[approval_tiers]]\napprovers = ['U0BBB2222']\n",
    "[slack]\nreview_channel = 'C0NEW'\n",
    "[returns]\nwindow_days = 60\n[vip]\nlifetime_spend = 100\n[risk]\nhigh_value_threshold = 50\n"
    "[risk.weights]\nserial_returner = 5\n",
]


@pytest.mark.parametrize("toml", PROPOSALS)
def test_reassess_from_the_current_assessment_is_assess(toml):
    """From the current policy's assessment, the proposed policy's incremental detection
    and assessment are exactly its own full ones, for every context."""
    for current in POLICIES:
        proposed = policy(toml)
        changes = Changes.between(current, proposed)
        for ctx in CONTEXTS:
            before, full = assess(ctx, current), assess(ctx, proposed)
            assert redetect(ctx, proposed, before.signals, changes.checks) == full.signals, (toml, ctx.kind)
            assert reassess(ctx, proposed, before, changes) == full, (toml, ctx.kind)


def test_a_check_left_out_of_the_rerun_keeps_the_old_signal():
    """The reuse is real: told that nothing changed, the longer window's redetect keeps the
    30-day window's outside_window signal (which is why the declarations are tested)."""
    late = return_ctx(return_item(), requested_at=NOW + timedelta(days=30))
    found = assess(late, policy()).signals
    assert SignalCode.OUTSIDE_WINDOW in {s.code for s in found}
    longer = policy("[returns]\nwindow_days = 90\n")
    assert SignalCode.OUTSIDE_WINDOW not in {s.code for s in assess(late, longer).signals}
    assert SignalCode.OUTSIDE_WINDOW in {s.code for s in redetect(late, longer, found, frozenset())}
