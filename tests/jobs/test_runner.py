"""The job runner: leases, fencing, backoff within a budget, dead letters, and per-case
ordering that never lets one case hold up another. Each test counts every call the store
received, replays included."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.clock import utcnow
from bot.jobs.errors import RetryLater
from bot.jobs.runner import Done, JobRunner, RetryPolicy
from bot.store import CaseRepo, OpsRepo, OutboxOp
from bot.store.jobs import JobRepo, NewJob
from policy.models import CaseStatus
from policy.ports import IntegrationError
from tests.bot.factories import NOW, new_case
from tests.conftest import FrozenClock


class Recorder:
    """A job handler that records every run and does what its script says."""

    def __init__(self, script=None) -> None:
        self.runs: list[int] = []
        self.script = script or (lambda job, n: Done("ok"))

    def run(self, job):
        self.runs.append(job.id)
        return self.script(job, len(self.runs))


def runner(engine, clock, handlers, **kw) -> JobRunner:
    return JobRunner(repo=JobRepo(engine), ops=OpsRepo(engine), clock=clock, handlers=handlers,
                     holder=kw.pop("holder", "test"), **kw)


def approved_case(engine, n: int, ops=("approve_return", "refund_return")) -> int:
    repo = CaseRepo(engine)
    case, _ = repo.open(new_case(n))
    repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor="U1", at=NOW,
                    event="case.approved", ops=[OutboxOp(op, {}, f"k{n}-{op}") for op in ops])
    return case.id


def test_a_dead_case_never_holds_up_another_with_the_servers_claim_size(engine, clock):
    """The outbox wedged: one row claimed at a time, ordered by (case, seq), skipping rows
    whose earlier sibling wasn't done — so the lowest due row blocked everyone."""
    first, second = approved_case(engine, 1), approved_case(engine, 2)
    calls = []

    def script(job, n):
        calls.append((job.case_id, job.operation))
        if job.case_id == first:
            raise IntegrationError("return already declined", retryable=False)
        return Done("ok")

    r = runner(engine, clock, {"action": Recorder(script)}, kinds=["action"])
    while r.run_once(limit=1):  # `serve` claims one job per step
        pass
    assert calls == [(first, "approve_return"), (second, "approve_return"), (second, "refund_return")]
    jobs = JobRepo(engine)
    assert [j.status for j in jobs.for_case(first, kind="action")] == ["dead", "pending"]  # refund waits
    assert [j.status for j in jobs.for_case(second, kind="action")] == ["done", "done"]


def test_a_case_in_backoff_does_not_delay_the_others(engine, clock):
    slow, fast = approved_case(engine, 1), approved_case(engine, 2, ops=("approve_return",))

    def script(job, n):
        if job.case_id == slow:
            raise IntegrationError("HTTP 503", retryable=True)
        return Done("ok")

    rec = Recorder(script)
    r = runner(engine, clock, {"action": rec}, kinds=["action"])
    r.run_once(limit=1)  # slow's approve fails and backs off
    r.run_once(limit=1)  # fast runs at once, not after slow's backoff
    assert JobRepo(engine).for_case(fast, kind="action")[0].status == "done"
    assert [j.status for j in JobRepo(engine).for_case(slow, kind="action")] == ["pending", "pending"]


@pytest.mark.parametrize("boom", [KeyError("return_id"), RecursionError(), ZeroDivisionError()])
def test_an_unexpected_exception_counts_as_an_attempt_and_ends_dead_not_in_a_loop(engine, clock, boom):
    case_id = approved_case(engine, 1, ops=("approve_return",))
    rec = Recorder(lambda job, n: (_ for _ in ()).throw(boom))
    r = runner(engine, clock, {"action": rec}, kinds=["action"])
    for _ in range(20):  # far more chances than it gets
        r.run_once()
        clock.advance(hours=1)
    assert len(rec.runs) == RetryPolicy().unexpected_attempts
    [job] = JobRepo(engine).for_case(case_id, kind="action")
    assert job.status == "dead" and type(boom).__name__ in job.dead_reason
    [health] = OpsRepo(engine).health()
    assert health.system == "shopify" and health.consecutive_failures == 3


def test_a_vendor_down_for_an_hour_delays_but_loses_nothing(engine, clock):
    """Budgets of ≈2.5 min turned a 20-minute incident into failed cases; now it takes hours."""
    ids = [approved_case(engine, n, ops=("approve_return",)) for n in range(1, 4)]
    back_at = clock() + timedelta(hours=1)
    calls = []

    def script(job, n):
        calls.append(job.case_id)
        if clock() < back_at:
            raise IntegrationError("HTTP 500", retryable=True)
        return Done("approved")

    r = runner(engine, clock, {"action": Recorder(script)}, kinds=["action"])
    repo = JobRepo(engine)
    while any(j.status != "done" for j in repo.list(kind="action")):
        r.run_once(limit=10)
        due = min(j.next_attempt_at for j in repo.list(kind="action") if j.status == "pending") \
            if any(j.status == "pending" for j in repo.list(kind="action")) else clock()
        clock.now = max(clock(), due)
    assert all(j.status == "done" for j in repo.list(kind="action"))
    for case_id in ids:
        assert calls.count(case_id) <= 15  # backoff, not a hammering: 5 s doubling to 10 min
    assert clock() - back_at < timedelta(minutes=13)  # done within one capped backoff of recovery


