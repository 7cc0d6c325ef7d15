"""Fixtures for the playbook: a service on a migrated database, and cases with cards."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import update

from bot.schema import cases as cases_table
from bot.services.playbook import PlaybookService
from bot.store import CaseRepo
from policy.models import CaseKind
from tests.bot.factories import new_case

REVIEW = "C0REVIEW01"
ESCALATION = "C0ESCALATE"


class Cases:
    """Cases with a card in REVIEW (ts `1700000000.0000NN`), of any kind and signals."""

    def __init__(self, repo: CaseRepo) -> None:
        self.repo = repo
        self._n = itertools.count(1001)

    def __call__(self, kind: CaseKind = CaseKind.RETURN_REQUEST, signals: tuple[str, ...] = ("high_value",),
             *, escalation_ts: str | None = None):
        n = next(self._n)
        case, _ = self.repo.open(new_case(n))
        values = dict(kind=kind.value, signal_codes=",".join(signals), slack_channel=REVIEW,
                      slack_ts=f"1700000000.{n:06d}")
        if escalation_ts:
            values.update(escalation_channel=ESCALATION, escalation_ts=escalation_ts)
        with self.repo.engine.begin() as conn:
            conn.execute(update(cases_table).where(cases_table.c.id == case.id).values(**values))
        return self.repo.get(case.id)


@pytest.fixture
def repo(engine) -> CaseRepo:
    return CaseRepo(engine)


@pytest.fixture
def pb(engine, repo, clock) -> PlaybookService:
    return PlaybookService(engine=engine, cases=repo, clock=clock)


@pytest.fixture
def make(repo) -> Cases:
    return Cases(repo)
