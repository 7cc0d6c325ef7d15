"""Stalled returns: each rule reminds once, alerts once, expiry queues one close; returns
that move in time get nothing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.jobs.kinds import Kind
from bot.services.stalls import ALERT, EXPIRE, REMIND, StallReport, StallRules, Stalls, due_steps, stalled
from bot.store import CaseRepo
from bot.store.jobs import JobRepo
from policy.config import Policy
from policy.lifecycle import ReturnStage as S
from policy.ports import Operation
from tests.bot.factories import new_case

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
RULES = StallRules()  # 3, 7, 2, 0


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# --- the pure rules -------------------------------------------------------------------------

def test_each_rule_is_due_after_its_limit_and_alerts_after_twice_it():
    rows = [(1, S.APPROVED, ago(3)), (2, S.LABEL_SENT, ago(7.5)), (3, S.IN_TRANSIT, ago(14)),
            (4, S.DELIVERED_BACK, ago(2)), (5, S.DELIVERED_BACK, ago(4))]
    got = {(s.case_id, s.step) for s in due_steps(rows, NOW, RULES)}
    assert got == {(1, REMIND), (2, REMIND), (3, REMIND), (3, ALERT), (4, REMIND), (5, REMIND), (5, ALERT)}


def test_returns_moving_in_time_are_not_due():
    rows = [(1, S.APPROVED, ago(2.9)), (2, S.LABEL_SENT, ago(6)), (3, S.IN_TRANSIT, ago(1)),
            (4, S.DELIVERED_BACK, ago(1.9)), (5, S.RECEIVED, ago(30)), (6, S.PROCESSED, ago(30)),
            (7, S.CLOSED, ago(90))]
    assert due_steps(rows, NOW, RULES) == []


def test_expiry_only_when_the_policy_asks_and_only_for_approved():
    rows = [(1, S.APPROVED, ago(10)), (2, S.LABEL_SENT, ago(10))]
    assert EXPIRE not in {s.step for s in due_steps(rows, NOW, RULES)}
    rules = StallRules(expire_after_days=10)
    assert [(s.case_id, s.step) for s in due_steps(rows, NOW, rules) if s.step == EXPIRE] == [(1, EXPIRE)]


def test_stalled_list_is_one_entry_a_return_longest_first():
    rows = [(1, S.APPROVED, ago(4)), (2, S.IN_TRANSIT, ago(20)), (3, S.APPROVED, ago(1))]
    assert [(s.case_id, s.days) for s in stalled(rows, NOW, RULES)] == [(2, 20), (1, 4)]


def test_rules_read_the_policy_with_the_contracts_defaults():
    # Until core's [returns] keys land (and with them, by their defaults): 3, 7, 2, 0.
    assert StallRules.from_policy(Policy.default()) == StallRules(3, 7, 2, 0)


# --- the service against a database -------------------------------------------------------

@dataclass
class FakeStages:
    """core's StageRepo.in_stage, from plain rows."""

    rows: dict[int, tuple[S, datetime]] = field(default_factory=dict)
    calls: int = 0

    def in_stage(self, stage, *, before=None):
        self.calls += 1
        return [(cid, at) for cid, (st, at) in self.rows.items() if st is stage and (before is None or at <= before)]


@dataclass
class FakeGateway:
    posts: list[dict] = field(default_factory=list)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post_message(self, channel, *, thread_ts=None, blocks=None, text=""):
        if self.fail:
            raise RuntimeError("slack down")
        with self.lock:
            self.posts.append({"channel": channel, "thread_ts": thread_ts, "text": text})
        return {"ts": "1.2"}

    def get_permalink(self, channel, ts):
        return f"https://slack.example/{channel}/{ts}"


@dataclass(frozen=True)
class _Tier:
    index: int = 1
    approvers: tuple[str, ...] = ("S0TIER2",)


class FakeDecide:
    def tier_for(self, case):
        return _Tier()


def _policy(**returns) -> Policy:
    return Policy.model_validate({"slack": {"escalation_channel": "C0ESCALATE"}, "returns": returns})


def _open(repo: CaseRepo, n: int, *, card: bool = True):
    case, _ = repo.open(new_case(n))
    if card:
        repo.set_card(case.id, slack_channel="C0REVIEW01", slack_ts=f"170000000{n}.0001")
    return repo.get(case.id)


def _stalls(engine, stages, gateway, policy, now) -> Stalls:
    return Stalls(cases=CaseRepo(engine), stages=stages, decide=FakeDecide(), gateway=gateway, policy=policy,
                  clock=lambda: now)


def test_each_stall_rule_reminds_once_then_alerts_once(engine):
    repo = CaseRepo(engine)
    a, b, c, d = (_open(repo, n) for n in (1001, 1002, 1003, 1004))
    stages = FakeStages({a.id: (S.APPROVED, ago(0)), b.id: (S.IN_TRANSIT, ago(0)),
                         c.id: (S.DELIVERED_BACK, ago(0)), d.id: (S.LABEL_SENT, ago(0))})
    gw = FakeGateway()
    policy = _policy()
    # Day 1: nothing is late yet.
    assert _stalls(engine, stages, gw, policy, NOW + timedelta(days=1)).run_once() == StallReport()
    # Day 3.5: the approved one has no label (3 d), the delivered one is not inspected (2 d).
    day3 = _stalls(engine, stages, gw, policy, NOW + timedelta(days=3.5))
    assert day3.run_once() == StallReport(reminded=2)
    assert day3.run_once() == StallReport()  # once
    threads = {p["thread_ts"]: p["text"] for p in gw.posts}
    assert threads[a.slack_ts].startswith(":hourglass: Return approved but no label attached for 3 d (limit 3 d)")
    assert "<!subteam^S0TIER2>" in threads[a.slack_ts]
    assert "delivered back but not inspected for 3 d" in threads[c.slack_ts]
    # Day 4: the delivered one has waited twice its limit: one alert in the owner channel.
    assert _stalls(engine, stages, gw, policy, NOW + timedelta(days=4)).run_once() == StallReport(alerted=1)
    [alert] = [p for p in gw.posts if p["channel"] == "C0ESCALATE"]
    assert alert["thread_ts"] is None
    assert f"Return {c.external_id} delivered back but not inspected for 4 d" in alert["text"]
    assert f"https://slack.example/C0REVIEW01/{c.slack_ts}" in alert["text"]
    # Day 15: everything has stalled twice over; each case got one reminder and one alert.
    day15 = _stalls(engine, stages, gw, policy, NOW + timedelta(days=15))
    assert day15.run_once() == StallReport(reminded=2, alerted=3)
    assert day15.run_once() == StallReport()
    assert len([p for p in gw.posts if p["thread_ts"]]) == 4
    assert len([p for p in gw.posts if p["channel"] == "C0ESCALATE"]) == 4


