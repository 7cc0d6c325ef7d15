"""Small SQL helpers shared by the repositories (dialect differences live here)."""

from __future__ import annotations

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(engine: Engine, table: Table, index_elements: list[str]):
    """INSERT … ON CONFLICT DO NOTHING, for both dialects we support."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def upsert(engine: Engine, table: Table, index_elements: list[str], values: dict, update: list[str],
           increment: dict[str, int] | None = None):
    """INSERT … ON CONFLICT DO UPDATE: one statement, so concurrent writers can't both insert.
    `increment` columns are added to on conflict (counters) instead of overwritten."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    set_ = {k: stmt.excluded[k] for k in update}
    for column, by in (increment or {}).items():
        set_[column] = table.c[column] + by
    return stmt.on_conflict_do_update(index_elements=index_elements, set_=set_)


def for_update_skip_locked(engine: Engine, select_stmt):
    """Claiming rows: PostgreSQL skips rows another replica holds; SQLite has one writer
    at a time already (BEGIN IMMEDIATE), so the plain select is enough there."""
    if engine.dialect.name == "postgresql":
        return select_stmt.with_for_update(skip_locked=True)
    return select_stmt
