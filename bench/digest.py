"""Benchmark: the weekly digest's `compute` over 100,000 cases.

Seeds a realistic history — 100,000 cases over 52 weeks with their snapshots (~3 KB of
JSON each, like the real ones), one decision per decided case, 4 orders per case and a
few integration-health rows — into a temp SQLite file and into PostgreSQL (in its own
schema `digest_bench`, dropped afterwards: nothing is left behind), then times
`DigestService.compute` for the latest scheduled week (what the scheduler posts) and, for
reference, for a week in the middle of the history.

    python -m bench.digest [--cases 100000] [--weeks 52] [--runs 7] [--ticket-share 0.3]
                           [--postgres-url postgresql://postgres@127.0.0.1:5432/test | --no-postgres]
                           [--explain] [--profile]

Targets: ≤ 1 s on SQLite, ≤ 250 ms on PostgreSQL (median of the runs, after one warm-up
run). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from bot.db import make_engine, upgrade
from bot.services.digest import DigestService
from policy.config import parse_policy

UTC = timezone.utc
SCHEMA = "digest_bench"
POLICY = parse_policy("""
[store]
currency = "USD"
timezone = "America/New_York"
[digest]
day = "mon"
time = "09:00"
[slack]
digest_channel = "C0DIGEST01"
""")
KINDS = [("return_request", 0.70), ("order_review", 0.15), ("high_value_refund", 0.08), ("dispute", 0.07)]
SIGNALS = ["outside_window", "high_value", "final_sale", "serial_returner", "vip_customer", "high_payment_risk",
           "open_dispute", "not_delivered", "refund_exceeds_paid", "repeat_claim"]
REASONS = ["SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "UNWANTED", "NOT_AS_DESCRIBED", "WRONG_ITEM", "DEFECTIVE", "STYLE",
           "COLOR", "OTHER"]
PEOPLE = [f"U0PERSON{i:02d}" for i in range(12)]
TARGETS = {"sqlite": 1.0, "postgresql": 0.250}

CASE_COLS = ["id", "source", "external_id", "kind", "status", "version", "order_id", "order_name", "customer_id",
             "customer_name", "amount_minor", "currency", "risk_score", "recommended_action", "required_tier",
             "auto_approved", "signal_codes", "channel", "slack_channel", "slack_ts", "card_version", "snapshot_id",
             "opened_at", "updated_at", "decided_at", "decided_by", "decided_action", "return_reasons",
             "ticket_created_at", "priority_rank", "reply_due_at", "csat", "csat_at"]
SNAP_COLS = ["id", "case_id", "taken_at", "context", "assessment"]
DEC_COLS = ["id", "case_id", "snapshot_id", "action", "outcome", "decided_by", "decided_at",
            "followed_recommendation", "detail"]
ORDER_COLS = ["source", "order_id", "order_name", "placed_at", "total_minor", "currency"]
JOB_COLS = ["id", "kind", "system", "operation", "case_id", "order_key", "seq", "payload", "idempotency_key", "status",
            "attempts", "token", "next_attempt_at", "created_at", "updated_at", "finished_at"]


# --- the data ------------------------------------------------------------------------------


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _money(minor: int, cur: str) -> dict:
    return {"amount": f"{minor / 100:.2f}", "currency": cur}


def _context(rng: random.Random, kind: str, n: int, opened: datetime, minor: int, cur: str) -> dict:
    """A CaseContext-shaped document about as large as the real ones (2-4 KB)."""
    items = [{
        "id": f"gid://shopify/LineItem/{n * 10 + i}", "title": rng.choice(["Featherlight 2P Tent", "Trail Runner GTX",
                                                                          "Merino Base Layer", "Summit Down Jacket"]),
        "sku": f"SKU-{rng.randrange(10 ** 5)}", "variant_title": rng.choice(["S", "M", "L", "XL"]),
        "quantity": rng.randint(1, 3), "unit_price": _money(minor // 2, cur),
        "product_tags": rng.sample(["camping", "footwear", "sale", "final-sale", "extended-returns"], 2),
    } for i in range(rng.randint(1, 3))]
    order = {
        "id": f"gid://shopify/Order/{5 * 10 ** 9 + n}", "name": f"#{1000 + n}", "created_at": _iso(opened - timedelta(days=9)),
        "currency": cur, "total": _money(minor, cur), "received": _money(minor, cur), "refunded": _money(0, cur),
        "financial_status": "PAID", "fulfillment_status": "FULFILLED", "customer_id": f"gid://shopify/Customer/{n % 9000}",
        "email": f"customer{n % 9000}@example.com", "tags": ["web"], "line_items": items,
        "shipments": [{"id": f"gid://shopify/Fulfillment/{n}", "status": "DELIVERED", "carrier": "UPS",
                       "tracking_number": f"1Z{n:012d}", "tracking_url": f"https://ups.example/track/1Z{n:012d}",
                       "shipped_at": _iso(opened - timedelta(days=7)), "delivered_at": _iso(opened - timedelta(days=4)),
                       "estimated_delivery_at": None, "source": "shopify"}],
        "refunds": [], "risk": {"source": "shopify", "level": rng.choice(["LOW", "LOW", "MEDIUM", "HIGH"]),
                                "score": rng.randrange(100), "facts": ["billing address matches"]},
        "cancelled_at": None,
    }
    ctx = {
        "kind": kind, "now": _iso(opened), "order": order,
        "customer": {"id": order["customer_id"], "display_name": f"Customer {n % 9000}", "email": order["email"],
                     "tags": rng.sample(["VIP", "wholesale", "newsletter"], 1), "orders_count": rng.randint(1, 30),
                     "lifetime_spend": _money(minor * 5, cur), "created_at": _iso(opened - timedelta(days=400))},
        "history": {"since": _iso(opened - timedelta(days=365)), "orders_count": rng.randint(1, 20),
                    "returns": [{"return_id": f"gid://shopify/Return/{n * 7 + j}", "order_id": order["id"],
                                 "requested_at": _iso(opened - timedelta(days=30 * j + 5)),
                                 "amount": _money(minor // 3, cur), "status": "CLOSED"}
                                for j in range(rng.randint(0, 3))],
                    "first_order_at": _iso(opened - timedelta(days=500))},
        "return_request": None, "refund": None, "dispute": None, "payments": [], "shipments": [], "tickets": [],
        "open_disputes": [], "prior_returns_on_order": [],
    }
    if kind == "return_request":
        ctx["return_request"] = {
            "id": f"gid://shopify/Return/{n}", "name": f"#{1000 + n}-R1", "order_id": order["id"],
            "status": "REQUESTED", "requested_at": _iso(opened),
            "line_items": [{"id": f"gid://shopify/ReturnLineItem/{n * 10 + i}", "line_item_id": it["id"],
                            "title": it["title"], "sku": it["sku"], "quantity": 1, "unit_price": it["unit_price"],
                            "reason": rng.choice(REASONS), "reason_note": None,
                            "customer_note": "It did not fit the way I hoped." if rng.random() < 0.5 else None,
                            "product_tags": it["product_tags"]} for i, it in enumerate(items)],
        }
    elif kind == "dispute":
        ctx["dispute"] = {"id": f"gid://shopify/ShopifyPaymentsDispute/{n}", "order_id": order["id"],
                          "status": "NEEDS_RESPONSE", "reason": "FRAUDULENT", "amount": _money(minor, cur),
                          "initiated_at": _iso(opened), "evidence_due_by": _iso(opened + timedelta(days=7))}
    return ctx


def generate(n_cases: int, weeks: int, now: datetime, orders_per_case: int, seed: int = 7,
             ticket_share: float = 0.0):
    """Rows for every table, as plain tuples in column order (times aware UTC). A share
    `ticket_share` of the cases are support tickets: created a little before their case,
    their reply job done seconds after the decision, a fifth edited, a third rated."""
    rng = random.Random(seed)
    span = timedelta(weeks=weeks).total_seconds()
    kinds, weights = zip(*KINDS)
    cases, snaps, decs, jobs = [], [], [], []
    for n in range(1, n_cases + 1):
        opened = now - timedelta(seconds=span * (1 - (n - 1) / n_cases)) + timedelta(seconds=rng.random() * 60)
        kind = "ticket" if rng.random() < ticket_share else rng.choices(kinds, weights)[0]
        cur = "EUR" if rng.random() < 0.05 else "USD"
        minor = rng.randint(1000, 200_000)
        signals = [s for s in SIGNALS if rng.random() < 0.12]
        if kind == "order_review" and not signals:
            signals = [rng.choice(["vip_customer", "high_value"])]
        recommended = {"return_request": rng.choice(["refund", "refund", "store_credit", "exchange", "deny", "escalate"]),
                       "dispute": "escalate"}.get(kind, "accept")
        age = (now - opened).total_seconds()
        auto = kind == "return_request" and rng.random() < 0.25
        edited = kind == "ticket" and rng.random() < 0.2
        status, decided_at, decided_by, outcome, slack = "done", None, None, None, None
        updated = opened
        if auto:
            decided_at, decided_by, outcome = opened, "returnsbot:auto-approve", recommended
        elif rng.random() < (0.3 if age < 3 * 86400 else 0.01):
            status = rng.choice(["open", "open", "escalated"])
            slack = ("C0REVIEW01", f"{int(opened.timestamp())}.{n:06d}")
        elif kind == "return_request" and rng.random() < 0.05:
            status, updated = "closed", opened + timedelta(hours=rng.expovariate(1 / 20))
        else:
            decided_at = opened + timedelta(seconds=rng.expovariate(1 / (6 * 3600)))
            decided_by = rng.choice(PEOPLE)
            followed = rng.random() < 0.85
            outcome = recommended if followed else rng.choice(["refund", "store_credit", "deny", "accept"])
            if kind != "return_request":
                outcome = "accept"
            status = "denied" if outcome == "deny" and rng.random() < 0.1 else "done"
            slack = ("C0REVIEW01", f"{int(opened.timestamp())}.{n:06d}")
        if decided_at and decided_at > now:  # not decided yet at `now`
            status, decided_at, decided_by, outcome = "open", None, None, None
        updated = decided_at or updated
        cases.append((
            n, "shopify", f"gid://shopify/Return/{n}", kind, status, 2, f"gid://shopify/Order/{5 * 10 ** 9 + n}",
            f"#{1000 + n}", f"gid://shopify/Customer/{n % 9000}", f"Customer {n % 9000}", minor, cur,
            rng.randrange(100), recommended, rng.randrange(3), auto, ",".join(signals), "C0REVIEW01",
            slack[0] if slack else None, slack[1] if slack else None, 2, n, opened, updated, decided_at, decided_by,
            outcome, None,
        ))
        context = _context(rng, kind, n, opened, minor, cur)
        if context["return_request"]:  # as CaseRepo.open fills it: the distinct reasons
            reasons = ",".join(sorted({li["reason"] for li in context["return_request"]["line_items"]}))
            cases[-1] = (*cases[-1][:-1], reasons)
        else:
            cases[-1] = (*cases[-1][:-1], "")
        ticket: tuple = (None,) * 5
        if kind == "ticket":
            created = opened - timedelta(minutes=rng.randint(1, 600))
            rated = decided_at is not None and rng.random() < 0.33
            csat_at = decided_at + timedelta(hours=rng.randint(2, 48)) if rated else None
            ticket = (created, rng.randrange(4), created + timedelta(hours=12), rng.randint(1, 5) if rated else None,
                      csat_at if csat_at and csat_at < now else None)
            if decided_at is not None and not auto:
                sent = decided_at + timedelta(seconds=rng.randint(1, 30))
                jobs.append((len(jobs) + 1, "action", "gorgias", "ticket_post_reply", n, f"case:{n}", 0, "{}",
                             f"returnsbot:gorgias:case-{n}:ticket_post_reply", "done", 1, 1, decided_at, decided_at,
                             sent, sent))
        cases[-1] = (*cases[-1], *ticket)
        assessment = {"kind": kind, "signals": [{"code": s, "weight": 20, "explanation": f"{s} applies to this case",
                                                 "evidence": {"detail": "…"}} for s in signals],
                      "recommendation": {"action": recommended, "risk_score": 40, "amount": _money(minor, cur),
                                         "reasons": ["The policy says so."], "conflicts": [],
                                         "tier": {"index": 0, "up_to": "250", "approvers": []},
                                         "auto_approve": auto, "channel": "C0REVIEW01"}}
        snaps.append((n, n, opened, json.dumps(context), json.dumps(assessment)))
        if decided_at is not None:
            decs.append((len(decs) + 1, n, n, "deny" if outcome == "deny" else "approve", outcome, decided_by,
                         decided_at, auto or outcome == recommended,
                         json.dumps({"edited": edited}) if kind == "ticket" else "{}"))
    orders = []
    for i in range(n_cases * orders_per_case):
        placed = now - timedelta(seconds=span * rng.random())
        orders.append(("shopify", f"gid://shopify/Order/{7 * 10 ** 9 + i}", f"#{10 ** 6 + i}", placed,
                       rng.randint(1500, 40_000), "USD"))
    return cases, snaps, decs, orders, jobs


HEALTH = [
    ("shopify.orders", 0, None), ("shopify.returns", 0, None),
    ("shopify.webhooks", 4, "Shopify rejected the access token (HTTP 401)"), ("slack", 0, None),
]


# --- loading -------------------------------------------------------------------------------


def _sqlite_value(v):
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
    if isinstance(v, bool):
        return int(v)
    return v


def load_sqlite(path: Path, data, now: datetime) -> None:
    cases, snaps, decs, orders, jobs = data
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        for table, cols, rows in (("cases", CASE_COLS, cases), ("case_snapshots", SNAP_COLS, snaps),
                                  ("decisions", DEC_COLS, decs), ("orders_seen", ORDER_COLS, orders),
                                  ("jobs", JOB_COLS, jobs)):
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            db.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows))
        db.executemany("INSERT INTO integration_health (system, consecutive_failures, last_error, last_error_at, "
                       "last_success_at) VALUES (?, ?, ?, ?, ?)",
                       [(s, f, e, _sqlite_value(now - timedelta(hours=2)) if e else None,
                         _sqlite_value(now - timedelta(hours=30))) for s, f, e in HEALTH])
    db.close()


def load_postgres(url: str, data, now: datetime) -> None:
    import psycopg

    cases, snaps, decs, orders, jobs = data
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        with conn.cursor() as cur:
            for table, cols, rows in (("cases", CASE_COLS, cases), ("case_snapshots", SNAP_COLS, snaps),
                                      ("decisions", DEC_COLS, decs), ("orders_seen", ORDER_COLS, orders),
                                      ("jobs", JOB_COLS, jobs)):
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.executemany("INSERT INTO integration_health (system, consecutive_failures, last_error, last_error_at, "
                            "last_success_at) VALUES (%s, %s, %s, %s, %s)",
                            [(s, f, e, now - timedelta(hours=2) if e else None, now - timedelta(hours=30))
                             for s, f, e in HEALTH])
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")


# --- timing --------------------------------------------------------------------------------


def time_compute(service: DigestService, start: datetime, end: datetime, runs: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    digest = service.compute(start, end)  # warm-up (first run: cold caches, statement compilation)
    first = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        digest = service.compute(start, end)
        times.append(time.perf_counter() - t0)
    assert digest.this_week.opened > 0
    return first, times


_QUERY_NAMES = [  # a distinctive part of each statement compute() runs -> a name (most specific first)
    ("jobs.finished_at", "tickets: first response"),
    ("audit_log", "tickets: handled, edited, one touch"),
    ("cases.csat_at", "tickets: CSAT"),
    ("percentile_cont", "decision speed (percentile_cont)"),
    ("row_number()", "decision speed (window)"),
    ("AS followed FROM", "adherence"),
    ("cases.recommended_action", "overrides"),
    ("cases.currency, CASE WHEN (cases.opened_at", "opened, kinds, signals, flagged, per day"),
    ("CASE WHEN (cases.decided_at", "resolved, revenue touched"),
    ("CASE WHEN (cases.updated_at", "closed in store"),
    ("orders_seen", "orders seen"),
    ("anon_1.currency, count(*) FILTER", "open at week end, disputes at risk"),
    ("cases.status, cases.order_name", "oldest open"),
    ("integration_health", "integration health"),
]


def _query_name(statement: str) -> str:
    flat = " ".join(statement.split())
    for needle, name in _QUERY_NAMES:
        if needle in flat:
            return name
    return flat[:60]


def profile(name: str, service: DigestService, start: datetime, end: datetime, runs: int) -> None:
    """Median time of each statement compute() runs."""
    from sqlalchemy import event

    times: dict[str, list[float]] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith("BEGIN"):
            times.setdefault(_query_name(statement), []).append(time.perf_counter() - conn.info["bench_t0"])

    event.listen(service.engine, "before_cursor_execute", before)
    event.listen(service.engine, "after_cursor_execute", after)
    try:
        for _ in range(runs):
            service.compute(start, end)
    finally:
        event.remove(service.engine, "before_cursor_execute", before)
        event.remove(service.engine, "after_cursor_execute", after)
    for query, values in sorted(times.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"      {statistics.median(values) * 1000:7.2f} ms  {query}")


def report(name: str, service: DigestService, now: datetime, runs: int, weeks: int, per_query: bool = False) -> bool:
    _, start, end = service.period_for(now)
    first, times = time_compute(service, start, end, runs)
    d = service.compute(start, end)
    t = d.this_week
    median = statistics.median(times)
    target = TARGETS[name]
    ok = median <= target
    print(f"  {name}: latest week   median {median * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, "
          f"max {max(times) * 1000:.1f}, first {first * 1000:.1f}; {runs} runs)  target ≤ {target * 1000:.0f} ms  "
          f"{'ok' if ok else 'MISSED'}")
    print(f"      week: {t.opened:,} opened, {t.resolved:,} resolved, {t.decisions:,} decisions, "
          f"{t.orders:,} orders, {t.backlog:,} open at the end")
    if per_query:
        profile(name, service, start, end, runs)
    mid = end - timedelta(weeks=weeks // 2)
    _, mid_times = time_compute(service, mid - timedelta(days=7), mid, max(3, runs // 2))
    print(f"  {name}: week {weeks // 2} weeks back  median {statistics.median(mid_times) * 1000:7.1f} ms "
          "(reconstructing 'open at the end' reads every case decided since)")
    t0 = time.perf_counter()
    payload = service.render(d)
    print(f"  {name}: render {(time.perf_counter() - t0) * 1000:.1f} ms, {len(payload['blocks'])} blocks")
    return ok


def explain_sqlite(path: Path, service: DigestService, now: datetime) -> None:
    """Print SQLite's plan for every statement compute() runs."""
    from sqlalchemy import event

    engine = service.engine
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    _, start, end = service.period_for(now)
    service.compute(start, end)
    event.remove(engine, "before_cursor_execute", capture)
    db = sqlite3.connect(path)
    for statement, params in seen:
        print("  --", " ".join(statement.split())[:110], "…")
        for row in db.execute("EXPLAIN QUERY PLAN " + statement, params):
            print("     ", row[-1])
    db.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--weeks", type=int, default=52, help="how many weeks the cases are spread over")
    ap.add_argument("--orders-per-case", type=int, default=4)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ticket-share", type=float, default=0.0,
                    help="the share of cases that are support tickets (with reply jobs, edits, ratings)")
    ap.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--explain", action="store_true", help="print SQLite's query plans")
    ap.add_argument("--profile", action="store_true", help="print the median time of each query")
    args = ap.parse_args()

    # A fixed "now", one minute after a scheduled run, so the latest week is a full one.
    probe = DigestService(engine=None, ops=None, policy=POLICY, clock=lambda: None, gateway=None)
    _, _, last_run = probe.period_for(datetime(2026, 11, 23, 15, tzinfo=UTC))
    now = last_run + timedelta(minutes=1)
    clock = lambda: now  # noqa: E731

    t0 = time.perf_counter()
    data = generate(args.cases, args.weeks, now, args.orders_per_case, ticket_share=args.ticket_share)
    cases, snaps, decs, orders, jobs = data
    snap_mb = sum(len(s[3]) + len(s[4]) for s in snaps) / 1e6
    tickets = sum(1 for c in cases if c[3] == "ticket")
    print(f"generated {len(cases):,} cases ({tickets:,} tickets, {len(jobs):,} reply jobs) over {args.weeks} weeks, "
          f"{len(decs):,} decisions, {len(orders):,} orders, "
          f"{snap_mb:.0f} MB of snapshot JSON in {time.perf_counter() - t0:.1f} s")
    ok = True

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digest-bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        t0 = time.perf_counter()
        load_sqlite(path, data, now)
        print(f"sqlite: loaded in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
        engine = make_engine(url)
        service = DigestService(engine=engine, ops=None, policy=POLICY, clock=clock, gateway=None)
        ok &= report("sqlite", service, now, args.runs, args.weeks, args.profile)
        if args.explain:
            explain_sqlite(path, service, now)
        engine.dispose()

    if not args.no_postgres:
        ok &= bench_postgres(args, data, now, clock)
    return 0 if ok else 1


def bench_postgres(args, data, now, clock) -> bool:
    base = args.postgres_url
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base[len("postgresql://"):]
    try:
        admin = make_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    except Exception as exc:  # not reachable: say so and skip
        print(f"postgresql: skipped ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        return True
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{SCHEMA}"
    try:
        upgrade(url)
        t0 = time.perf_counter()
        load_postgres(url, data, now)
        print(f"postgresql: loaded (COPY + ANALYZE) in {time.perf_counter() - t0:.1f} s into schema {SCHEMA}")
        engine = make_engine(url)
        service = DigestService(engine=engine, ops=None, policy=POLICY, clock=clock, gateway=None)
        ok = report("postgresql", service, now, args.runs, args.weeks, args.profile)
        engine.dispose()
        return ok
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()
        print(f"postgresql: schema {SCHEMA} dropped")


if __name__ == "__main__":
    sys.exit(main())