def test_a_job_past_its_budget_is_dead_with_the_reason(engine, clock):
    case_id = approved_case(engine, 1, ops=("approve_return",))
    rec = Recorder(lambda job, n: (_ for _ in ()).throw(IntegrationError("HTTP 502", retryable=True)))
    r = runner(engine, clock, {"action": rec}, kinds=["action"], retry=RetryPolicy(budget=timedelta(hours=2)))
    repo = JobRepo(engine)
    for _ in range(100):
        r.run_once()
        [job] = repo.for_case(case_id, kind="action")
        if job.status == "dead":
            break
        clock.now = job.next_attempt_at
    assert job.status == "dead"
    assert "still failing after" in job.dead_reason and "2 h" in job.dead_reason and "HTTP 502" in job.dead_reason
    assert clock() - NOW <= timedelta(hours=2, minutes=15)


def test_retry_after_from_the_vendor_is_honoured(engine, clock):
    case_id = approved_case(engine, 1, ops=("approve_return",))
    rec = Recorder(lambda job, n: (_ for _ in ()).throw(RetryLater("throttled", retry_after=90)) if n == 1 else Done())
    r = runner(engine, clock, {"action": rec}, kinds=["action"])
    r.run_once()
    [job] = JobRepo(engine).for_case(case_id, kind="action")
    assert job.next_attempt_at - clock() >= timedelta(seconds=90)


def test_a_stalled_worker_loses_its_claim_and_its_late_completion_is_refused(engine, clock):
    repo = JobRepo(engine)
    repo.enqueue(NewJob(kind="card", system="slack", operation="sync_card", order_key="card:1"), now=clock())
    [stalled] = repo.claim(now=clock(), holder="a", lease=timedelta(seconds=30))
    assert repo.claim(now=clock() + timedelta(seconds=10), holder="b", lease=timedelta(seconds=30)) == []
    clock.advance(seconds=31)  # a's lease ran out (it stalled: no renewal)
    [taken] = repo.claim(now=clock(), holder="b", lease=timedelta(seconds=30))
    assert taken.token == stalled.token + 1
    assert not repo.complete(stalled, now=clock(), summary="late")  # fenced
    assert not repo.retry_later(stalled, now=clock(), at=clock(), error="late")
    assert not repo.holds(stalled) and repo.holds(taken)
    assert repo.complete(taken, now=clock(), summary="posted")
    assert repo.get(taken.id).result_summary == "posted"


def test_the_lease_is_renewed_while_a_long_call_runs(engine):
    """Real time: the heartbeat keeps a 0.6 s lease alive through a 1.5 s call."""
    started, release = threading.Event(), threading.Event()

    def script(job, n):
        started.set()
        release.wait(5)
        return Done("slow but fine")

    repo = JobRepo(engine)
    repo.enqueue(NewJob(kind="card", system="slack", operation="sync_card"), now=utcnow())
    r = runner(engine, utcnow, {"card": Recorder(script)}, lease=timedelta(seconds=0.6))
    t = threading.Thread(target=r.run_once)
    t.start()
    assert started.wait(5)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # a second worker keeps trying to take it
        assert repo.claim(now=utcnow(), holder="other", lease=timedelta(seconds=0.6)) == []
        time.sleep(0.1)
    release.set()
    t.join(5)
    r.stop()
    [job] = repo.list()
    assert job.status == "done" and job.attempts == 1


def test_an_operator_retry_resets_attempts_and_budget(engine, clock):
    case_id = approved_case(engine, 1, ops=("approve_return",))
    outcome = {"fail": True}

    def script(job, n):
        if outcome["fail"]:
            raise IntegrationError("nope", retryable=False)
        return Done("approved")

    r = runner(engine, clock, {"action": Recorder(script)}, kinds=["action"])
    r.run_once()
    repo = JobRepo(engine)
    [job] = repo.for_case(case_id, kind="action")
    assert job.status == "dead"
    outcome["fail"] = False
    assert repo.retry(job.id, now=clock())
    again = repo.get(job.id)
    assert (again.status, again.attempts, again.budget_started_at, again.dead_reason) == ("pending", 0, None, None)
    r.run_once()
    assert repo.get(job.id).status == "done"


def test_skip_lets_the_next_job_of_the_case_run(engine, clock):
    case_id = approved_case(engine, 1)
    rec = Recorder(lambda job, n: (_ for _ in ()).throw(IntegrationError("no", retryable=False)) if n == 1 else Done())
    r = runner(engine, clock, {"action": rec}, kinds=["action"])
    r.run_once()
    repo = JobRepo(engine)
    dead, waiting = repo.for_case(case_id, kind="action")
    assert r.run_once() == 0  # the refund waits behind the dead approve
    assert repo.skip(dead.id, now=clock(), by="U0OPS")
    assert r.run_once() == 1 and repo.get(waiting.id).status == "done"


def test_two_workers_claim_disjoint_jobs_and_each_case_stays_in_order(engine):
    clock = FrozenClock(NOW)
    for n in range(1, 9):
        approved_case(engine, n)
    order, lock = [], threading.Lock()

    def script(job, n):
        with lock:
            order.append((job.case_id, job.seq))
        return Done()

    r1 = runner(engine, clock, {"action": Recorder(script)}, kinds=["action"], holder="a")
    r2 = runner(engine, clock, {"action": Recorder(script)}, kinds=["action"], holder="b")

    def work(r):
        idle = 0
        while idle < 3:
            idle = 0 if r.run_once(limit=2) else idle + 1

    threads = [threading.Thread(target=work, args=(r,)) for r in (r1, r2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(order) == [(c, s) for c in range(1, 9) for s in (0, 1)]  # each exactly once
    for case_id in range(1, 9):
        seqs = [s for c, s in order if c == case_id]
        assert seqs == [0, 1]
