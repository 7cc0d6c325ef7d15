"""Benchmark: webhook ingest — verified, deduped, stored — and where its time goes.

Each step of the path is measured on its own, in the same run, then the whole path over
HTTP against a real `returnsbot serve`:

  (a) a bare single-row INSERT + COMMIT loop: Python's sqlite3, the settings `bot/db.py`
      gives SQLite (WAL, synchronous=NORMAL, BEGIN IMMEDIATE), a table shaped like the
      receipts; then the same loop through a `make_engine` engine (SQLAlchemy's cost per
      transaction: pool checkout, the BEGIN IMMEDIATE hook, commit)
  (b) HMAC verification alone (the webhook spec's `verify`)
  (c) JSON parse + validation alone (`json.loads` + the spec's `validate`)
  (d) the inbox's `receive()` alone — whatever it writes (today one receipt row)
  (e) the app in-process: the WSGI router called with a delivery, no HTTP (b + c + d and
      the handler around them)
  (p) for comparison, what the inbox worker spends on each stored delivery (`inbox.drain()`
      over (d)'s deliveries: 16 distinct returns, so nearly all are duplicates of a case) —
      in (g) it runs in the same process as the HTTP path
  (f) the HTTP floor: the same deliveries, client and waitress settings, in front of an app
      that only answers 200 (`bench/http_floor.py`)
  (g) the full HTTP path: `returnsbot serve` as its own process (SQLite in a temp dir, the
      sample store behind it), signed `returns/request` deliveries from client threads over
      keep-alive connections; every tenth re-sends an earlier one (deduped). It reports
      accepted deliveries per second, latency, the server's and this client's CPU per
      delivery, and how many deliveries the inbox worker processed meanwhile (it runs in
      the same process, behind the 200s, and shares the interpreter lock); then how fast
      the worker drains the backlog.

Steps (a)–(f) use the same delivery bodies as (g); every step runs `--runs` times and is
reported as best and range. Exits non-zero if any delivery of (g) is not answered 200, if
the stored receipts differ from the unique deliveries, or if a return ends up with more or
fewer than one case.

    python -m bench.ingest [--requests 5000] [--threads 8] [--runs 3] [--steps 3000] [--steps-only]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import create_engine, func, select, text

SECRET = "bench-webhook-secret"
TOPIC = "returns/request"
TARGET = 500  # deliveries/s, on SQLite, the whole HTTP path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not come up")


def _sample_returns() -> list[tuple[str, str]]:
    """(return gid, order gid) of the sample store's requested returns: the server runs on
    the sample store, so each delivery is processed for real after it is accepted."""
    from integrations.sample.store import SampleStore

    store = SampleStore.load()
    page = store.poll_requested_returns(None)
    return [(e.resource_id, e.order_id or "") for e in page.events]


def _delivery(i: int, returns: list[tuple[str, str]], prefix: str = "bench") -> tuple[bytes, dict[str, str]]:
    rgid, ogid = returns[i % len(returns)]
    body = json.dumps({
        "id": int(rgid.rsplit("/", 1)[1]), "admin_graphql_api_id": rgid, "status": "requested",
        "order": {"id": int(ogid.rsplit("/", 1)[1]), "admin_graphql_api_id": ogid},
        "return_line_items": [], "total_return_line_items": 1,
    }).encode()
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "Content-Type": "application/json", "X-Shopify-Topic": TOPIC,
        "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Event-Id": f"{prefix}-{i}",
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
    }


# --- reporting ---------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    rates: list[float] = field(default_factory=list)  # items per second, one per run
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        best, low = max(self.rates), min(self.rates)
        spread = f"{low:>9,.0f}–{best:<9,.0f}" if len(self.rates) > 1 else f"{best:>9,.0f}{'':10}"
        note = f"  {self.notes[-1]}" if self.notes else ""
        return f"  {self.name:<46} {best:>9,.0f}/s  {spread} {1e6 / best:>8,.1f} µs{note}"


def _rate(fn: Callable[[], int]) -> float:
    t0 = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t0)


# --- (a) bare INSERT + COMMIT ---------------------------------------------------------------


_BARE_DDL = """CREATE TABLE bare_receipts (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, delivery_id TEXT NOT NULL, topic TEXT NOT NULL,
    body TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, received_at TEXT NOT NULL,
    UNIQUE (source, delivery_id))"""
_BARE_INSERT = ("INSERT INTO bare_receipts (source, delivery_id, topic, body, status, attempts, received_at) "
                "VALUES (?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT DO NOTHING RETURNING id")


def bare_sqlite3(path: Path, bodies: list[bytes], run: int) -> tuple[float, str]:
    """Python's sqlite3 with bot/db.py's settings: one row per transaction."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        con.execute(f"PRAGMA {pragma}")
    con.execute(_BARE_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    insert = commit = 0.0
    at = "2026-01-01 00:00:00.000000"
    t0 = time.perf_counter()
    for i, body in enumerate(bodies):
        a = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute(_BARE_INSERT, ("shopify", f"bare-{run}-{i}", TOPIC, body.decode(), at)).fetchall()
        b = time.perf_counter()
        con.execute("COMMIT")
        c = time.perf_counter()
        insert += b - a
        commit += c - b
    elapsed = time.perf_counter() - t0
    con.close()
    n = len(bodies)
    return n / elapsed, f"(BEGIN+INSERT {insert / n * 1e6:.0f} µs, COMMIT {commit / n * 1e6:.0f} µs)"


def bare_engine(url: str, bodies: list[bytes], run: int) -> float:
    """The same statement through a make_engine engine: `with engine.begin()` per row."""
    from bot.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(_BARE_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    stmt = text(_BARE_INSERT.replace("?, ?, ?, ?, 'pending', 0, ?", ":s, :d, :t, :b, 'pending', 0, :at"))
    at = "2026-01-01 00:00:00.000000"

    def loop() -> int:
        for i, body in enumerate(bodies):
            with engine.begin() as conn:
                conn.execute(stmt, {"s": "shopify", "d": f"engine-{run}-{i}", "t": TOPIC, "b": body.decode(),
                                    "at": at}).scalar()
        return len(bodies)

    try:
        return _rate(loop)
    finally:
        engine.dispose()


# --- (b)–(e): the app's own steps, in this process -----------------------------------------------


def _container(url: str):
    from bot.container import Container
    from bot.db import upgrade
    from bot.settings import Settings
    from integrations.sample.store import SampleStore

    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, shopify_api_secret=SECRET, shopify_shop="bench.myshopify.com",
                        shopify_access_token="shpat_bench_unused")  # the store below is the sample, passed in
    return Container.build(settings, store=SampleStore.load())


def _environ(body: bytes, headers: dict[str, str]) -> dict:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/shopify", "SERVER_PROTOCOL": "HTTP/1.1",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "REMOTE_ADDR": "127.0.0.1"}
    for k, v in headers.items():
        if k.lower() == "content-type":
            environ["CONTENT_TYPE"] = v
        else:
            environ["HTTP_" + k.upper().replace("-", "_")] = v
    return environ


def app_steps(tmp: Path, deliveries: list[tuple[bytes, dict[str, str]]], runs: int, returns) -> list[Step]:
    from bot.server import build_router
    from handlers.http import Headers

    url = f"sqlite:///{tmp / 'steps.db'}"
    c = _container(url)
    c.inbox.wake = lambda: None  # no worker here: (d) and (e) measure the write, not processing
    [spec] = c.registry.webhooks  # the Shopify-format route the sample store answers
    bodies = [b for b, _ in deliveries]
    headers = [Headers(h) for _, h in deliveries]
    steps = [Step("(a) bare INSERT+COMMIT, sqlite3"), Step("(a) same through a make_engine engine"),
             Step("(b) HMAC verification"), Step("(c) JSON parse + validation"),
             Step("(d) inbox.receive()"), Step("(e) the app in-process (router → 200)"),
             Step("(p) the inbox worker, per stored delivery")]
    def drain() -> int:  # the intake lane: the inbox jobs (d) stored, run by the job runner
        return c.drain("intake")

    router = build_router(c)
    for run in range(runs):
        rate, note = bare_sqlite3(tmp / "bare.db", bodies, run)
        steps[0].rates.append(rate)
        steps[0].notes.append(note)
        steps[1].rates.append(bare_engine(f"sqlite:///{tmp / 'bare.db'}", bodies, run))

        def verify() -> int:
            ok = sum(spec.verify(b, h) for b, h in zip(bodies, headers))
            assert ok == len(bodies), "a benchmark delivery failed verification"
            return ok

        steps[2].rates.append(_rate(verify))

        def parse() -> int:
            for b in bodies:
                payload = json.loads(b)
                spec.validate(TOPIC, payload)
            return len(bodies)

        steps[3].rates.append(_rate(parse))

        def receive() -> int:
            new = sum(c.inbox.receive(source="shopify", delivery_id=f"receive-{run}-{i}", topic=TOPIC, body=b)
                      for i, b in enumerate(bodies))
            assert new == len(bodies)
            return new

        steps[4].rates.append(_rate(receive))
        steps[6].rates.append(_rate(drain))

        environs = [_environ(b, {**h, "X-Shopify-Event-Id": f"app-{run}-{i}"}) for i, (b, h) in enumerate(deliveries)]
        statuses: list[str] = []

        def app() -> int:
            for environ in environs:
                router(environ, lambda status, _headers: statuses.append(status))
            return len(environs)

        steps[5].rates.append(_rate(app))
        assert all(s.startswith("200") for s in statuses), set(statuses)
    c.engine.dispose()
    return [step for step in steps if step.rates]


# --- (f) the full HTTP path -------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux /proc), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Sent:
    rate: float
    latencies: list[float]  # sorted
    statuses: dict[int, int]
    server_cpu: float | None  # seconds, while sending
    client_cpu: float
    started: float  # perf_counter at the first send

    def line(self) -> str:
        lat, n = self.latencies, len(self.latencies)
        server = f"{self.server_cpu / n * 1e3:.2f} ms" if self.server_cpu is not None else "n/a"
        client = f"{self.client_cpu / n * 1e3:.2f} ms"
        return (f"{self.rate:,.0f}/s: p50 {lat[n // 2] * 1e3:.1f} ms, p99 {lat[int(n * 0.99)] * 1e3:.1f} ms, "
                f"max {lat[-1] * 1e3:.0f} ms; CPU per delivery: server {server}, client {client}")


def _serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=subprocess.DEVNULL)
    try:
        _wait_up(port)
    except BaseException:
        proc.terminate()
        raise
    return proc


