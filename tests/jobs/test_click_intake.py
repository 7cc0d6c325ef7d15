"""Click intents become click jobs: each exactly once (two movers at once included), in
arrival order, a crash mid-move losing nothing, and a poison intent holding up no other."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from bot.db import make_engine
from bot.jobs.click_intake import ClickIntake
from bot.jobs.group_commit import GroupCommitter
from bot.schema import click_intents
from bot.services.clicks import Click, click_job
from bot.store import CaseRepo
from bot.store.jobs import JobRepo
from tests.bot.factories import new_case


def click(case_id: int, n: int = 0, **kw) -> dict:
    return Click(verb="approve", case_id=case_id, version=1, user=f"U{n:09d}", channel="C1",
                 message_ts="1.1", correlation_id=f"corr{n:08d}", **kw).to_payload()


def waiting(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(click_intents)).scalar()


def click_jobs(engine) -> list:
    return sorted(JobRepo(engine).list(kind="click", limit=10_000), key=lambda j: j.id)


def test_intents_become_click_jobs_once_in_arrival_order(engine, clock):
    case, _ = CaseRepo(engine).open(new_case(1))
    committer = GroupCommitter(engine, clock)
    for n in range(3):
        committer.submit(click(case.id, n))
    arrived = clock()
    clock.advance(seconds=5)
    intake = ClickIntake(engine, clock, click_job)
    assert intake.feed() == 3
    assert waiting(engine) == 0
    made = click_jobs(engine)
    assert [j.correlation_id for j in made] == ["corr00000000", "corr00000001", "corr00000002"]
    assert {(j.case_id, j.order_key, j.operation, j.status, j.system) for j in made} == {
        (case.id, f"click:{case.id}", "approve", "pending", "slack")}
    assert all(j.created_at == arrived and j.next_attempt_at == clock() for j in made)  # waited since the click
    assert Click.from_payload(made[0].payload).user == "U000000000"
    intake.nudge()
    assert intake.feed() == 0 and len(click_jobs(engine)) == 3  # moved once


def test_a_poison_intent_does_not_hold_up_the_clicks_around_it(engine, clock):
    case, _ = CaseRepo(engine).open(new_case(1))
    committer = GroupCommitter(engine, clock)
    committer.submit(click(case.id, 0))
    committer.submit({"v": 1, "verb": "approve"})  # a payload this version can't read
    committer.submit(["not", "an", "object"])
    committer.submit(click(case.id + 999, 3))  # a case that doesn't exist (foreign key)
    committer.submit(click(case.id, 4))
    assert ClickIntake(engine, clock, click_job).feed() == 5
    first, unreadable, listed, unknown, last = click_jobs(engine)
    assert (first.status, last.status, first.case_id, last.case_id) == ("pending", "pending", case.id, case.id)
    assert (unreadable.status, unreadable.operation) == ("dead", "unreadable")
    assert "lacks case_id" in unreadable.dead_reason
    assert (listed.status, listed.payload) == ("dead", {"stored": ["not", "an", "object"]})
    # runs without a case (and is refused as such); its order key still keeps it in line
    assert (unknown.status, unknown.case_id, unknown.order_key) == ("pending", None, f"click:{case.id + 999}")
    assert waiting(engine) == 0


def test_a_move_that_fails_midway_leaves_every_intent_for_the_next(engine, clock):
    case, _ = CaseRepo(engine).open(new_case(1))
    committer = GroupCommitter(engine, clock)
    for n in range(4):
        committer.submit(click(case.id, n))
    calls = []

    def crashing(payload, arrived):  # the process dying between the jobs' insert and the commit
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return click_job(payload, arrived)

    with pytest.raises(RuntimeError):
        ClickIntake(engine, clock, crashing).feed()
    assert waiting(engine) == 4 and click_jobs(engine) == []
    assert ClickIntake(engine, clock, click_job).feed() == 4
    assert len(click_jobs(engine)) == 4


def test_two_movers_at_once_make_each_click_one_job(database_url, clock):
    """Two replicas' clicks lanes moving while clicks keep arriving on both: every click is
    one job, none left behind, and the jobs are in arrival order."""
    a, b = make_engine(database_url), make_engine(database_url)
    try:
        case, _ = CaseRepo(a).open(new_case(1))
        commits = [GroupCommitter(a, clock), GroupCommitter(b, clock)]
        movers = [ClickIntake(a, clock, click_job, batch=7, sweep=0), ClickIntake(b, clock, click_job, batch=7, sweep=0)]
        stop = threading.Event()
        errors: list[BaseException] = []

        def move(intake):
            try:
                while not stop.is_set():
                    intake.feed()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=move, args=(m,)) for m in movers]
        [t.start() for t in threads]
        for n in range(300):
            commits[n % 2].submit(click(case.id, n))
        stop.set()
        [t.join(30) for t in threads]
        movers[0].feed()
        assert errors == []
        made = click_jobs(a)
        ids = [int(j.correlation_id[4:]) for j in made]
        assert sorted(ids) == list(range(300))  # each click once: none lost, none doubled
        assert waiting(a) == 0
        # each committer's clicks keep their order (across the two, arrival is a race)
        for parity in (0, 1):
            mine = [i for i in ids if i % 2 == parity]
            assert mine == sorted(mine)
    finally:
        a.dispose()
        b.dispose()


def test_a_mover_whose_intents_were_taken_meanwhile_makes_no_jobs(database_url, clock):
    """The guard under the advisory lock: a delete that finds fewer intents than were read
    rolls the whole batch back (PostgreSQL: another connection can delete meanwhile)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's write lock keeps anyone else from deleting during a move")
    engine = make_engine(database_url)
    other = make_engine(database_url)
    try:
        case, _ = CaseRepo(engine).open(new_case(1))
        committer = GroupCommitter(engine, clock)
        for n in range(3):
            committer.submit(click(case.id, n))

        raced = []

        def racing(payload, arrived):
            if not raced:  # "another replica" moves the first intent away, once
                raced.append(1)
                with other.begin() as conn:
                    conn.execute(delete(click_intents).where(
                        click_intents.c.id == select(func.min(click_intents.c.id)).scalar_subquery()))
            return click_job(payload, arrived)

        intake = ClickIntake(engine, clock, racing)
        assert intake.feed() == 0
        assert click_jobs(engine) == []  # not one job for the two left: the batch rolled back
        assert waiting(engine) == 2
        assert ClickIntake(engine, clock, click_job).feed() == 2
    finally:
        engine.dispose()
        other.dispose()


