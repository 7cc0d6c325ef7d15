"""Benchmark: webhook ingest — verified, deduped, stored — against a real `returnsbot serve`.

Starts `returnsbot serve` as one process on SQLite (a temp file) against the suite's
FakeShopify (its own process, `bench/fake_shopify.py`), then sends signed
`returns/request` deliveries from client threads over keep-alive connections; every tenth
delivery is a re-send of an earlier one (deduped). Reports accepted deliveries per second,
latency percentiles, and that the stored receipts equal the unique deliveries. Then it
measures the processing side: deliveries turned into cases per second by the inbox worker.

    python -m bench.ingest [--requests 5000] [--threads 8]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

SECRET = "bench-webhook-secret"


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


def _delivery(i: int, returns: list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    rgid, ogid = returns[i % len(returns)]
    body = json.dumps({
        "id": int(rgid.rsplit("/", 1)[1]), "admin_graphql_api_id": rgid, "status": "requested",
        "order": {"id": int(ogid.rsplit("/", 1)[1]), "admin_graphql_api_id": ogid},
        "return_line_items": [], "total_return_line_items": 1,
    }).encode()
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "Content-Type": "application/json", "X-Shopify-Topic": "returns/request",
        "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Event-Id": f"bench-{i}",
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="returnsbot-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    port = _free_port()
    # Webhooks need a shop (the sample store takes none): the suite's FakeShopify in its own
    # process answers the inbox worker's GraphQL, as Shopify would from elsewhere.
    shop = subprocess.Popen([sys.executable, "-m", "bench.fake_shopify", "16"], stdout=subprocess.PIPE, text=True)
    seeded = json.loads(shop.stdout.readline())
    returns = [tuple(r) for r in seeded["returns"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_")}
    env.update({"DATABASE_URL": db_url, "SHOPIFY_SHOP": seeded["shop"], "SHOPIFY_ACCESS_TOKEN": seeded["token"],
                "SHOPIFY_API_URL": seeded["url"], "SHOPIFY_API_SECRET": SECRET,
                "RETURNSBOT_LOG_LEVEL": "WARNING", "RETURNSBOT_POLL_INTERVAL": "86400"})
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL)
    try:
        _wait_up(port)
        n = args.requests
        unique = [i for i in range(n) if i % 10 != 9]
        plan = [(i if i % 10 != 9 else i - 5) for i in range(n)]  # every tenth re-sends one
        payloads = {i: _delivery(i, returns) for i in set(plan)}
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        chunks = [plan[t:: args.threads] for t in range(args.threads)]

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
            with lock:
                latencies.extend(local)
                for k, v in st.items():
                    statuses[k] = statuses.get(k, 0) + v

        threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
        t0 = time.perf_counter()
        [t.start() for t in threads]
        [t.join() for t in threads]
        elapsed = time.perf_counter() - t0

        engine = create_engine(db_url)
        from bot.schema import cases, webhook_receipts

        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(webhook_receipts)).scalar_one()
        # The inbox worker processes behind the 200s; wait for it to finish the backlog.
        while True:
            with engine.connect() as conn:
                pending = conn.execute(select(func.count()).select_from(webhook_receipts)
                                       .where(webhook_receipts.c.status == "pending")).scalar_one()
                n_cases = conn.execute(select(func.count()).select_from(cases)
                                       .where(cases.c.kind == "return_request")).scalar_one()
            if pending == 0:
                break
            time.sleep(0.2)
        processed_elapsed = time.perf_counter() - t0
        lat = sorted(latencies)
        print(f"webhook ingest (verify + dedupe + store, answered 200): {n} deliveries, {args.threads} client threads")
        print(f"  throughput: {n / elapsed:,.0f} deliveries/s   statuses: {statuses}")
        print(f"  latency: p50 {lat[len(lat) // 2] * 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms, "
              f"max {lat[-1] * 1000:.1f} ms")
        print(f"  stored receipts: {stored} (unique deliveries: {len(unique)}) -> {'OK' if stored == len(unique) else 'MISMATCH'}")
        print(f"  processed by the inbox worker (context + policy + case) within {processed_elapsed:.1f} s of the "
              f"first send: {stored / processed_elapsed:,.0f} deliveries/s; return cases stored: {n_cases} "
              f"(one per distinct return: {len(returns)})")
        return 0 if stored == len(unique) and statuses.get(200) == n and n_cases == len(returns) else 1
    finally:
        proc.terminate()
        proc.wait(10)
        shop.terminate()
        shop.wait(10)


if __name__ == "__main__":
    sys.exit(main())
