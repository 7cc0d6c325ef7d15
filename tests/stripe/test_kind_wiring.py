"""The early fraud warning kind is wired wherever a case kind must be: assessment,
recommendation, detection, routing, labels (card, digest), Approve's outcome."""

from __future__ import annotations

from blocks import digest as digest_blocks
from blocks.format import KIND_LABELS, approve_label
from policy import assess, detect, recommend
from policy.config import parse_policy
from policy.models import Action, CaseKind, Money, approve_outcome

K = CaseKind.EARLY_FRAUD_WARNING


def test_the_kind_is_in_every_per_kind_table():
    assert K in assess._OPENS_CASE and K in recommend._DECIDE and K in detect._APPLIES
    assert KIND_LABELS[K] == "Early fraud warning" and digest_blocks._KIND_SHORT[K] == "fraud warning"


def test_routing_has_an_owner_channel_for_it():
    p = parse_policy('[slack]\nreview_channel = "C0REVIEW01"\n[slack.routing]\nearly_fraud_warning = "C0FRAUD001"\n')
    assert p.slack.routing.of(K) == "C0FRAUD001"


def test_approve_refunds_whatever_was_recommended():
    for recommended in (Action.REFUND, Action.ESCALATE):
        assert approve_outcome(K, recommended) is Action.REFUND
    assert approve_label(K, Action.ESCALATE, Money.of("58", "USD")) == "Approve refund $58.00"


def test_fraud_policy_errors_name_the_line():
    import pytest

    from policy.config import PolicyError

    with pytest.raises(PolicyError, match=r"^policy.toml:3: fraud.proactive_refund_below: expected a number, got 'lots'"):
        parse_policy('\n[fraud]\nproactive_refund_below = "lots"\n', "policy.toml")
    with pytest.raises(PolicyError, match=r"policy.toml:2: unknown key 'dispute_fees' in \[fraud\] \(did you mean 'dispute_fee'\?\)"):
        parse_policy('[fraud]\ndispute_fees = 15\n', "policy.toml")
