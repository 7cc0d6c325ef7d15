"""Decision rules without Slack: tiers, higher tiers, own requests, escalation, retries."""

from __future__ import annotations

import pytest

from bot.services.decide import DecideService, DecisionRefused
from bot.store import CaseRepo, OutboxRepo
from policy.config import parse_policy
from policy.models import CaseStatus
from tests.bot.factories import NOW, new_case

POLICY = parse_policy("""
[slack]
escalation_channel = "C0ESCALATE"
[[approval_tiers]]
up_to = 250
approvers = ["U0TIERONE1"]
[[approval_tiers]]
up_to = 1000
approvers = ["S0TIERTWO1"]
[[approval_tiers]]
approvers = ["U0TIERTHRE"]
""")


@pytest.fixture
def decide(engine):
    members = {"S0TIERTWO1": {"U0TIERTWOA"}}
    return DecideService(cases=CaseRepo(engine), outbox=OutboxRepo(engine), policy=POLICY, clock=lambda: NOW,
                         members=lambda group: members.get(group, set()))


def _open(decide, amount: str, tier: int) -> int:
    nc = new_case(2000 + tier, amount=amount)
    rec = nc.assessment.recommendation.model_copy(update={"tier": POLICY.tiers[tier]})
    nc = nc.__class__(**{**nc.__dict__, "assessment": nc.assessment.model_copy(update={"recommendation": rec})})
    case, _ = decide.cases.open(nc)
    return case.id


def test_tier_one_case_can_be_approved_by_tier_one_and_by_higher_tiers(decide):
    low = _open(decide, "100.00", 0)
    assert decide.approve(low, "U0TIERTWOA").status is CaseStatus.APPROVED  # tier 2 via the group


def test_higher_tier_case_refuses_a_lower_tier_approver(decide):
    mid = _open(decide, "600.00", 1)
    with pytest.raises(DecisionRefused, match="needs tier 2"):
        decide.approve(mid, "U0TIERONE1")
    assert decide.cases.get(mid).status is CaseStatus.OPEN
    assert decide.cases.audit(mid)[-1]["detail"]["reason"] == "not_authorised"


def test_requester_cannot_approve_their_own_refund(decide):
    case_id = _open(decide, "100.00", 0)
    decide.cases.set_card(case_id, requested_by="U0TIERONE1")
    with pytest.raises(DecisionRefused, match="someone else has to approve"):
        decide.approve(case_id, "U0TIERONE1")
    assert decide.approve(case_id, "U0TIERTWOA").status is CaseStatus.APPROVED


def test_escalated_case_needs_the_next_tier_and_not_the_escalator(decide):
    case_id = _open(decide, "600.00", 1)
    esc = decide.escalate(case_id, "U0TIERTWOA", "third jacket this year")
    assert esc.status is CaseStatus.ESCALATED and esc.escalation_channel == "C0ESCALATE"
    with pytest.raises(DecisionRefused, match="You escalated this case"):
        decide.approve(case_id, "U0TIERTWOA")
    with pytest.raises(DecisionRefused, match="already with the escalation tier"):
        decide.escalate(case_id, "U0TIERTHRE", "again")
    assert decide.approve(case_id, "U0TIERTHRE").status is CaseStatus.APPROVED


def test_deny_records_reason_and_note_and_queues_the_decline(decide):
    case_id = _open(decide, "100.00", 0)
    denied = decide.deny(case_id, "U0TIERONE1", reason="FINAL_SALE", internal_note="policy",
                         customer_message="Sorry", notify_customer=True)
    assert denied.status is CaseStatus.DENIED
    [row] = decide.outbox.for_case(case_id)
    assert row.operation == "decline_return" and row.payload["reason"] == "FINAL_SALE"
    [d] = decide.cases.decisions(case_id)
    assert d["note"] == "policy" and d["followed_recommendation"] is False


def test_retry_only_for_failed_cases(decide):
    case_id = _open(decide, "100.00", 0)
    with pytest.raises(DecisionRefused, match="Nothing to retry"):
        decide.retry(case_id, "U0TIERONE1")
