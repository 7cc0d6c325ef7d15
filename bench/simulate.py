"""Benchmark: the policy simulator over 100,000 stored cases on SQLite.

    python -m bench.simulate [--cases 100000] [--db /tmp/returnsbot-sim-100k.db] [--workers N] [--runs 3]

1. Builds the database once (kept at --db; `--fresh` rebuilds): `returnsbot demo`'s cases
   (every kind the sample store produces) as templates, varied per case — the return asked
   0–40 days later, amounts and lifetime spend scaled 0.5–3× — each stored with its
   snapshot; a third of them get a person's decision (the current policy's recommendation,
   or an override: store credit for an outside-window deny, refund for a serial
   returner's store credit), bulk-inserted with executemany.
2. Times `returnsbot simulate` (bot.simulate.run, the code the command runs) in a fresh
   process per run, current = the default policy, proposed = a longer window, a lower VIP
   threshold and a higher auto-approve limit, and reports the wall time, cases/s and that
   process's peak RSS (and its worker's, with --workers > 1).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

DEFAULT_DB = Path(tempfile.gettempdir()) / "returnsbot-sim-100k.db"
PROPOSED = """
[returns]
window_days = 45
[vip]
lifetime_spend = 1500
[auto_approve]
max_amount = 100
"""


def _templates() -> list[tuple[dict, dict]]:
    """(context JSON, assessment JSON) of every case `returnsbot demo` opens."""
    from io import StringIO

    from bot.db import make_engine, upgrade
    from bot.demo import demo_container, run_demo
    from bot.schema import case_snapshots, cases
    from bot.settings import Settings
    from policy.config import Policy
    from sqlalchemy import select

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        upgrade(url)
        c, clock = demo_container(Settings(_env_file=None, database_url=url), Policy.default(),
                                  now=datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc))
        run_demo(c, StringIO(), clock=clock)
        c.engine.dispose()
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(select(case_snapshots.c.context, case_snapshots.c.assessment)
                                .join(cases, cases.c.snapshot_id == case_snapshots.c.id)).all()
        engine.dispose()
    return [(r.context, r.assessment) for r in rows]


def _scaled(money: dict | None, factor: Decimal) -> None:
    if money and "amount" in money:
        money["amount"] = str((Decimal(money["amount"]) * factor).quantize(Decimal("0.01")))


def _iso(text: str, days: int) -> str:
    at = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(days=days)
    return at.isoformat().replace("+00:00", "Z")


def _vary(ctx: dict, rng: random.Random) -> dict:
    ctx = json.loads(json.dumps(ctx))  # a deep copy
    later = rng.randint(0, 40)
    ctx["now"] = _iso(ctx["now"], later)
    request = ctx.get("return_request")
    factor = Decimal(rng.choice(("0.5", "0.75", "1", "1", "1.5", "2", "3")))
    if request:
        request["requested_at"] = _iso(request["requested_at"], later)
        for li in request["line_items"]:
            _scaled(li["unit_price"], factor)
            _scaled(li.get("presentment_unit_price"), factor)
    if ctx.get("customer"):
        _scaled(ctx["customer"].get("lifetime_spend"), Decimal(rng.choice(("0.5", "0.8", "1", "1.2", "2"))))
    return ctx


def _person_decision(action, signals, rng: random.Random):
    """What a person decided, given the current recommendation: mostly as recommended,
    sometimes the overrides the suggestions should find."""
    from policy.models import Action, SignalCode

    codes = {s.code for s in signals}
    if action is Action.DENY and SignalCode.OUTSIDE_WINDOW in codes and rng.random() < 0.4:
        return Action.STORE_CREDIT
    if action is Action.STORE_CREDIT and SignalCode.SERIAL_RETURNER in codes and rng.random() < 0.3:
        return Action.REFUND
    if action is Action.ESCALATE:
        return Action.REFUND if rng.random() < 0.7 else Action.DENY
    return action


def generate(path: Path, n: int, *, seed: int = 13) -> float:
    """Writes `n` cases (with snapshots and some decisions) to a fresh SQLite database."""
    from sqlalchemy import insert

    from bot.db import make_engine, upgrade
    from bot.schema import case_snapshots, cases, decisions, shop_facts
    from bot.policy_fingerprint import fingerprint
    from bot.store import snapshots
    from bot.store.snapshots import read_context_text
    from policy.assess import assess
    from policy.config import Policy
    from policy.models import Action, ShopFacts

    t0 = time.perf_counter()
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    facts = ShopFacts(currency="USD", timezone="America/Los_Angeles", name="Ridgeline Outfitters")
    policy = Policy.default().for_shop(facts)
    stamp = fingerprint(policy)
    templates = _templates()
    rng = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(insert(shop_facts).values(system="sample", currency=facts.currency, timezone=facts.timezone,
                                               name=facts.name, fetched_at=datetime.now(timezone.utc)))
    chunk = 5000
    for start in range(1, n + 1, chunk):
        case_rows, snap_rows, decision_rows = [], [], []
        for i in range(start, min(start + chunk, n + 1)):
            ctx_json, _ = templates[i % len(templates)]
            varied = _vary(ctx_json, rng)
            text = json.dumps(varied)
            ctx = read_context_text(text, varied.get("_v"))
            rec = assess(ctx, policy)
            r = rec.recommendation
            opened = datetime.fromisoformat(varied["now"].replace("Z", "+00:00"))
            decided = _person_decision(r.action, rec.signals, rng) if rng.random() < 0.34 and not r.auto_approve else None
            order = varied.get("order") or {}  # a ticket about no order has none
            case_rows.append(dict(
                id=i, source="sample", external_id=f"bench-{i}", kind=ctx.kind.value,
                status="approved" if decided else "open", version=2 if decided else 1,
                order_id=order.get("id"), order_name=order.get("name"),
                customer_id=(varied.get("customer") or {}).get("id"),
                customer_name=(varied.get("customer") or {}).get("display_name"),
                amount_minor=r.amount.to_minor(), currency=r.amount.currency, risk_score=r.risk_score,
                recommended_action=r.action.value, required_tier=r.tier.index, auto_approved=r.auto_approve,
                signal_codes=",".join(s.code.value for s in rec.signals), snapshot_id=i, card_version=1,
                opened_at=opened, updated_at=opened,
                decided_at=opened + timedelta(hours=2) if decided else None,
                decided_by="U0BENCH001" if decided else None,
                decided_action=decided.value if decided else None,
                escalated_by="U0BENCH002" if decided and r.action is Action.ESCALATE else None))
            # As ingest stores it: the assessment made by the policy, with that policy's fingerprint.
            snap_rows.append(dict(id=i, case_id=i, taken_at=opened, context=varied, assessment=snapshots.dump(rec),
                                  policy_fingerprint=stamp))
            if decided:
                decision_rows.append(dict(case_id=i, snapshot_id=i, action="deny" if decided is Action.DENY else "approve",
                                          outcome=decided.value, decided_by="U0BENCH001",
                                          decided_at=opened + timedelta(hours=2),
                                          followed_recommendation=decided is r.action, detail={}))
        with engine.begin() as conn:
            conn.execute(insert(cases), case_rows)
            conn.execute(insert(case_snapshots), snap_rows)
            if decision_rows:
                conn.execute(insert(decisions), decision_rows)
    engine.dispose()
    return time.perf_counter() - t0


def _peak_rss_kb() -> int:
    """This process's peak RSS: VmHWM, which exec resets (ru_maxrss keeps the parent's
    peak from before the exec, so a run right after generating would report that)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(path: Path, workers: int, reuse: bool = True, changes: list[str] | None = None) -> dict:
    """One timed simulation in this (fresh) process."""
    t_import = time.perf_counter()
    from bot.db import make_engine
    from bot.simulate import Scope, resolved, run, stored_shop_facts
    from policy.config import Policy, parse_policy

    engine = make_engine(f"sqlite:///{path}")
    facts = stored_shop_facts(engine)
    current = resolved(Policy.default(), facts)
    if changes:  # the default policy with KEY=VALUE changes (`--set`), as `returnsbot simulate --set` takes them
        from bot.simulate import proposed_policy
        proposed = resolved(proposed_policy(changes=dict(c.split("=", 1) for c in changes)), facts)
    else:
        proposed = resolved(parse_policy(PROPOSED, "bench.toml"), facts)
    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    sim = run(engine, current, proposed, Scope(), workers=workers, reuse=reuse)
    elapsed, cpu_seconds = time.perf_counter() - t0, cpu() - c0
    engine.dispose()
    self_kb = _peak_rss_kb()
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    load = os.getloadavg()[0]
    return {"cases": sim.cases, "changed": sim.changed, "decided": sim.decided, "unreadable": sim.unreadable,
            "reused": sim.reused,
            "seconds": elapsed, "cpu_seconds": cpu_seconds, "load": load, "startup_seconds": t0 - t_import,
            "rss_mb": self_kb / 1024,
            "worker_rss_mb": children_kb / 1024 if workers > 1 else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--db", type=Path, default=DEFAULT_DB)
    ap.add_argument("--fresh", action="store_true", help="rebuild the database even if it exists")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--recompute", action="store_true",
                    help="recompute the current policy's verdicts instead of reading the stored ones")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="simulate the default policy with this change instead of the bench's three-section proposal")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the timed child process
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.db, args.workers, reuse=not args.recompute, changes=args.set)))
        return 0
    if args.fresh or not args.db.exists():
        took = generate(args.db, args.cases)
        print(f"generated {args.cases:,} cases in {took:.1f} s → {args.db} ({args.db.stat().st_size / 1e6:,.0f} MB)")
    results = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-m", "bench.simulate", "--measure", "--db", str(args.db),
                              "--workers", str(args.workers), *(["--recompute"] if args.recompute else []),
                              *(a for c in args.set for a in ("--set", c))],
                             check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        worker = f", worker peak RSS {r['worker_rss_mb']:.0f} MB" if r["worker_rss_mb"] else ""
        print(f"simulated {r['cases']:,} cases ({r['changed']:,} changed, {r['decided']:,} decided by people, "
              f"{r['reused']:,} stored verdicts read, "
              f"{r['unreadable']} unreadable) in {r['seconds']:.2f} s = {r['cases'] / r['seconds']:,.0f} cases/s "
              f"(CPU {r['cpu_seconds']:.1f} s, load average {r['load']:.1f}), workers {args.workers}, "
              f"peak RSS {r['rss_mb']:.0f} MB{worker}")
    if not results:
        return 0
    best = min(r["seconds"] for r in results)
    print(f"best of {len(results)}: {best:.2f} s")
    return 0 if best < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