def test_without_a_nudge_a_mover_looks_only_every_sweep(engine, clock):
    case, _ = CaseRepo(engine).open(new_case(1))
    intake = ClickIntake(engine, clock, click_job, sweep=3600)
    assert intake.feed() == 0  # the start-up look (what a crash left)
    GroupCommitter(engine, clock).submit(click(case.id, 1))  # another replica's, unannounced
    assert intake.feed() == 0 and waiting(engine) == 1
    intake.nudge()
    assert intake.feed() == 1


def test_waiting_intents_count_as_pending_clicks_in_the_queue_stats(engine, clock):
    case, _ = CaseRepo(engine).open(new_case(1))
    GroupCommitter(engine, clock).submit(click(case.id, 1))
    arrived = clock()
    [stat] = [s for s in JobRepo(engine).stats() if s.kind == "click"]
    assert (stat.system, stat.status, stat.count, stat.oldest) == ("intake", "pending", 1, arrived)


def test_a_moved_click_is_claimed_and_run_like_any_job(engine, clock):
    case, _ = CaseRepo(engine).open(new_case(1))
    GroupCommitter(engine, clock).submit(click(case.id, 1))
    ClickIntake(engine, clock, click_job).feed()
    [job] = JobRepo(engine).claim(now=clock(), holder="w", lease=timedelta(seconds=10), kinds=["click"])
    assert Click.from_payload(job.payload).case_id == case.id
    assert [j.id for j in JobRepo(engine).list(kind="click")] == [job.id]


def test_clicks_on_a_case_that_does_not_exist_hold_up_no_click_in_their_burst(database_url):
    """Through the running app: a burst mixing clicks on a real case with clicks naming a
    case that doesn't exist. Every click is acked; the real case is approved once, each of
    the others told the case doesn't exist (before intents, such a click failed its group
    commit — the jobs table's foreign key — and every click committed with it)."""
    from blocks.ids import ActionId
    from policy.models import CaseStatus
    from tests.fakes import slack_requests as sr
    from tests.loop.harness import SIGNING_SECRET, T2A, T2B, loop, wait_for

    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        barrier = threading.Barrier(20)
        codes = []

        def one(i: int) -> None:
            value = lp.card_value(case) if i % 2 else f"v1:case:{case.id + 500}:1"
            body, ctype = sr.block_action(value, ActionId.CASE_APPROVE, user_id=T2A if i % 2 else T2B,
                                          channel=case.slack_channel, message_ts=case.slack_ts)
            barrier.wait()
            codes.append(sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert codes == [200] * 20
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the approval carried out")
        told = wait_for(lambda: (m := [t for t in lp.ephemerals_to(T2B) if "no longer exists" in t])
                        and len(m) == 10 and m, what="ten 'no such case' answers")
        assert len(told) == 10
        assert len(lp.c.cases.decisions(case.id)) == 1
        assert len([c for c in lp.store.calls if c.method == "approve_return"]) == 1
        wait_for(lambda: {j.status for j in JobRepo(lp.c.engine).list(kind="click", limit=100)} == {"done"},
                 what="every click's job done")
        assert len(JobRepo(lp.c.engine).list(kind="click", limit=100)) == 20
