"""The policy simulator's IO: stream stored cases out of the database, replay them
(policy/simulate.py), and the policies it compares.

Streaming: one query over cases ⋈ their current snapshot ⋈ the decision that decided them,
read with `yield_per` (a server-side cursor on PostgreSQL, SQLite's own stepping), so
memory stays flat however many cases there are. The snapshot comes out as JSON text and
goes straight into pydantic's JSON validator (`snapshots.read_context_text`).

Parallel: `workers` processes (default: the machine's cores) replay ranges of case ids (a
few per worker, handed out as they come free) with their own connections, and the partial
results are merged (`Simulation.merge`).

"Current policy": the running one — `RETURNSBOT_POLICY` as the bot would load it, resolved
with the shop's currency and time zone as last stored (`shop_facts`, what the store
connector reported; the simulator never calls the store). The proposed policy is resolved
the same way, so a file that states another currency is refused like at start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, Text, and_, cast, func, null, select
from sqlalchemy import case as sql_case

from bot import actors
from bot.db import make_engine
from bot.schema import case_snapshots, cases, decisions, shop_facts
from bot.policy_fingerprint import fingerprint
from bot.store.snapshots import SnapshotUnreadable, read_assessment_text, read_context_text, version_matters
from policy.config import Policy, PolicyError, load_policy, parse_policy
from policy.edit import with_values
from policy.models import Action, CaseKind, ShopFacts
from policy.simulate import PastCase, Simulation, simulate_many, unreached_kinds

DEFAULT_SINCE = "90d"  # the history replayed when none is named
BATCH = 2000  # rows per fetch: big enough to amortise the round trip, small enough for memory
CHUNKS_PER_WORKER = 4  # id ranges per worker process


class SimulateError(ValueError):
    """Cannot simulate: the message says why (no shop facts, a bad --since)."""


@dataclass(frozen=True)
class Scope:
    """Which stored cases are replayed."""

    since: datetime | None = None  # opened at or after
    kind: CaseKind | None = None


_SINCE = re.compile(r"\s*(\d+)\s*([dw])\s*")


def parse_since(text: str, now: datetime) -> datetime:
    """'90d' or '12w' before `now`."""
    match = _SINCE.fullmatch(text or "")
    if not match:
        raise SimulateError(f"--since: expected a number of days or weeks such as 90d or 12w, got {text!r}")
    n, unit = int(match.group(1)), match.group(2)
    return now - timedelta(days=n * (7 if unit == "w" else 1))


# --- the policies -----------------------------------------------------------------------------


def stored_shop_facts(engine: Engine) -> ShopFacts | None:
    """The shop's facts as last stored (the newest row: one store connector per deployment)."""
    with engine.connect() as conn:
        row = conn.execute(select(shop_facts).order_by(shop_facts.c.fetched_at.desc()).limit(1)).first()
    if row is None:
        return None
    return ShopFacts(currency=row.currency, timezone=row.timezone, name=row.name)


def resolved(policy: Policy, facts: ShopFacts | None) -> Policy:
    """`policy` with the shop's currency and time zone; ShopMismatch (a PolicyError) when it
    states others; the policy's own when nothing is stored and it states both."""
    if facts is None:
        facts = policy.store.stated
        if facts is None:
            raise SimulateError("the shop's currency and time zone are not stored yet (run `returnsbot serve` "
                                "or `returnsbot check` once), and the policy file does not state [store] currency "
                                "and timezone")
    return policy.for_shop(facts)


def running_policy_text(path: str | None) -> tuple[str, str]:
    """The running policy file's text and name ("" and "the default policy" without one)."""
    if not path:
        return "", "the default policy"
    try:
        return Path(path).read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise PolicyError([f"{path}: policy file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{path}: cannot read policy file: {exc}"]) from None


