"""Clicks written before their ack share commits: a burst is a few transactions, and each
caller returns only once its own row is committed."""

from __future__ import annotations

import threading

from sqlalchemy import event

from bot.clock import utcnow
from bot.jobs.group_commit import GroupCommitter
from bot.store.jobs import JobRepo, NewJob


def test_a_burst_of_submissions_is_committed_in_a_few_transactions_and_none_is_lost(engine):
    commits = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    committer = GroupCommitter(engine, utcnow)
    barrier = threading.Barrier(40)

    def click(i: int) -> None:
        barrier.wait()
        committer.submit(NewJob(kind="click", system="slack", operation="approve", payload={"i": i}))
        # returned: the row is there for anyone to read
        assert any(j.payload == {"i": i} for j in JobRepo(engine).list(kind="click", limit=100))

    threads = [threading.Thread(target=click, args=(i,)) for i in range(40)]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert sorted(j.payload["i"] for j in JobRepo(engine).list(kind="click", limit=100)) == list(range(40))
    assert len(commits) < 40  # grouped (it was one transaction per click)


def test_a_failed_commit_is_raised_to_every_caller_of_its_batch(engine):
    committer = GroupCommitter(engine, utcnow)
    bad = NewJob(kind="click", system="slack", operation="approve", payload={"not": object()})  # not JSON
    try:
        committer.submit(bad)
    except Exception as exc:  # noqa: BLE001
        assert "serializable" in str(exc) or "JSON" in str(exc) or isinstance(exc, TypeError)
    else:
        raise AssertionError("a row that could not be written was reported as saved")
    committer.submit(NewJob(kind="click", system="slack", operation="approve", payload={"ok": 1}))
    assert [j.payload for j in JobRepo(engine).list(kind="click")] == [{"ok": 1}]


def test_a_click_written_by_the_group_commit_reads_back_as_any_job(engine, clock):
    """On SQLite the leader writes at the driver: the row must be what SQLAlchemy would have
    written (JSON payload, aware UTC times), claimable like any other job."""
    from datetime import timedelta

    committer = GroupCommitter(engine, clock)
    committer.submit(NewJob(kind="click", system="slack", operation="approve", payload={"user": "U1", "n": 2},
                            case_id=None, order_key="click:7", correlation_id="c0ffee"))
    [job] = JobRepo(engine).claim(now=clock(), holder="w", lease=timedelta(seconds=10), kinds=["click"])
    assert (job.payload, job.order_key, job.correlation_id, job.status) == ({"user": "U1", "n": 2}, "click:7",
                                                                            "c0ffee", "running")
    assert job.created_at == clock() and job.next_attempt_at == clock() and job.created_at.tzinfo is not None
