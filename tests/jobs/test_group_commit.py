"""Clicks written before their ack share commits: a burst is a few transactions, and each
caller returns only once its own click intent is committed."""

from __future__ import annotations

import threading

from sqlalchemy import event, select

from bot.clock import utcnow
from bot.jobs.group_commit import GroupCommitter
from bot.schema import click_intents


def intents(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(click_intents).order_by(click_intents.c.id)).all()


def test_a_burst_of_submissions_is_committed_in_a_few_transactions_and_none_is_lost(engine):
    commits = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    committer = GroupCommitter(engine, utcnow)
    raw_commits = []  # SQLite's leader commits at the driver: count its COMMITs too
    barrier = threading.Barrier(40)
    seen_after_return: list[bool] = []

    def click(i: int) -> None:
        barrier.wait()
        committer.submit({"i": i})
        # returned: the row is there for anyone to read
        seen_after_return.append(any(r.payload == {"i": i} for r in intents(engine)))

    original = committer._write
    committer._write = lambda batch: (raw_commits.append(len(batch)), original(batch))
    threads = [threading.Thread(target=click, args=(i,)) for i in range(40)]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert seen_after_return == [True] * 40
    assert sorted(r.payload["i"] for r in intents(engine)) == list(range(40))
    assert sum(raw_commits) == 40 and len(raw_commits) < 40  # grouped (it was one transaction per click)


def test_a_failed_commit_is_raised_to_every_caller_of_its_batch(engine):
    committer = GroupCommitter(engine, utcnow)
    try:
        committer.submit({"not": object()})  # not JSON
    except Exception as exc:  # noqa: BLE001
        assert "serializable" in str(exc) or "JSON" in str(exc) or isinstance(exc, TypeError)
    else:
        raise AssertionError("a row that could not be written was reported as saved")
    committer.submit({"ok": 1})
    assert [r.payload for r in intents(engine)] == [{"ok": 1}]


def test_an_intent_written_by_the_group_commit_reads_back_as_sqlalchemy_wrote_it(engine, clock):
    """On SQLite the leader writes at the driver: the row must be what SQLAlchemy would have
    written (JSON payload, aware UTC time)."""
    GroupCommitter(engine, clock).submit({"user": "U1", "n": 2, "note": "é ✓"})
    [row] = intents(engine)
    assert row.payload == {"user": "U1", "n": 2, "note": "é ✓"}
    assert row.created_at == clock() and row.created_at.tzinfo is not None