def proposed_policy(*, path: str | None = None, text: str | None = None, name: str = "policy.toml",
                    changes: dict[str, str] | None = None, running: str | None = None) -> Policy:
    """The policy to try: a file, a text (a Slack attachment), or the running policy with
    `key=value` changes. Errors are the policy file's (file, line, key)."""
    if path is not None:
        return load_policy(path)
    if text is not None:
        return parse_policy(text, source_name=name)
    base, base_name = running_policy_text(running)
    edited = with_values(base, changes or {})
    shown = ", ".join(f"{k}={v}" for k, v in (changes or {}).items())
    return parse_policy(edited, source_name=f"{base_name} with {shown}" if shown else base_name)


# --- reading the stored cases -----------------------------------------------------------------


def _statement(scope: Scope, lo: int | None = None, hi: int | None = None, verdicts_of: str | None = None):
    c, s, d = cases.c, case_snapshots.c, decisions.c
    # The stored assessment, only where the current policy made it (same fingerprint).
    stored = (sql_case((s.policy_fingerprint == verdicts_of, cast(s.assessment, Text)), else_=null())
              if verdicts_of else null())
    # The decision that decided the case: its first one, a follow-up after receipt aside.
    first = (select(func.min(d.id)).where(d.case_id == c.id, d.action != "followup")
             .correlate(cases).scalar_subquery())
    version = s.context["_v"].as_integer() if version_matters() else null()
    # The columns in the order Reader.cases unpacks them.
    stmt = (select(c.id, c.order_name, c.customer_name, c.escalated_by,
                   cast(s.context, Text).label("context"), version.label("v"),
                   stored.label("assessment"),
                   d.outcome, d.action, d.decided_by)
            .select_from(cases.join(case_snapshots, s.id == c.snapshot_id)
                         .outerjoin(decisions, and_(d.id == first)))
            .order_by(c.id))
    if scope.since is not None:
        stmt = stmt.where(c.opened_at >= scope.since)
    if scope.kind is not None:
        stmt = stmt.where(c.kind == scope.kind.value)
    if lo is not None:
        stmt = stmt.where(c.id >= lo)
    if hi is not None:
        stmt = stmt.where(c.id < hi)
    return stmt


def _person_outcome(decided_by: str | None, outcome: str | None, action: str | None) -> Action | None:
    if decided_by is None or not actors.is_person(decided_by):
        return None
    try:
        return Action(outcome or action)
    except ValueError:
        return None  # an outcome that is no recommendation's (a follow-up's partial refund)


def _label(case_id: int, order_name: str | None, customer_name: str | None) -> str:
    return " ".join(p for p in (order_name, customer_name) if p) or f"case {case_id}"


