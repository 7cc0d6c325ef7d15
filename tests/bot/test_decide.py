"""Decision rules without Slack: tiers, higher tiers, own requests, escalation, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services.decide import DecideService, DecisionRefused
from bot.store import CaseRepo, OutboxRepo
from policy.config import parse_policy
from policy.models import CaseStatus, ShopFacts
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
""").for_shop(ShopFacts(currency="USD", timezone="UTC"))


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


# --- compare-and-set on the version (issue 7) --------------------------------------------

T1, T2A, T3 = "U0TIERONE1", "U0TIERTWOA", "U0TIERTHRE"


def _audit_chain_is_truthful(audit: list[dict]) -> bool:
    """Each row's from_status is the status the row before it left the case in."""
    rows = [a for a in audit if a["event"] != "case.refused"]
    return all(b["from_status"] == a["to_status"] for a, b in zip(rows, rows[1:]))


def _race(*calls, rounds: int):
    """Run the calls at the same moment from their own threads, `rounds` times; each call
    gets the round number. Refusals are an expected outcome, anything else fails the test."""
    import threading

    errors: list[BaseException] = []
    for n in range(rounds):
        barrier = threading.Barrier(len(calls))

        def run(fn):
            barrier.wait()
            try:
                fn(n)
            except DecisionRefused:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert errors == []


def test_approve_racing_escalate_never_commits_an_approval_the_new_tier_would_refuse(decide):
    """Tier 1 approves while a colleague escalates (the case then needs tier 2): whichever
    commits first wins, and the loser changes nothing."""
    rounds = 50
    ids = [_open(decide, "100.00", 0) for _ in range(rounds)]
    _race(lambda n: decide.approve(ids[n], T1),
          lambda n: decide.escalate(ids[n], T2A, "looks odd"), rounds=rounds)
    for case_id in ids:
        audit = decide.cases.audit(case_id)
        events = [a["event"] for a in audit if a["event"] != "case.refused"]
        assert events in (["case.opened", "case.approved"], ["case.opened", "case.escalated"]), events
        assert _audit_chain_is_truthful(audit), audit
        decisions = decide.cases.decisions(case_id)
        case = decide.cases.get(case_id)
        if events[-1] == "case.approved":
            assert case.status is CaseStatus.APPROVED and case.escalated_by is None
            assert [d["decided_by"] for d in decisions] == [T1]
        else:
            assert case.status is CaseStatus.ESCALATED and decisions == []


def test_status_set_transitions_racing_record_the_status_they_really_left(engine):
    """transition() without a version (the executor, ingest): the audit row's from_status is
    the status of the row the UPDATE changed, not one read before another writer committed."""
    repo = CaseRepo(engine)
    rounds = 50
    ids = []
    for i in range(rounds):
        case, _ = repo.open(new_case(3000 + i))
        ids.append(case.id)
    _race(lambda n: repo.transition(ids[n], expected=(CaseStatus.OPEN, CaseStatus.ESCALATED), to=CaseStatus.CLOSED,
                                    actor="returnsbot:external", at=NOW, event="case.declined_in_store"),
          lambda n: repo.transition(ids[n], expected=CaseStatus.OPEN, to=CaseStatus.ESCALATED, actor=T2A, at=NOW,
                                    event="case.escalated"), rounds=rounds)
    for case_id in ids:
        audit = repo.audit(case_id)
        assert _audit_chain_is_truthful(audit), audit
        assert repo.get(case_id).status.value == audit[-1]["to_status"]


def test_transition_compares_and_sets_the_version(decide):
    case_id = _open(decide, "100.00", 0)
    case = decide.cases.get(case_id)
    stale = decide.cases.transition(case_id, expected=CaseStatus.OPEN, expected_version=case.version + 1,
                                    to=CaseStatus.ESCALATED, actor=T2A, at=NOW, event="case.escalated")
    assert not stale.ok and stale.case.version == case.version and stale.case.status is CaseStatus.OPEN
    fresh = decide.cases.transition(case_id, expected=CaseStatus.OPEN, expected_version=case.version,
                                    to=CaseStatus.ESCALATED, actor=T2A, at=NOW, event="case.escalated")
    assert fresh.ok and fresh.case.version == case.version + 1
    assert [a["event"] for a in decide.cases.audit(case_id)] == ["case.opened", "case.escalated"]


