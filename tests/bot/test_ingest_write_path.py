"""The write a webhook costs before its 200 (bench/ingest.py measures it): one cached
statement, and on SQLite a transaction that takes the write lock at BEGIN without a
round through SQLAlchemy's statement machinery."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from bot.db import make_engine
from bot.store.inbox import ReceiptRepo

AT = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def test_recording_deliveries_reuses_one_statement_and_still_dedupes(engine, monkeypatch):
    statements = []
    real = Connection.execute

    def spy(self, statement, *args, **kwargs):
        statements.append(statement)
        return real(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "execute", spy)
    repo = ReceiptRepo(engine)
    new = [repo.record(source="shopify", delivery_id=d, topic="returns/request", body="{}", at=AT)
           for d in ("evt-1", "evt-2", "evt-1")]
    assert new == [True, True, False]
    # a receipt and its inbox job per new delivery, the receipt alone for the duplicate; two
    # statements built once (was: one statement built per delivery)
    assert len(statements) == 5 and len({id(s) for s in statements}) == 2
    monkeypatch.undo()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT delivery_id, status, received_at FROM webhook_receipts "
                                 "ORDER BY id")).all()
        jobs = conn.execute(text("SELECT kind, status FROM jobs ORDER BY id")).all()
    assert [(r[0], r[1]) for r in rows] == [("evt-1", "pending"), ("evt-2", "pending")]
    assert [tuple(j) for j in jobs] == [("inbox", "pending"), ("inbox", "pending")]
    assert all(r[2] is not None for r in rows)


@pytest.fixture
def sqlite_path(tmp_path):
    return tmp_path / "locks.db"


def test_sqlite_begins_immediate_straight_at_the_driver(sqlite_path):
    engine = make_engine(f"sqlite:///{sqlite_path}")
    seen = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, statement, *a: seen.append(statement))
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
            # Even a transaction that has only read holds the write lock: another writer
            # is refused at its BEGIN, instead of failing later on a read-to-write upgrade.
            other = sqlite3.connect(sqlite_path, timeout=0, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # committed: free again
        other.execute("ROLLBACK")
        other.close()
    finally:
        engine.dispose()
    assert "BEGIN IMMEDIATE" not in seen  # was: through exec_driver_sql, ~40 µs of every transaction
    assert seen.count("SELECT 1") == 1