class Reader:
    """Streams PastCases for a scope; counts the snapshots it could not read. With
    `current` (the current policy), a snapshot assessed by that same policy and policy code
    carries its stored assessment (`PastCase.current`): not recomputed."""

    def __init__(self, engine: Engine, scope: Scope, current: Policy | None = None) -> None:
        self.engine, self.scope = engine, scope
        self.fingerprint = fingerprint(current) if current is not None else None
        self.unreadable = 0
        self.reused = 0  # stored verdicts used

    def cases(self, lo: int | None = None, hi: int | None = None, *,
              unreached: frozenset[CaseKind] = frozenset()) -> Iterator[PastCase]:
        """`unreached`: kinds whose context is not read where the stored assessment is
        (no proposal can change it: `policy.simulate.unreached_kinds`)."""
        with self.engine.connect() as conn:
            stmt = _statement(self.scope, lo, hi, self.fingerprint)
            result = conn.execution_options(yield_per=BATCH).execute(stmt)
            # Unpacked as tuples: named access on each of 100,000 rows is a measurable part of a replay.
            for case_id, order_name, customer_name, escalated_by, context, v, assessment, outcome, action, \
                    decided_by in result:
                stored = read_assessment_text(assessment) if assessment is not None else None
                ctx = None
                if stored is None or stored.kind not in unreached:
                    try:
                        ctx = read_context_text(context, v)
                    except SnapshotUnreadable:
                        self.unreadable += 1
                        continue
                self.reused += stored is not None
                yield PastCase(case_id=case_id, label=_label(case_id, order_name, customer_name), context=ctx,
                               decided=_person_outcome(decided_by, outcome, action),
                               escalated=escalated_by is not None, decided_by=decided_by, current=stored,
                               kind=stored.kind if stored is not None else None)

    def id_ranges(self, parts: int) -> list[tuple[int, int | None]]:
        """Contiguous case id ranges with about the same number of cases in scope each."""
        c = cases.c
        stmt = select(c.id).order_by(c.id)
        if self.scope.since is not None:
            stmt = stmt.where(c.opened_at >= self.scope.since)
        if self.scope.kind is not None:
            stmt = stmt.where(c.kind == self.scope.kind.value)
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
            if n == 0:
                return []
            bounds = [conn.execute(stmt.offset(n * i // parts).limit(1)).scalar_one() for i in range(parts)]
        bounds = sorted(set(bounds))
        return [(lo, hi) for lo, hi in zip(bounds, [*bounds[1:], None])]  # the last one: no upper bound


# --- running it -----------------------------------------------------------------------------


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run(engine: Engine, current: Policy, proposed: Policy, scope: Scope, *, workers: int = 1,
        reuse: bool = True) -> Simulation:
    """Replay the stored cases in `scope` through both (resolved) policies. `reuse`: read
    the current policy's stored verdicts where it made them (same fingerprint)."""
    return run_many(engine, current, [proposed], scope, workers=workers, reuse=reuse)[0]


def run_many(engine: Engine, current: Policy, proposals: list[Policy], scope: Scope, *,
             workers: int = 1, focus: list[frozenset[int]] | None = None, reuse: bool = True) -> list[Simulation]:
    """One replay of the stored cases in `scope` for several proposed policies."""
    with reading(engine) as reader_engine:
        return _run_many(reader_engine, current, proposals, scope, _Options(workers, focus, reuse))


@dataclass(frozen=True)
class _Options:
    workers: int = 1
    focus: list[frozenset[int]] | None = None
    reuse: bool = True


@contextmanager
def reading(engine: Engine) -> Iterator[Engine]:
    """An engine for long reads of `engine`'s database: on SQLite a read-only one (its own
    connections never take the write lock, so the bot's writers go on meanwhile)."""
    if engine.dialect.name != "sqlite":
        yield engine
        return
    ro = make_engine(engine.url.render_as_string(hide_password=False), read_only=True)
    try:
        yield ro
    finally:
        ro.dispose()


def _run_many(engine: Engine, current: Policy, proposals: list[Policy], scope: Scope,
              opts: _Options) -> list[Simulation]:
    ranges = Reader(engine, scope).id_ranges(opts.workers * CHUNKS_PER_WORKER) if opts.workers > 1 else []
    if len(ranges) <= 1:
        return _replay(engine, current, proposals, scope, (None, None), opts)
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    # Several ranges per worker, handed out as workers come free: cases differ in cost by
    # kind (a dispute's packet, a ticket's review), so equal counts are not equal work.
    with ctx.Pool(min(opts.workers, len(ranges))) as pool:
        parts = list(pool.imap(_replay_range_of, [(url, current, proposals, scope, r, opts) for r in ranges]))
    totals = parts[0]
    for part in parts[1:]:
        for total, sim in zip(totals, part):
            total.merge(sim)
    return totals


def _replay(engine: Engine, current: Policy, proposals: list[Policy], scope: Scope,
            bounds: tuple[int | None, int | None], opts: _Options) -> list[Simulation]:
    reader = Reader(engine, scope, current if opts.reuse else None)
    unreached = unreached_kinds(current, proposals) if opts.reuse else frozenset()
    sims = simulate_many(reader.cases(*bounds, unreached=unreached), current, proposals, focus=opts.focus)
    for sim in sims:
        sim.unreadable = reader.unreadable
        sim.reused = reader.reused
    return sims


def _replay_range_of(args: tuple) -> list[Simulation]:
    return _replay_range(*args)


def _replay_range(url: str, current: Policy, proposals: list[Policy], scope: Scope,
                  bounds: tuple[int, int | None], opts: _Options) -> list[Simulation]:
    engine = make_engine(url, read_only=True)
    try:
        return _replay(engine, current, proposals, scope, bounds, opts)
    finally:
        engine.dispose()