def test_a_click_on_a_card_older_than_the_case_is_refused_and_the_card_refreshed(engine):
    changed = []
    members = {"S0TIERTWO1": {"U0TIERTWOA"}}
    decide = DecideService(cases=CaseRepo(engine), outbox=OutboxRepo(engine), policy=POLICY, clock=lambda: NOW,
                           members=lambda group: members.get(group, set()), on_case_changed=changed.append)
    case_id = _open(decide, "100.00", 0)
    seen = decide.cases.get(case_id).version
    decide.escalate(case_id, T2A, "third jacket", version=seen)
    changed.clear()
    with pytest.raises(DecisionRefused) as refused:
        decide.approve(case_id, T3, version=seen)  # tier 3 may decide it, but not from the old card
    assert str(refused.value).startswith("This case changed since your card showed it: escalated by <@U0TIERTWOA>")
    assert [c.id for c in changed] == [case_id]  # the card is re-rendered
    after = decide.cases.get(case_id)
    assert after.status is CaseStatus.ESCALATED and decide.cases.decisions(case_id) == []
    assert decide.cases.audit(case_id)[-1]["detail"]["reason"] == "stale"
    # From the escalation card (the current version) the same person can.
    assert decide.approve(case_id, T3, version=after.version).status is CaseStatus.APPROVED


@pytest.mark.parametrize("verb", ["deny", "escalate", "retry"])
def test_every_verb_refuses_a_stale_version(decide, verb):
    case_id = _open(decide, "100.00", 0)
    seen = decide.cases.get(case_id).version
    decide.approve(case_id, T1, version=seen)
    call = {
        "deny": lambda: decide.deny(case_id, T1, reason="OTHER", internal_note=None, customer_message=None,
                                    notify_customer=False, version=seen),
        "escalate": lambda: decide.escalate(case_id, T2A, "why", version=seen),
        "retry": lambda: decide.retry(case_id, T1, version=seen),
    }[verb]
    with pytest.raises(DecisionRefused, match=f"^This case changed since your card showed it: approved by <@{T1}>"):
        call()
    assert decide.cases.get(case_id).status is CaseStatus.APPROVED


def test_retrying_a_failed_decline_retries_the_decline(decide):
    case_id = _open(decide, "100.00", 0)
    decide.deny(case_id, T1, reason="FINAL_SALE", internal_note=None, customer_message=None, notify_customer=True)
    jobs = decide.outbox.jobs
    [claimed] = jobs.claim(now=NOW, holder="w", lease=timedelta(seconds=30), kinds=["action"])
    decide.cases.transition(case_id, expected=CaseStatus.DENIED, to=CaseStatus.EXECUTING, actor="returnsbot:executor",
                            at=NOW, event="case.executing")
    jobs.bury(claimed, now=NOW, reason="return already closed")
    failed = decide.cases.transition(case_id, expected=CaseStatus.EXECUTING, to=CaseStatus.FAILED,
                                     actor="returnsbot:executor", at=NOW, event="case.execution_failed").case
    retried = decide.retry(case_id, T1, version=failed.version)
    assert retried.status is CaseStatus.DENIED and retried.decided_action == "deny"
    [row] = decide.outbox.for_case(case_id)
    assert (row.operation, row.status, row.attempts) == ("decline_return", "pending", 0)  # fresh budget


# --- user-group membership the ack path can use --------------------------------------------


def test_known_membership_never_asks_and_refreshes_in_the_background():
    from bot.services.membership import GroupMembership

    asked, queued, now = [], [], [0.0]
    groups = {"S1": {"U1"}}

    def fetch(group):
        asked.append(group)
        return groups[group]

    m = GroupMembership(fetch, ttl=60, max_stale=600, monotonic=lambda: now[0], spawn=queued.append)
    assert m.known("S1") is None and asked == []  # can't tell: the caller opens the modal
    assert m.known("S1") is None and len(queued) == 1  # one refresh at a time
    queued.pop()()
    assert m.known("S1") == {"U1"} and asked == ["S1"] and queued == []
    groups["S1"] = {"U1", "U2"}
    now[0] = 61  # stale: still answers, and refreshes
    assert m.known("S1") == {"U1"} and len(queued) == 1
    queued.pop()()
    assert m.known("S1") == {"U1", "U2"}
    assert m.members("S1") == {"U1", "U2"} and asked == ["S1", "S1"]  # fresh: from memory
    now[0] = 61 + 601  # too old to go on
    assert m.known("S1") is None


def test_a_failed_refresh_keeps_what_was_known():
    from bot.services.membership import GroupMembership

    queued, now, fail = [], [0.0], [False]

    def fetch(group):
        if fail[0]:
            raise ConnectionError("slack down")
        return {"U1"}

    m = GroupMembership(fetch, ttl=60, monotonic=lambda: now[0], spawn=queued.append)
    assert m.members("S1") == {"U1"}
    now[0], fail[0] = 100, True
    assert m.known("S1") == {"U1"}
    queued.pop()()  # logs, raises nothing
    assert m.known("S1") == {"U1"} and len(queued) == 1  # tries again