def test_a_return_that_moves_on_is_reminded_afresh_only_for_its_new_stage(engine):
    repo = CaseRepo(engine)
    a = _open(repo, 1001)
    stages = FakeStages({a.id: (S.APPROVED, ago(0))})
    gw = FakeGateway()
    assert _stalls(engine, stages, gw, _policy(), NOW + timedelta(days=4)).run_once() == StallReport(reminded=1)
    stages.rows[a.id] = (S.IN_TRANSIT, NOW + timedelta(days=4))  # labelled and picked up
    assert _stalls(engine, stages, gw, _policy(), NOW + timedelta(days=10)).run_once() == StallReport()
    assert _stalls(engine, stages, gw, _policy(), NOW + timedelta(days=11.5)).run_once() == StallReport(reminded=1)


def test_two_replicas_racing_remind_once(engine):
    repo = CaseRepo(engine)
    cases = [_open(repo, 1001 + i) for i in range(5)]
    stages = FakeStages({c.id: (S.APPROVED, ago(4)) for c in cases})
    gw = FakeGateway()
    reports: list[StallReport] = []
    barrier = threading.Barrier(2)

    def replica():
        s = _stalls(engine, stages, gw, _policy(), NOW)
        barrier.wait()
        reports.append(s.run_once())

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.reminded for r in reports) == 5
    assert len(gw.posts) == 5
    assert sorted(p["thread_ts"] for p in gw.posts) == sorted(c.slack_ts for c in cases)


def test_a_failed_post_is_tried_again_next_run(engine):
    repo = CaseRepo(engine)
    a = _open(repo, 1001)
    stages = FakeStages({a.id: (S.APPROVED, ago(4))})
    gw = FakeGateway(fail=True)
    assert _stalls(engine, stages, gw, _policy(), NOW).run_once() == StallReport()
    gw.fail = False
    assert _stalls(engine, stages, gw, _policy(), NOW).run_once() == StallReport(reminded=1)
    assert len(gw.posts) == 1


def test_expiry_queues_one_close_with_a_note_and_an_audit_row(engine):
    repo = CaseRepo(engine)
    a, b = _open(repo, 1001), _open(repo, 1002)
    stages = FakeStages({a.id: (S.APPROVED, ago(15)), b.id: (S.IN_TRANSIT, ago(15))})
    gw = FakeGateway()
    policy = _policy(expire_after_days=14)
    first = _stalls(engine, stages, gw, policy, NOW)
    assert first.run_once().expired == 1
    assert _stalls(engine, stages, gw, policy, NOW + timedelta(hours=1)).run_once().expired == 0
    jobs = JobRepo(engine).for_case(a.id, kind=Kind.ACTION)
    [close] = [j for j in jobs if j.operation == Operation.CLOSE_RETURN]
    assert close.payload["return_id"] == a.external_id
    assert "never shipped" in close.payload["note"]
    assert close.idempotency_key == f"returnsbot:shopify:case-{a.id}:close_return"
    assert not [j for j in JobRepo(engine).for_case(b.id, kind=Kind.ACTION) if j.operation == Operation.CLOSE_RETURN]
    [row] = [r for r in repo.audit(a.id) if r["event"] == "case.return_expired"]
    assert row["detail"]["days"] == 15 and row["detail"]["expire_after_days"] == 14


def test_no_expiry_by_default(engine):
    repo = CaseRepo(engine)
    a = _open(repo, 1001)
    stages = FakeStages({a.id: (S.APPROVED, ago(400))})
    assert _stalls(engine, stages, FakeGateway(), _policy(), NOW).run_once().expired == 0
    assert not JobRepo(engine).for_case(a.id, kind=Kind.ACTION)


def test_the_card_and_the_stall_rules_read_one_stage_map():
    from blocks.stages import StagesView, status_line
    from policy.lifecycle_rules import STAGE_WAITS, stage_limit_days

    returns = _policy(label_within_days=5, stalled_after_days=9, inspect_within_days=1).returns
    rules = StallRules.from_policy(_policy(label_within_days=5, stalled_after_days=9, inspect_within_days=1))
    assert {s: rules.limit(s) for s in S} == {s: stage_limit_days(returns, s) for s in S}
    assert {s: rules.limit(s) for s in STAGE_WAITS} == {
        S.APPROVED: 5, S.LABEL_SENT: 9, S.IN_TRANSIT: 9, S.DELIVERED_BACK: 1}
    assert rules.limit(S.RECEIVED) is None
    for stage, wait in STAGE_WAITS.items():
        line = status_line(StagesView(stage=stage, stage_at=NOW), NOW)
        assert (wait.waiting_for in line) if wait.waiting_for else line.count("·") == 0
