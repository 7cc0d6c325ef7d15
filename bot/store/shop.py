"""The shop's facts as the store connector last reported them (table `shop_facts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from bot.schema import shop_facts
from bot.store.sql import upsert
from policy.models import ShopFacts


@dataclass(frozen=True)
class StoredFacts:
    facts: ShopFacts
    fetched_at: datetime


class ShopFactsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, system: str, facts: ShopFacts, *, at: datetime) -> None:
        values = dict(system=system, currency=facts.currency, timezone=facts.timezone, name=facts.name,
                      fetched_at=at)
        with self.engine.begin() as conn:
            conn.execute(upsert(self.engine, shop_facts, ["system"], values,
                                update=["currency", "timezone", "name", "fetched_at"]))

    def load(self, system: str) -> StoredFacts | None:
        """What was stored for `system`; None when nothing was, or the database cannot say
        (not created or not migrated yet: `check` before the first `serve`)."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(shop_facts).where(shop_facts.c.system == system)).first()
        except DBAPIError:
            return None
        if row is None:
            return None
        try:
            facts = ShopFacts(currency=row.currency, timezone=row.timezone, name=row.name)
        except ValueError:  # a row this code cannot use (an unknown zone): as if none
            return None
        return StoredFacts(facts=facts, fetched_at=row.fetched_at)
