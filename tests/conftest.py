"""Shared fixtures. Database tests run on SQLite always and on PostgreSQL when
TEST_DATABASE_URL is set (CI sets it); without it the PostgreSQL runs skip."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db import make_engine, upgrade
from bot.schema import metadata

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_migrated() -> str:
    assert TEST_DATABASE_URL
    url = _worker_database(TEST_DATABASE_URL)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = make_engine(url)
    with engine.begin() as conn:  # start from nothing: the migrations must build it all
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own database beside TEST_DATABASE_URL's
    (`test_gw0`, …; created when missing), so workers never drop each other's schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(base.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _db_params():
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set"))]


@pytest.fixture(params=_db_params())
def database_url(request, tmp_path) -> str:
    """A migrated, empty database; the URL is handed to code under test."""
    if request.param == "sqlite":
        path = tmp_path / "returnsbot.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("_postgres_migrated")
    reset_database(url)
    return url


_RESTART_SEQUENCES = text("""DO $$ DECLARE s record; BEGIN
  FOR s IN SELECT c.oid::regclass AS seq FROM pg_class c
           WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace
  LOOP PERFORM setval(s.seq, 1, false); END LOOP; END $$""")


def reset_database(url: str) -> None:
    """Empty every table (a test that runs several rounds on one database)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # DELETE and sequences back to 1: ~4 ms on a test's few rows, where TRUNCATE of every
            # table costs ~85 ms (it rewrites each table), paid by ~400 PostgreSQL tests.
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(_RESTART_SEQUENCES)
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def engine(database_url):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()