def _send(port: int, pid: int, plan: list[int], payloads: dict[int, tuple[bytes, dict[str, str]]],
          threads: int) -> Sent:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(items: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local, st = [], {}
        for i in items:
            body, headers = payloads[i]
            t0 = time.perf_counter()
            conn.request("POST", "/webhooks/shopify", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            local.append(time.perf_counter() - t0)
            st[resp.status] = st.get(resp.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)
            for k, v in st.items():
                statuses[k] = statuses.get(k, 0) + v

    workers = [threading.Thread(target=client, args=(plan[t::threads],)) for t in range(threads)]
    cpu0, own0 = _cpu_seconds(pid), time.process_time()
    t0 = time.perf_counter()
    [t.start() for t in workers]
    [t.join() for t in workers]
    elapsed = time.perf_counter() - t0
    cpu1, own1 = _cpu_seconds(pid), time.process_time()
    return Sent(rate=len(plan) / elapsed, latencies=sorted(latencies), statuses=statuses,
                server_cpu=(cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None,
                client_cpu=own1 - own0, started=t0)


def _plan(n: int) -> list[int]:
    return [(i if i % 10 != 9 else i - 5) for i in range(n)]  # every tenth re-sends an earlier one


def floor_run(n: int, threads: int, returns, run: int) -> Sent:
    port = _free_port()
    proc = _serve(["bench.http_floor", str(port)], dict(os.environ), port)
    try:
        plan = _plan(n)
        payloads = {i: _delivery(i, returns, prefix=f"floor{run}") for i in set(plan)}
        return _send(port, proc.pid, plan, payloads, threads)
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class HttpRun:
    sent: Sent
    stored: int
    unique: int
    processed_meanwhile: int
    drain_rate: float
    cases: int
    distinct_returns: int

    @property
    def ok(self) -> bool:
        n = sum(self.sent.statuses.values())
        return (self.stored == self.unique and self.sent.statuses.get(200) == n
                and self.cases == self.distinct_returns)

    def line(self) -> str:
        return (f"{self.sent.line()}; processed meanwhile {self.processed_meanwhile}/{self.stored}; "
                f"backlog drained at {self.drain_rate:,.0f}/s; statuses {self.sent.statuses}; "
                f"receipts {self.stored}/{self.unique}, return cases {self.cases}/{self.distinct_returns}"
                f"{'' if self.ok else '  <- MISMATCH'}")


def http_run(tmp: Path, n: int, threads: int, returns, run: int) -> HttpRun:
    from bot.schema import cases, webhook_receipts

    db_url = f"sqlite:///{tmp / f'serve-{run}.db'}"
    port = _free_port()
    # Webhooks need a shop (the sample store takes no SHOPIFY_* setting): the suite's
    # FakeShopify in its own process answers the inbox worker's GraphQL, as Shopify would.
    shop = subprocess.Popen([sys.executable, "-m", "bench.fake_shopify", str(len(returns))],
                            stdout=subprocess.PIPE, text=True)
    seeded = json.loads(shop.stdout.readline())
    returns = [tuple(r) for r in seeded["returns"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "SLACK_"))}
    env.update({"DATABASE_URL": db_url, "SHOPIFY_SHOP": seeded["shop"], "SHOPIFY_ACCESS_TOKEN": seeded["token"],
                "SHOPIFY_API_URL": seeded["url"], "SHOPIFY_API_SECRET": SECRET,
                "RETURNSBOT_LOG_LEVEL": "WARNING", "RETURNSBOT_POLL_INTERVAL": "86400"})
    proc = _serve(["bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)], env, port)
    engine = None
    try:
        plan = _plan(n)
        unique = sorted(set(plan))
        payloads = {i: _delivery(i, returns, prefix=f"http{run}") for i in unique}
        sent = _send(port, proc.pid, plan, payloads, threads)
        engine = create_engine(db_url)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(webhook_receipts)).scalar_one()
            meanwhile = conn.execute(select(func.count()).select_from(webhook_receipts)
                                     .where(webhook_receipts.c.status != "pending")).scalar_one()
        while True:  # the inbox worker processes behind the 200s; wait for the backlog
            with engine.connect() as conn:
                pending = conn.execute(select(func.count()).select_from(webhook_receipts)
                                       .where(webhook_receipts.c.status == "pending")).scalar_one()
                n_cases = conn.execute(select(func.count()).select_from(cases)
                                       .where(cases.c.kind == "return_request")).scalar_one()
            if pending == 0:
                break
            time.sleep(0.2)
        drained = time.perf_counter() - sent.started
        return HttpRun(sent=sent, stored=stored, unique=len(unique), processed_meanwhile=meanwhile,
                       drain_rate=stored / drained, cases=n_cases, distinct_returns=len(returns))
    finally:
        if engine is not None:
            engine.dispose()
        proc.terminate()
        proc.wait(10)
        shop.terminate()
        shop.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=5000, help="deliveries per HTTP run")
    ap.add_argument("--threads", type=int, default=8, help="HTTP client threads")
    ap.add_argument("--runs", type=int, default=3, help="runs of every step")
    ap.add_argument("--steps", type=int, default=3000, help="deliveries per run of steps (a)-(e)")
    ap.add_argument("--steps-only", action="store_true", help="skip the HTTP path (f)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="returnsbot-bench-"))
    returns = _sample_returns()
    deliveries = [_delivery(i, returns, prefix="step") for i in range(args.steps)]
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"webhook ingest, SQLite; {os.cpu_count()} CPUs, load average {load:.2f} at the start; "
          f"best of {args.runs} runs, then the range")
    print(f"  {'step':<46} {'best':>11}  {'range':<19} {'per item':>11}")
    for step in app_steps(tmp, deliveries, args.runs, returns):
        print(step.line(), flush=True)
    if args.steps_only:
        return 0

    floors = [floor_run(args.requests, args.threads, returns, run) for run in range(args.runs)]
    print(Step(f"(f) HTTP floor, waitress + {args.threads} client threads", [f.rate for f in floors]).line())
    for f in floors:
        print(f"      {f.line()}")
    runs = [http_run(tmp, args.requests, args.threads, returns, run) for run in range(args.runs)]
    print(Step(f"(g) full HTTP, serve + {args.threads} client threads", [r.sent.rate for r in runs]).line())
    for r in runs:
        print(f"      {r.line()}")
    median = statistics.median(r.sent.rate for r in runs)
    print(f"  target ≥ {TARGET}/s: median {median:,.0f}/s -> {'met' if median >= TARGET else 'NOT met'}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
